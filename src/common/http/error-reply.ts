/**
 * Maps any error thrown on a request (ours, fastify's, a validation failure) to one JSON shape:
 * `{"error": {"code", "message", "type", "details"?}}` — OpenAI clients read `error.message`,
 * brixlet tools switch on `error.code`.
 */
import { BrixletError, isBrixletError } from '../errors.js';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    /** OpenAI-style category for clients that read it. */
    readonly type: 'invalid_request_error' | 'server_error';
    readonly details?: readonly unknown[];
  };
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
  validation?: readonly { instancePath?: string; message?: string }[];
  validationContext?: string;
}

export interface MappedError {
  readonly statusCode: number;
  readonly body: ErrorBody;
  /** Worth an error-level log line (a server fault, not a client mistake). */
  readonly serverFault: boolean;
}

function body(err: BrixletError): MappedError {
  return {
    statusCode: err.statusCode,
    serverFault: err.statusCode >= 500 && err.statusCode !== 503,
    body: {
      error: {
        code: err.code,
        message: err.message,
        type: err.statusCode >= 500 ? 'server_error' : 'invalid_request_error',
        ...(err.details.length > 0 ? { details: err.details } : {}),
      },
    },
  };
}

export function mapError(raw: unknown, request: { method: string; url: string }, bodyLimit: number): MappedError {
  if (isBrixletError(raw)) return body(raw as BrixletError);
  const err = raw as FastifyLikeError;
  if (err.validation !== undefined) {
    const where = err.validationContext ?? 'body';
    const reason = err.validation.map((v) => `${where}${v.instancePath ?? ''} ${v.message ?? 'is invalid'}`).join('; ');
    return body(new BrixletError('BRX_ERR_HTTP_BAD_REQUEST', { reason }, { details: err.validation }));
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return body(new BrixletError('BRX_ERR_HTTP_BODY_TOO_LARGE', { limit: bodyLimit }));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return body(new BrixletError('BRX_ERR_HTTP_MEDIA_TYPE', { contentType: err.message.replace(/^.*: /, '') }));
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { ...body(new BrixletError('BRX_ERR_HTTP_BAD_REQUEST', { reason: err.message })), statusCode: status };
  }
  return body(new BrixletError('BRX_ERR_HTTP_INTERNAL', { method: request.method, url: request.url }));
}
