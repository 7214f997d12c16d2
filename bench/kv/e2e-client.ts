/**
 * The load generator of bench:kv-e2e: open-loop Poisson arrivals (seeded) of streamed chat requests
 * to the gateway, each timed on arrival of its server-sent events: TTFT = send → first token chunk,
 * ITL = the gaps between token chunks. Times are wall milliseconds × the engines' time scale, i.e.
 * model milliseconds. A multi-turn arrival that finds every session waiting for an answer is held
 * until one is free (counted): a user does not type the next question before the answer. Arrivals
 * still held when the point's arrival window closes are not sent (counted as dropped).
 */
import { Pool } from 'undici';
import { createRandom } from '../../src/mock-engine/random.js';
import type { Turn, Workload } from './e2e-workload.js';

export interface Sample {
  readonly ok: boolean;
  /** Wall ms (performance.now()) the request was sent and its last byte came. */
  readonly sentAt: number;
  readonly endAt: number;
  /** Model ms. */
  readonly ttftMs: number;
  readonly itlMs: readonly number[];
  readonly tokens: number;
}

export interface PointResult {
  readonly samples: readonly Sample[];
  /** Arrivals held because every session had a turn in flight, and those of them never sent. */
  readonly held: number;
  readonly dropped: number;
  /** Model seconds from the first send to the last answer (vLLM benchmark_serving's duration). */
  readonly spanS: number;
  /** Model seconds from the first send to the last: requests ÷ this is the rate actually offered. */
  readonly sendSpanS: number;
}

export interface PointOptions {
  /** Offered rate, requests per model second. */
  readonly rate: number;
  /** Arrivals for this long (model ms), then wait for every answer. */
  readonly durationMs: number;
  readonly timeScale: number;
  readonly seed: number;
  readonly model: string;
}

export function createGatewayPool(gateway: string): Pool {
  return new Pool(gateway, { connections: 4096, pipelining: 1, headersTimeout: 300_000, bodyTimeout: 300_000, keepAliveTimeout: 60_000 });
}

/** One streamed chat request: its timing and the answer's text (for the next turn of a chat). */
export async function streamChat(pool: Pool, turn: Turn, model: string, timeScale: number): Promise<{ sample: Sample; text: string }> {
  const sentAt = performance.now();
  const body = JSON.stringify({ model, messages: turn.messages, max_tokens: turn.maxTokens, stream: true });
  const times: number[] = [];
  let text = '';
  let ok = false;
  try {
    const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body });
    ok = res.statusCode === 200;
    let buf = '';
    for await (const chunk of res.body) {
      const now = performance.now();
      buf += (chunk as Buffer).toString();
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!event.startsWith('data: {')) continue;
        const data = JSON.parse(event.slice(6)) as { choices?: { delta?: { content?: string } }[]; error?: unknown };
        if (data.error !== undefined) ok = false;
        const content = data.choices?.[0]?.delta?.content;
        if (content === undefined) continue;
        times.push(now);
        text += content;
      }
    }
  } catch {
    ok = false;
  }
  const endAt = performance.now();
  if (times.length === 0) ok = false;
  const first = times[0] ?? endAt;
  const itlMs: number[] = [];
  for (let i = 1; i < times.length; i++) itlMs.push(((times[i] as number) - (times[i - 1] as number)) * timeScale);
  return { sample: { ok, sentAt, endAt, ttftMs: (first - sentAt) * timeScale, itlMs, tokens: times.length }, text };
}

/** Offers `rate` requests per model second for `durationMs` of model time, then waits for every answer. */
export async function runPoint(pool: Pool, workload: Workload, o: PointOptions): Promise<PointResult> {
  const rand = createRandom(o.seed);
  const samples: Sample[] = [];
  const inFlight = new Set<Promise<void>>();
  let held = 0;
  let waiting = 0;
  let open = true;
  const send = (turn: Turn): void => {
    const p = streamChat(pool, turn, o.model, o.timeScale).then(({ sample, text }) => {
      samples.push(sample);
      workload.done(turn, text);
      inFlight.delete(p);
      // A session became free: an arrival held for one goes now.
      while (open && waiting > 0) {
        const next = workload.next();
        if (next === undefined) break;
        waiting--;
        send(next);
      }
    });
    inFlight.add(p);
  };
  const t0 = performance.now();
  const endWall = o.durationMs / o.timeScale;
  let at = 0;
  for (;;) {
    at += (-Math.log(1 - rand()) / o.rate) * 1000 / o.timeScale;
    if (at >= endWall) break;
    const delay = t0 + at - performance.now();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const turn = workload.next();
    if (turn === undefined) {
      held++;
      waiting++;
    } else send(turn);
  }
  open = false;
  const dropped = waiting;
  while (inFlight.size > 0) await Promise.race(inFlight);
  const first = Math.min(...samples.map((s) => s.sentAt));
  const lastSent = Math.max(...samples.map((s) => s.sentAt));
  const last = Math.max(...samples.map((s) => s.endAt));
  return { samples, held, dropped, spanS: ((last - first) / 1000) * o.timeScale, sendSpanS: ((lastSent - first) / 1000) * o.timeScale };
}
