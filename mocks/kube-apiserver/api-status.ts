/**
 * Kubernetes `Status` failures as the real API server sends them (kind Status, reason, code), so
 * clients that switch on `reason` or `code` (the informer's 410 handling, ApiException.code) work.
 */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Expired'
  | 'Gone'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'InternalError'
  | 'ServiceUnavailable';

/** One field's problem in a 422 `Invalid` Status (`details.causes`). */
export interface StatusCause {
  /** FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, … */
  readonly reason: string;
  readonly message: string;
  /** `spec.env[0].name`; `<nil>` for the object itself. */
  readonly field: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
}

/** Thrown inside the fake server; the request handler turns it into a Status response. */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiStatusError';
  }

  toStatus(): Record<string, unknown> {
    return statusObject(this.code, this.reason, this.message, this.details);
  }
}

export function statusObject(code: number, reason: StatusReason, message: string, details?: StatusDetails): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}
