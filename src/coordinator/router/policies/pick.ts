/**
 * The one-pass argmin every metric policy uses: the lowest score wins, exact ties are broken
 * uniformly at random with the context's generator (reservoir sampling, one draw per tie), so a
 * burst of identical states spreads instead of piling onto the first engine.
 */
import type { EngineState, PrefixIndex } from '../types.js';

export interface Pick {
  readonly engine: EngineState;
  readonly score: number;
  /** Engines that shared the winning score. */
  readonly ties: number;
}

/**
 * `candidates` must be non-empty. `score` should be a module-level function (no per-call closure);
 * what it needs besides the engine comes through `arg`.
 */
export function pickMin<A = undefined>(
  candidates: readonly EngineState[],
  score: (e: EngineState, arg: A) => number,
  random: () => number,
  arg?: A,
): Pick {
  let best = candidates[0] as EngineState;
  let bestScore = score(best, arg as A);
  let ties = 1;
  for (let i = 1; i < candidates.length; i++) {
    const e = candidates[i] as EngineState;
    const s = score(e, arg as A);
    if (s < bestScore) {
      best = e;
      bestScore = s;
      ties = 1;
    } else if (s === bestScore) {
      ties++;
      if (random() * ties < 1) best = e;
    }
  }
  return { engine: best, score: bestScore, ties };
}

/** Numbers in reasons: at most 3 decimals, no trailing zeros. */
export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

/** " (no metrics)" when the engine has not been scraped yet, "" otherwise. */
export function noMetrics(e: EngineState): string {
  return e.metrics === undefined ? ' (no metrics)' : '';
}

/** " among N tied" when the choice was a random tie-break. */
export function tied(ties: number): string {
  return ties > 1 ? `, random among ${ties} tied` : '';
}

/** Which index gave `uid`'s match, as ` (kv-events)` or ` (approximate)`; '' without KV events. */
export function sourceNote(prefix: PrefixIndex, uid: string): string {
  const s = prefix.source?.(uid);
  return s === undefined ? '' : ` (${s})`;
}
