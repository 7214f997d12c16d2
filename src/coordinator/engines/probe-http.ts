/**
 * The prober's HTTP client: GETs over a small keep-alive undici pool of its own (so probes never
 * queue behind proxied requests), a hard time limit per request, and a cap on the body so a broken
 * engine cannot make the coordinator buffer without bound. Failures come back as one short line
 * (`connect ECONNREFUSED 10.0.0.5:8000`, `timed out after 1000 ms`) for GET /v1/engines and logs.
 */
import { Agent, request } from 'undici';
import { readCapped } from '../../common/http/read-capped.js';
import type { Disposable } from '../../common/lifecycle.js';

export interface ProbeResponse {
  readonly status: number;
  readonly body: string;
}

/** One GET; rejects with an Error whose message is the one-line cause. Injectable for tests. */
export type ProbeFetch = (url: string, signal: AbortSignal) => Promise<ProbeResponse>;

export interface ProbeHttpOptions {
  readonly timeoutMs: number;
  /** Largest body read (a vLLM /metrics is ~100 KiB); default 8 MiB. */
  readonly maxBytes?: number;
}

export interface ProbeHttp extends Disposable {
  readonly get: ProbeFetch;
}

export function createProbeHttp(opts: ProbeHttpOptions): ProbeHttp {
  const maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
  const agent = new Agent({
    connections: 2,
    connect: { timeout: opts.timeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
  });
  return {
    name: 'engine probe http',
    async get(url, signal) {
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      try {
        const res = await request(url, { method: 'GET', dispatcher: agent, signal: AbortSignal.any([signal, timeout]) });
        const body = await readCapped(res.body, maxBytes);
        if (body === undefined) throw new Error(`response over ${maxBytes} bytes`);
        return { status: res.statusCode, body };
      } catch (err) {
        if (timeout.aborted && !signal.aborted) throw new Error(`timed out after ${opts.timeoutMs} ms`, { cause: err });
        throw new Error(describe(err), { cause: err });
      }
    },
    async dispose() {
      await agent.close().catch(() => undefined);
    },
  };
}

/** The most telling line of an undici/socket error: its own message, or its cause's (fetch-style wrapping). */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: unknown };
  const cause = e.cause as { message?: string } | undefined;
  const msg = e.message && e.message !== 'fetch failed' ? e.message : (cause?.message ?? String(err));
  return msg.split('\n')[0]!.slice(0, 200);
}
