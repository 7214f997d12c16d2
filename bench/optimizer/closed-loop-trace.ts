/**
 * The closed loop's workload: a bursty 25-minute arrival trace of a ShareGPT-like chat load
 * (log-normal prompt and answer lengths) mixed with a Text2SQL-like load (a long schema prompt, a
 * short query). Seeded and deterministic.
 *
 * Arrivals are a non-homogeneous Poisson process (thinning) whose rate is a piecewise-linear profile
 * going up and down (RATE_POINTS) times a two-state modulation (Markov-modulated: ~20 s bursts at
 * 1.4×, ~40 s lulls at 0.8×, mean 1), so there are slow swings the planner can follow and short
 * bursts it cannot. The Text2SQL share of the arrivals follows its own profile (SQL_SHARE_POINTS), so
 * the request shapes shift as well as the rate. A warm-up at the first point's rate and mix comes
 * before the measured trace. Lengths are clipped to shapes the profiles serve within the SLO
 * (max_tokens 256, as a chat service sets one; chat prompts ≤ 1024 tokens, SQL prompts ≤ 2048 with
 * queries ≤ 160 tokens): no GPU type meets a 10 s E2E at 256 output × 2048 input tokens.
 */
import { createRandom } from '../../src/mock-engine/random.js';

export interface LoopRequest {
  /** Arrival (ms of simulated time; the measured trace starts at warmupMs). */
  readonly at: number;
  readonly input: number;
  readonly output: number;
  readonly kind: 'sharegpt' | 'text2sql';
}

export interface LoopTrace {
  readonly requests: readonly LoopRequest[];
  readonly warmupMs: number;
  /** Length of the measured part (ms); arrivals stop at warmupMs + durationMs. */
  readonly durationMs: number;
}

export interface LoopTraceOptions {
  readonly seed: number;
  /** Measured length (default 25 min); the rate and mix profiles are stretched to it. */
  readonly durationMs?: number;
  readonly warmupMs?: number;
  /** Multiplies every rate (default 1). */
  readonly rateScale?: number;
  /** Turns off the burst modulation (tests). */
  readonly steady?: boolean;
}

/** (second of the 25-min trace, requests/s): up, down, a peak, a quiet spell; ramps of 2–3 minutes. */
export const RATE_POINTS: readonly (readonly [number, number])[] = [
  [0, 6], [120, 6], [300, 16], [480, 16], [600, 9], [720, 9], [900, 20], [1020, 20], [1140, 12], [1260, 12], [1380, 5], [1500, 6],
];
/** (second, share of arrivals that are Text2SQL-like). */
export const SQL_SHARE_POINTS: readonly (readonly [number, number])[] = [
  [0, 0.3], [600, 0.3], [700, 0.65], [1000, 0.65], [1100, 0.15], [1500, 0.15],
];
const BASE_SECONDS = 1500;
const BURST = { onRate: 1.4, offRate: 0.8, onMs: 20_000, offMs: 40_000 };
const MAX_INPUT = 2048;
const MAX_CHAT_INPUT = 1024;
const MAX_SQL_OUTPUT = 160;
const MAX_OUTPUT = 256;

/** Linear interpolation through `points` at `x` (clamped to the ends). */
export function piecewise(points: readonly (readonly [number, number])[], x: number): number {
  const first = points[0] as readonly [number, number];
  if (x <= first[0]) return first[1];
  for (let k = 1; k < points.length; k++) {
    const [x1, y1] = points[k] as readonly [number, number];
    if (x <= x1) {
      const [x0, y0] = points[k - 1] as readonly [number, number];
      return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
    }
  }
  return (points[points.length - 1] as readonly [number, number])[1];
}

function logNormal(rand: () => number, median: number, sigma: number): number {
  // Box–Muller; 1 − u keeps log away from 0.
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return median * Math.exp(sigma * z);
}

const clip = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, Math.round(x)));

/** ShareGPT-like: prompt median 180 tokens, answer median 110 (log-normal, σ 0.9 / 0.8). */
export function shareGptShape(rand: () => number): { input: number; output: number } {
  return { input: clip(logNormal(rand, 180, 0.9), 8, MAX_CHAT_INPUT), output: clip(logNormal(rand, 110, 0.8), 4, MAX_OUTPUT) };
}

/** Text2SQL-like: schema + question prompt median 1200 tokens (σ 0.35), query median 40 (σ 0.5). */
export function text2SqlShape(rand: () => number): { input: number; output: number } {
  return { input: clip(logNormal(rand, 1200, 0.35), 256, MAX_INPUT), output: clip(logNormal(rand, 40, 0.5), 8, MAX_SQL_OUTPUT) };
}

export function loopTrace(o: LoopTraceOptions): LoopTrace {
  const durationMs = o.durationMs ?? BASE_SECONDS * 1000;
  const warmupMs = o.warmupMs ?? 300_000;
  const scale = o.rateScale ?? 1;
  const stretch = BASE_SECONDS / (durationMs / 1000);
  const rateAt = (t: number) => scale * piecewise(RATE_POINTS, Math.max(0, t - warmupMs) / 1000 * stretch);
  const sqlAt = (t: number) => piecewise(SQL_SHARE_POINTS, Math.max(0, t - warmupMs) / 1000 * stretch);
  const peak = scale * Math.max(...RATE_POINTS.map((p) => p[1])) * (o.steady === true ? 1 : BURST.onRate);
  const arrivals = createRandom(o.seed * 2654435761);
  const shapes = createRandom(o.seed * 40503 + 17);
  const phases = createRandom(o.seed * 97 + 3);
  const end = warmupMs + durationMs;
  let on = false;
  let phaseEnd = -Math.log(1 - phases()) * BURST.offMs;
  const requests: LoopRequest[] = [];
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - arrivals()) * 1000) / peak;
    if (t >= end) break;
    while (t >= phaseEnd) {
      on = !on;
      phaseEnd += -Math.log(1 - phases()) * (on ? BURST.onMs : BURST.offMs);
    }
    const factor = o.steady === true ? 1 : on ? BURST.onRate : BURST.offRate;
    if (arrivals() * peak >= rateAt(t) * factor) continue;
    const sql = shapes() < sqlAt(t);
    const s = sql ? text2SqlShape(shapes) : shareGptShape(shapes);
    requests.push({ at: t, input: s.input, output: s.output, kind: sql ? 'text2sql' : 'sharegpt' });
  }
  return { requests, warmupMs, durationMs };
}
