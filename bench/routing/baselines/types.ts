/**
 * What a baseline router (a reproduction of a published routing rule, used only by the simulator)
 * implements. Baselines see the same EngineState objects as brixlet's policies: live in-flight
 * counts (load.inFlight, load.decoding, kept by the simulator's wrapper exactly as the router keeps
 * them) and the metrics of the last simulated scrape. Whatever else a rule needs (its own prefix
 * index, its own per-request bookkeeping) it keeps itself, fed through the returned hooks.
 */
import type { EngineState } from '../../../src/coordinator/router/types.js';
import type { TraceRequest } from '../traces.js';

export interface BaselineChoice {
  /** Index into the engines array. */
  readonly engine: number;
  /** The first token of this request arrived. */
  firstToken?(now: number): void;
  /** The request finished. */
  release?(now: number): void;
}

export interface Baseline {
  readonly name: string;
  choose(req: TraceRequest, engines: readonly EngineState[], now: number): BaselineChoice;
}

/** Uniform pick among the indices in `pool` (non-empty). */
export function pickRandom(pool: readonly number[], random: () => number): number {
  return pool[Math.min(pool.length - 1, Math.floor(random() * pool.length))] as number;
}
