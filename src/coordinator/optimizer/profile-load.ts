/**
 * The profiler's load generator: one sweep point = `requests` requests of one (input, output)
 * shape sent to an OpenAI-compatible endpoint at one request rate (seeded Poisson or evenly spaced
 * arrivals), each timed from send to first streamed token and to the end. Prompts are token ids on
 * /v1/completions (exact length on vLLM and the mock engine, random ids so no two requests share a
 * prefix) or text of one short word per token on /v1/chat/completions; `max_tokens` with
 * `ignore_eos` fixes the output length. Bounded: every request of a point ends by its deadline.
 * node:http rather than fetch: a stream is one socket read per token, and the sweep reads
 * thousands of tokens a second.
 */
import http from 'node:http';
import https from 'node:https';
import { seededRandom } from '../../common/seeded-random.js';
import { latencyStats, type ProfileRow } from './profile-cell.js';

export type ProfileApi = 'completions' | 'chat';

export interface LoadTarget {
  /** Base URL without /v1 (http or https). */
  readonly base: URL;
  readonly model: string;
  readonly api: ProfileApi;
  readonly stream: boolean;
  /** Bearer token, when the endpoint wants one. */
  readonly apiKey?: string;
  /** Model time per wall time of the endpoint (a mock engine's --time-scale); 1 for real engines. */
  readonly timeScale: number;
}

export interface PointSpec {
  readonly input: number;
  readonly output: number;
  /** Requests per second of model time. */
  readonly rate: number;
  readonly requests: number;
  /** Model seconds after the last send when every request still open is cut off (counted failed). */
  readonly timeoutS: number;
  readonly arrivals: 'poisson' | 'uniform';
  readonly seed: number;
  /** The cell's unloaded E2E so far (model seconds): the least E2E of its earlier points. */
  readonly unloadedS?: number;
}

/** Token ids drawn for prompts: inside every common vocabulary (Llama 2's is 32,000). */
const ID_LOW = 1000;
const ID_SPAN = 29_000;

/** Arrival offsets in model seconds from the first send. */
export function arrivalOffsets(spec: Pick<PointSpec, 'rate' | 'requests' | 'arrivals' | 'seed'>): number[] {
  const rand = seededRandom(spec.seed ^ 0x9e3779b9);
  const out: number[] = [0];
  for (let k = 1; k < spec.requests; k++) {
    const gap = spec.arrivals === 'uniform' ? 1 / spec.rate : -Math.log(1 - rand()) / spec.rate;
    out.push((out[k - 1] as number) + gap);
  }
  return out;
}

/** The request body for one profiling request of `input` tokens (ids or words) and `output` tokens. */
export function requestBody(target: Pick<LoadTarget, 'model' | 'api' | 'stream'>, input: number, output: number, seed: number): string {
  const rand = seededRandom(seed);
  const common = { model: target.model, max_tokens: output, ignore_eos: true, temperature: 0, stream: target.stream, ...(target.stream && { stream_options: { include_usage: true } }) };
  if (target.api === 'completions') {
    const prompt = new Array<number>(input);
    for (let k = 0; k < input; k++) prompt[k] = ID_LOW + Math.floor(rand() * ID_SPAN);
    return JSON.stringify({ ...common, prompt });
  }
  // Three letters and a space: one token on the mock engine (4 characters a token), about one on BPE tokenizers.
  let text = '';
  for (let k = 0; k < input; k++) text += `${String.fromCharCode(97 + Math.floor(rand() * 26), 97 + Math.floor(rand() * 26), 97 + Math.floor(rand() * 26))} `;
  return JSON.stringify({ ...common, messages: [{ role: 'user', content: text }] });
}

interface Timing {
  ok: boolean;
  /** HTTP status, when one came. */
  status?: number;
  /** Wall ms from send. */
  firstMs?: number;
  endMs: number;
  completionTokens?: number;
  promptTokens?: number;
  error?: string;
}

/** Answers of a non-2xx status or a broken stream, for the preflight and the failure log. */
export class ProfileRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: string,
  ) {
    super(message);
  }
}

/** Sends one request; resolves with its timing (never rejects). `register` lets the point cut it off. */
function sendOne(target: LoadTarget, agent: http.Agent, body: string, register: (abort: () => void) => void): Promise<Timing> {
  const url = new URL(target.api === 'completions' ? 'v1/completions' : 'v1/chat/completions', target.base);
  const mod = url.protocol === 'https:' ? https : http;
  const t0 = performance.now();
  return new Promise<Timing>((resolve) => {
    let settled = false;
    const done = (t: Omit<Timing, 'endMs'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...t, endMs: performance.now() - t0 });
    };
    const req = mod.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(target.apiKey !== undefined && { authorization: `Bearer ${target.apiKey}` }) } }, (res) => {
      const status = res.statusCode ?? 0;
      let firstMs: number | undefined;
      let tail = '';
      let events = 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (firstMs === undefined && target.stream && status < 300 && chunk.includes('data:')) firstMs = performance.now() - t0;
        if (target.stream) events += countEvents(chunk);
        // Keep only the end: the usage chunk (stream) or the whole body (small: no prompt echo).
        tail = (tail + chunk).slice(-8192);
      });
      res.on('end', () => {
        if (status >= 300) return done({ ok: false, status, error: `HTTP ${status}: ${tail.slice(0, 300)}` });
        const usage = target.stream ? lastUsage(tail) : parseUsage(tail);
        const streamedTokens = Math.max(0, events - (usage === undefined ? 0 : 1) - (tail.includes('[DONE]') ? 1 : 0));
        if (target.stream && !tail.includes('[DONE]')) return done({ ok: false, error: 'the stream ended without [DONE]' });
        done({ ok: true, ...(firstMs !== undefined && { firstMs }), completionTokens: usage?.completion_tokens ?? (target.stream ? streamedTokens : undefined), ...(usage?.prompt_tokens !== undefined && { promptTokens: usage.prompt_tokens }) });
      });
      res.on('error', (err) => done({ ok: false, error: err.message }));
      res.on('aborted', () => done({ ok: false, error: 'the response was cut off' }));
    });
    req.on('error', (err) => done({ ok: false, error: err.message }));
    register(() => {
      req.destroy();
      done({ ok: false, error: 'timed out' });
    });
    req.end(body);
  });
}

function countEvents(chunk: string): number {
  let n = 0;
  for (let k = chunk.indexOf('data:'); k >= 0; k = chunk.indexOf('data:', k + 5)) n++;
  return n;
}

interface Usage {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
}

function parseUsage(text: string): Usage | undefined {
  try {
    const u = (JSON.parse(text) as { usage?: Usage }).usage;
    return u ?? undefined;
  } catch {
    return undefined;
  }
}

function lastUsage(tail: string): Usage | undefined {
  const events = tail.split(/\n\n/).map((e) => e.trim()).filter((e) => e.startsWith('data:') && !e.includes('[DONE]'));
  for (let k = events.length - 1; k >= 0 && k >= events.length - 3; k--) {
    const u = parseUsage((events[k] as string).slice(5));
    if (u !== undefined && u !== null) return u;
  }
  return undefined;
}

/** One warm request (max_tokens 1, not streamed) that must succeed: checks the API and model before a sweep. */
export async function probeRequest(target: LoadTarget, timeoutMs: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: false });
  let abort: () => void = () => undefined;
  const timer = setTimeout(() => abort(), timeoutMs);
  try {
    const t = await sendOne({ ...target, stream: false }, agent, requestBody({ ...target, stream: false }, 8, 1, 1), (a) => (abort = a));
    if (!t.ok) throw new ProfileRequestError(t.error ?? 'failed', t.status, t.error ?? '');
  } finally {
    clearTimeout(timer);
    agent.destroy();
  }
}

/** Runs one sweep point and measures it (latencies and rates in model time). */
export async function runPoint(target: LoadTarget, spec: PointSpec, signal?: AbortSignal): Promise<ProfileRow & { errors: string[] }> {
  const scale = target.timeScale;
  const agent = target.base.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: Infinity }) : new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const offsets = arrivalOffsets(spec);
  const aborts = new Set<() => void>();
  const bodies = offsets.map((_, k) => requestBody(target, spec.input, spec.output, spec.seed * 1_000_003 + k + 1));
  const start = performance.now();
  const sendAt: number[] = [];
  const pending: Promise<Timing & { sentMs: number }>[] = [];
  let cut = false;
  const cutAll = (): void => {
    cut = true;
    for (const a of [...aborts]) a();
  };
  let deadline: NodeJS.Timeout | undefined;
  const onAbort = (): void => cutAll();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (let k = 0; k < offsets.length && !cut; k++) {
      const dueMs = ((offsets[k] as number) * 1000) / scale;
      const wait = dueMs - (performance.now() - start);
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (cut) break;
      const sentMs = performance.now() - start;
      sendAt.push(sentMs);
      let abort: (() => void) | undefined;
      const p = sendOne(target, agent, bodies[k] as string, (a) => {
        abort = a;
        aborts.add(a);
      }).then((t) => {
        if (abort !== undefined) aborts.delete(abort);
        return { ...t, sentMs };
      });
      pending.push(p);
    }
    deadline = setTimeout(cutAll, (spec.timeoutS * 1000) / scale);
    const timings = await Promise.all(pending);
    return summarize(spec, timings, sendAt, scale);
  } finally {
    clearTimeout(deadline);
    signal?.removeEventListener('abort', onAbort);
    agent.destroy();
  }
}

function summarize(spec: PointSpec, timings: readonly (Timing & { sentMs: number })[], sendAt: readonly number[], scale: number): ProfileRow & { errors: string[] } {
  const ok = timings.filter((t) => t.ok);
  const toS = (ms: number): number => (ms * scale) / 1000;
  const e2e = ok.map((t) => toS(t.endMs));
  const withFirst = ok.filter((t) => t.firstMs !== undefined);
  const ttft = withFirst.map((t) => toS(t.firstMs as number));
  const tpot = withFirst.filter((t) => (t.completionTokens ?? 0) > 1).map((t) => toS(t.endMs - (t.firstMs as number)) / ((t.completionTokens as number) - 1));
  const span = (xs: readonly number[]): number => (xs.length < 2 ? 0 : toS((xs[xs.length - 1] as number) - (xs[0] as number)));
  const sentSpan = span(sendAt);
  const offered = sendAt.length > 1 && sentSpan > 0 ? (sendAt.length - 1) / sentSpan : spec.rate;
  // benchmark_serving's throughput (completions over first send → last completion) less the
  // unloaded latency: it counts the drain, so an engine that admits a whole point and answers it
  // late shows as saturated, as it would be under a steady stream; without the subtraction a cell
  // whose requests take seconds even alone would look saturated at any rate a short point can offer.
  const lastDone = ok.reduce((m, t) => Math.max(m, t.sentMs + t.endMs), 0);
  const unloaded = Math.min(spec.unloadedS ?? Infinity, ...e2e);
  const window = ok.length === 0 ? 0 : toS(lastDone - (sendAt[0] ?? 0)) - unloaded;
  const tput = window > 0 ? ok.length / window : ok.length > 0 ? offered : 0;
  const mean = (xs: readonly number[]): number | undefined => (xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length);
  const prompt = mean(ok.flatMap((t) => (t.promptTokens === undefined ? [] : [t.promptTokens])));
  const completion = mean(ok.flatMap((t) => (t.completionTokens === undefined ? [] : [t.completionTokens])));
  const errors = [...new Set(timings.filter((t) => !t.ok).map((t) => t.error ?? 'failed'))];
  return {
    input: spec.input,
    output: spec.output,
    rate: spec.rate,
    offered,
    seed: spec.seed,
    sent: sendAt.length,
    completed: ok.length,
    failed: spec.requests - ok.length,
    tput,
    e2e: latencyStats(e2e),
    ...(ttft.length > 0 && { ttft: latencyStats(ttft) }),
    ...(tpot.length > 0 && { tpot: latencyStats(tpot) }),
    ...(prompt !== undefined && { promptTokens: prompt }),
    ...(completion !== undefined && { completionTokens: completion }),
    errors,
  };
}
