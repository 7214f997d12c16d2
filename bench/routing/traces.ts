/**
 * Seeded workloads for the routing simulator. Prompts are strings and one character is one token
 * everywhere in the simulator (the router's prefix index, the baselines' indexes and the engines'
 * block hashes all cut the same characters), so a shared prefix is shared text.
 *
 * - shared-prefix: 128 groups, each a 2–6k-token system prefix, popularity Zipf(0.8) over groups
 *   (the hottest group gets 11 % of the traffic), a unique 20–200-token suffix, output log-normal
 *   (mean 120); Poisson arrivals. 128 groups (≈ 512k prefix tokens) because one h100 engine of
 *   the mock model holds 450k tokens of KV: with 32 groups every engine ends up caching every
 *   prefix and routing stops mattering after warm-up; with 128 a cache-blind router thrashes
 *   while the fleet's 3.6M tokens hold each group somewhere.
 * - multi-turn: sessions on one of 16 system prompts (300–1500 tokens), 3–8 turns; turn k sends the
 *   system prompt, the whole conversation so far and a new user message (log-normal, mean 150);
 *   answers log-normal (mean 200); the next turn comes 1–6 s after the previous answer finished.
 *   Sessions start as a Poisson process; the turns are closed-loop (the simulator sends turn k+1
 *   when turn k finishes).
 * - sharegpt: input log-normal (mean 300), output log-normal (mean 250); 10 % of requests start
 *   with one of 8 short (100–200-token) system prompts, the rest share nothing; Poisson.
 * - bursty: the shared-prefix mix with on/off arrivals (a two-state MMPP: 3 s bursts at 2.5× the
 *   mean rate, 6 s lulls at 0.25× the mean rate).
 *
 * The content of a trace depends only on its seed and size; the arrival times are drawn from a
 * separate stream for a given rate (`schedule`), so capacity calibration and the measured runs
 * see the same requests.
 */
import { prng, zipfSampler } from '../kv/synthetic.js';

export const WORKLOADS = ['shared-prefix', 'multi-turn', 'sharegpt', 'bursty'] as const;
export const SHARED_PREFIX_GROUPS = 128;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface TraceRequest {
  readonly id: number;
  readonly prompt: string;
  /** Tokens the engine generates (the ground truth; the router does not see it). */
  readonly outputTokens: number;
  /** The client's max_tokens (what the router sees). */
  readonly maxTokens: number;
  /** Index of the session's next turn, sent `thinkMs` after this request finishes. */
  readonly next?: number;
  readonly thinkMs?: number;
}

export type ArrivalProcess =
  | { readonly kind: 'poisson' }
  /** Alternating phases with exponential lengths; rates relative to the mean rate. */
  | { readonly kind: 'on-off'; readonly onMs: number; readonly offMs: number; readonly onRate: number; readonly offRate: number };

export interface Trace {
  readonly workload: WorkloadName;
  readonly seed: number;
  readonly requests: readonly TraceRequest[];
  /** Requests that arrive open-loop (first turns), in arrival order. */
  readonly openings: readonly number[];
  readonly arrivals: ArrivalProcess;
}

/** Open-loop arrival times (ms) of a trace at `rate` requests per second (all turns counted). */
export function schedule(trace: Trace, rate: number): Float64Array {
  const n = trace.openings.length;
  const openRate = (rate * n) / trace.requests.length;
  const rand = prng(trace.seed ^ 0x0a1b2c3d);
  const at = new Float64Array(n);
  const exp = (mean: number) => -Math.log(1 - rand()) * mean;
  const a = trace.arrivals;
  if (a.kind === 'poisson') {
    let t = 0;
    for (let i = 0; i < n; i++) at[i] = t += exp(1000 / openRate);
    return at;
  }
  // Normalise so the long-run mean rate is openRate.
  const mean = (a.onRate * a.onMs + a.offRate * a.offMs) / (a.onMs + a.offMs);
  const onGap = 1000 / (openRate * (a.onRate / mean));
  const offGap = 1000 / (openRate * (a.offRate / mean));
  let t = 0;
  let on = true;
  let phaseEnd = exp(a.onMs);
  for (let i = 0; i < n; ) {
    const next = t + exp(on ? onGap : offGap);
    if (next > phaseEnd) {
      // Memoryless: restart the draw at the phase boundary with the other rate.
      t = phaseEnd;
      on = !on;
      phaseEnd = t + exp(on ? a.onMs : a.offMs);
      continue;
    }
    at[i++] = t = next;
  }
  return at;
}

/**
 * Every request of a trace as an open-loop arrival at `rate` requests per second: the requests are
 * ordered by a nominal timeline (sessions start as in schedule(); turn k+1 comes `thinkMs` + 2 s
 * after turn k) and then given the arrival times of one Poisson process at `rate`, so the offer is
 * exactly `rate` whatever the session shapes. Used to measure capacity, where a closed loop would
 * slow its own arrivals down and never overload.
 */
export function openLoopSchedule(trace: Trace, rate: number): { order: number[]; at: Float64Array } {
  const starts = schedule(trace, rate);
  const nominal: number[] = new Array(trace.requests.length);
  trace.openings.forEach((first, i) => {
    let t = starts[i] as number;
    for (let id: number | undefined = first; id !== undefined; ) {
      nominal[id] = t;
      const r = trace.requests[id] as TraceRequest;
      t += (r.thinkMs ?? 0) + 2000;
      id = r.next;
    }
  });
  const order = trace.requests.map((r) => r.id).sort((a, b) => (nominal[a] as number) - (nominal[b] as number) || a - b);
  const poisson = schedule({ ...trace, openings: order, arrivals: { kind: 'poisson' } }, rate);
  return { order, at: poisson };
}

/** Random text of `n` characters (letters and spaces). */
export function text(rand: () => number, n: number): string {
  const codes = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const r = (rand() * 32) | 0;
    codes[i] = r < 26 ? 97 + r : 32;
  }
  let s = '';
  for (let i = 0; i < n; i += 8192) s += String.fromCharCode(...codes.subarray(i, i + 8192));
  return s;
}

/** Log-normal with the given mean and σ of the underlying normal, rounded and clamped. */
export function logNormal(rand: () => number, mean: number, sigma: number, lo: number, hi: number): number {
  const u1 = 1 - rand();
  const u2 = rand();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Math.min(hi, Math.max(lo, Math.round(Math.exp(mu + sigma * z))));
}

const between = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** `n` requests of a workload (multi-turn: sessions are added until there are at least n turns). */
export function buildTrace(workload: WorkloadName, seed: number, n: number): Trace {
  switch (workload) {
    case 'shared-prefix':
      return sharedPrefix(seed, n, 'shared-prefix', { kind: 'poisson' });
    case 'bursty':
      return sharedPrefix(seed, n, 'bursty', { kind: 'on-off', onMs: 3000, offMs: 6000, onRate: 2.5, offRate: 0.25 });
    case 'multi-turn':
      return multiTurn(seed, n);
    case 'sharegpt':
      return shareGpt(seed, n);
  }
}

function sharedPrefix(seed: number, n: number, workload: WorkloadName, arrivals: ArrivalProcess): Trace {
  const rand = prng(seed);
  const groups = Array.from({ length: SHARED_PREFIX_GROUPS }, () => text(rand, between(rand, 2000, 6000)));
  const pick = zipfSampler(groups.length, 0.8, rand);
  const requests: TraceRequest[] = [];
  for (let id = 0; id < n; id++) {
    const prompt = (groups[pick()] as string) + text(rand, between(rand, 20, 200));
    requests.push({ id, prompt, outputTokens: logNormal(rand, 120, 0.8, 4, 1024), maxTokens: 1024 });
  }
  return { workload, seed, requests, openings: requests.map((r) => r.id), arrivals };
}

function multiTurn(seed: number, n: number): Trace {
  const rand = prng(seed ^ 0x77);
  const systems = Array.from({ length: 16 }, () => text(rand, between(rand, 300, 1500)));
  const requests: TraceRequest[] = [];
  const openings: number[] = [];
  while (requests.length < n) {
    const turns = between(rand, 3, 8);
    let convo = systems[(rand() * systems.length) | 0] as string;
    openings.push(requests.length);
    for (let k = 0; k < turns; k++) {
      const id = requests.length;
      const prompt = convo + text(rand, logNormal(rand, 150, 0.7, 8, 2000));
      const outputTokens = logNormal(rand, 200, 0.7, 8, 1500);
      const last = k === turns - 1;
      requests.push({ id, prompt, outputTokens, maxTokens: 2048, ...(last ? {} : { next: id + 1, thinkMs: between(rand, 1000, 6000) }) });
      convo = prompt + text(rand, outputTokens);
    }
  }
  return { workload: 'multi-turn', seed, requests, openings, arrivals: { kind: 'poisson' } };
}

function shareGpt(seed: number, n: number): Trace {
  const rand = prng(seed ^ 0x5147);
  const systems = Array.from({ length: 8 }, () => text(rand, between(rand, 100, 200)));
  const requests: TraceRequest[] = [];
  for (let id = 0; id < n; id++) {
    const body = text(rand, logNormal(rand, 300, 1.0, 4, 4096));
    const prompt = rand() < 0.1 ? (systems[(rand() * systems.length) | 0] as string) + body : body;
    requests.push({ id, prompt, outputTokens: logNormal(rand, 250, 0.9, 4, 2048), maxTokens: 2048 });
  }
  return { workload: 'sharegpt', seed, requests, openings: requests.map((r) => r.id), arrivals: { kind: 'poisson' } };
}
