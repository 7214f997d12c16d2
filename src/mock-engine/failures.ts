/**
 * Failure injection for the next N completion requests (`POST /admin/fail`), the faults a gateway
 * must survive:
 *   reset     — the connection is destroyed before any response byte (after the request was read, so
 *               the gateway answers 502: it cannot know the engine did not start);
 *   status    — an OpenAI-style error with the given HTTP status (default 500);
 *   midstream — the answer starts, then the connection drops after a few chunks (a stream) or
 *               halfway through the body (non-streaming).
 */

export type FailureMode = 'reset' | 'status' | 'midstream';

export interface FailureSpec {
  readonly mode: FailureMode;
  /** HTTP status for mode `status` (400–599, default 500). */
  readonly status?: number;
  /** How many of the next completion requests fail (default 1). */
  readonly count?: number;
}

export interface ArmedFailure {
  readonly mode: FailureMode;
  readonly status: number;
}

const MODES: readonly FailureMode[] = ['reset', 'status', 'midstream'];

/** Checks a /admin/fail body; returns the spec or why it is wrong. `{"count":0}` or mode "none" disarms. */
export function parseFailureSpec(body: unknown): FailureSpec | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (b.mode === 'none') return { mode: 'reset', count: 0 };
  if (typeof b.mode !== 'string' || !MODES.includes(b.mode as FailureMode)) return `mode must be one of ${MODES.join(', ')}, none`;
  if (b.status !== undefined && (!Number.isInteger(b.status) || (b.status as number) < 400 || (b.status as number) > 599)) return 'status must be an integer from 400 to 599';
  if (b.count !== undefined && (!Number.isInteger(b.count) || (b.count as number) < 0)) return 'count must be a non-negative integer';
  return { mode: b.mode as FailureMode, ...(b.status !== undefined && { status: b.status as number }), ...(b.count !== undefined && { count: b.count as number }) };
}

export class FailureInjector {
  private armed: ArmedFailure | undefined = undefined;
  private remaining = 0;
  /** Requests failed on purpose since start. */
  injected = 0;

  arm(spec: FailureSpec): void {
    this.remaining = spec.count ?? 1;
    this.armed = this.remaining > 0 ? { mode: spec.mode, status: spec.status ?? 500 } : undefined;
  }

  pending(): number {
    return this.armed === undefined ? 0 : this.remaining;
  }

  /** The failure for this request, if one is armed (consumes one). */
  take(): ArmedFailure | undefined {
    const a = this.armed;
    if (a === undefined) return undefined;
    if (--this.remaining <= 0) this.armed = undefined;
    this.injected++;
    return a;
  }
}
