/**
 * The two load guards of AIBrix's prefix-cache router, shared by prefix-cache and kv-aware:
 * - imbalance pre-check: when max − min of the requests in flight exceeds an absolute count, only
 *   the engines at the minimum stay candidates (prefix affinity must not keep feeding a hot engine);
 * - spread limit: a matched engine is taken only while its in-flight count is ≤ mean + k·stddev
 *   (population stddev over the candidates).
 * "Running" is the gateway's own count (load.inFlight), exact at decision time.
 */
import type { EngineState } from '../types.js';

/** AIBrix code defaults (its readme says 16 and 2). */
export const DEFAULT_IMBALANCE_ABS = 8;
export const DEFAULT_STDDEV_FACTOR = 1;

export interface LoadGuardOptions {
  /** max − min in-flight count above which only the least-loaded engines stay candidates. */
  readonly imbalanceAbs?: number;
  /** k in mean + k·stddev. */
  readonly stddevFactor?: number;
}

export interface GuardedPool {
  readonly pool: readonly EngineState[];
  /** True when the imbalance pre-check fired. */
  readonly imbalanced: boolean;
  readonly min: number;
  readonly max: number;
  /** mean + k·stddev of in-flight counts over `pool`. */
  readonly limit: number;
}

export function guardPool(candidates: readonly EngineState[], opts: LoadGuardOptions): GuardedPool {
  const abs = opts.imbalanceAbs ?? DEFAULT_IMBALANCE_ABS;
  const k = opts.stddevFactor ?? DEFAULT_STDDEV_FACTOR;
  let min = Infinity;
  let max = -Infinity;
  for (const e of candidates) {
    const r = e.load.inFlight;
    if (r < min) min = r;
    if (r > max) max = r;
  }
  let pool = candidates;
  const imbalanced = max - min > abs;
  if (imbalanced) {
    const only: EngineState[] = [];
    for (const e of candidates) if (e.load.inFlight === min) only.push(e);
    pool = only;
  }
  let sum = 0;
  let sq = 0;
  for (const e of pool) {
    const r = e.load.inFlight;
    sum += r;
    sq += r * r;
  }
  const mean = sum / pool.length;
  const variance = Math.max(0, sq / pool.length - mean * mean);
  // A hair of slack so that equal counts are never excluded by rounding in mean/variance.
  return { pool, imbalanced, min, max, limit: mean + k * Math.sqrt(variance) + 1e-9 };
}

/** Reason suffix for the imbalance pre-check. */
export function imbalanceNote(g: GuardedPool, abs: number | undefined): string {
  return g.imbalanced ? `; imbalance ${g.max}−${g.min} > ${abs ?? DEFAULT_IMBALANCE_ABS}: only the ${g.pool.length} least-loaded` : '';
}
