/**
 * Failures talking to the Kubernetes API: catalog errors (BRX_ERR_KUBE_*) that also carry the HTTP
 * status and Status `reason` the API server answered.
 */
import { BrixletError } from '../common/errors.js';

export type KubeErrorCode =
  /** No usable kubeconfig or in-cluster service account. */
  | 'BRX_ERR_KUBE_CONFIG'
  /** 401/403: the token or its RBAC does not allow the call. */
  | 'BRX_ERR_KUBE_UNAUTHORIZED'
  | 'BRX_ERR_KUBE_NOT_FOUND'
  /** 409: stale resourceVersion or the name exists already. */
  | 'BRX_ERR_KUBE_CONFLICT'
  /** 400/422: the object or request was rejected as invalid. */
  | 'BRX_ERR_KUBE_INVALID'
  /** Any other status, or no answer at all (connection, TLS, timeout). */
  | 'BRX_ERR_KUBE_API';

export interface KubeErrorInfo {
  /** HTTP status from the API server; undefined when no response arrived. */
  readonly status?: number;
  /** `reason` of the Kubernetes Status object (NotFound, Conflict, AlreadyExists, Expired, …). */
  readonly reason?: string;
  readonly cause?: unknown;
}

export class KubeError extends BrixletError {
  declare readonly code: KubeErrorCode;
  /** HTTP status the API server answered (not the catalog's status for our own APIs). */
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(code: KubeErrorCode, message: string, info: KubeErrorInfo = {}) {
    super(code, { detail: message }, info.cause === undefined ? {} : { cause: info.cause });
    this.name = 'KubeError';
    this.status = info.status;
    this.reason = info.reason;
  }
}

export function codeForStatus(status: number | undefined): KubeErrorCode {
  switch (status) {
    case 401:
    case 403:
      return 'BRX_ERR_KUBE_UNAUTHORIZED';
    case 404:
      return 'BRX_ERR_KUBE_NOT_FOUND';
    case 409:
      return 'BRX_ERR_KUBE_CONFLICT';
    case 400:
    case 422:
      return 'BRX_ERR_KUBE_INVALID';
    default:
      return 'BRX_ERR_KUBE_API';
  }
}

interface StatusBody {
  message?: string;
  reason?: string;
}

function statusBody(body: unknown): StatusBody | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.length > 0 ? { message: body.slice(0, 500) } : undefined;
    }
  }
  return parsed !== null && typeof parsed === 'object' ? (parsed as StatusBody) : undefined;
}

/**
 * Maps what the client library threw (ApiException with `code` + Status body, a watch error with
 * `statusCode`, a network error) to a KubeError; `what` names the call, e.g. `get rayclusters.ray.io default/x`.
 */
export function toKubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const body = statusBody(e?.body);
  const detail = body?.message ?? (status === undefined ? String(e?.message ?? err) : `HTTP ${status}`);
  return new KubeError(codeForStatus(status), `${what}: ${detail}`, { status, reason: body?.reason, cause: err });
}
