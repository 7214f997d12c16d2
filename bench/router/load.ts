/**
 * The load generator of bench:router, the same for every target (gateway, nginx, the engine
 * directly): a closed loop of `concurrency` requests over an undici Pool with as many keep-alive
 * connections — each finished request starts the next — for a fixed time after a warm-up; and a
 * sequential loop for per-request latency.
 */
import { Pool } from 'undici';
import { percentile } from '../lib/report.js';

export interface LoadRequest {
  readonly path: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

export interface ThroughputResult {
  readonly rps: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function once(pool: Pool, req: LoadRequest): Promise<number> {
  const res = await pool.request({ path: req.path, method: 'POST', headers: { 'content-type': 'application/json', ...req.headers }, body: req.body });
  await res.body.dump();
  return res.statusCode;
}

/** Requests per second a target sustains with `concurrency` requests always outstanding. */
export async function closedLoop(url: string, req: LoadRequest, opts: { concurrency: number; durationMs: number; warmupMs: number }): Promise<ThroughputResult> {
  const pool = new Pool(url, { connections: opts.concurrency, pipelining: 1 });
  try {
    let measuring = false;
    let stop = false;
    let requests = 0;
    let errors = 0;
    const lat: number[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        const t0 = performance.now();
        let status = 0;
        try {
          status = await once(pool, req);
        } catch {
          status = 0;
        }
        if (!measuring) continue;
        requests++;
        if (status !== 200) errors++;
        if ((requests & 7) === 0) lat.push(performance.now() - t0);
      }
    };
    const workers = Array.from({ length: opts.concurrency }, worker);
    await new Promise((r) => setTimeout(r, opts.warmupMs));
    measuring = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, opts.durationMs));
    const elapsed = (performance.now() - t0) / 1000;
    const counted = requests;
    stop = true;
    await Promise.all(workers);
    return { rps: counted / elapsed, requests: counted, errors, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99) };
  } finally {
    await pool.close();
  }
}

/** Per-request latency in microseconds of `n` sequential requests over one keep-alive connection (after `warmup`). */
export async function sequentialLatency(url: string, req: LoadRequest, n: number, warmup = 200): Promise<number[]> {
  const pool = new Pool(url, { connections: 1 });
  try {
    const out: number[] = [];
    for (let i = 0; i < warmup + n; i++) {
      const t0 = process.hrtime.bigint();
      const status = await once(pool, req);
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (status !== 200) throw new Error(`${url}${req.path} answered ${status}`);
      if (i >= warmup) out.push(us);
    }
    return out;
  } finally {
    await pool.close();
  }
}
