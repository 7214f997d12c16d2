/**
 * The GPU optimizer's shared types: serving profiles on a (output tokens × input tokens) grid, the
 * load on that grid, the planning problem handed to the solver and the plan it returns.
 *
 * Conventions: a grid cell is addressed by `o * inputs.length + i` (row = output tick, column =
 * input tick, as in AIBrix's `tputs`); a throughput of 0 means the GPU type cannot serve that cell
 * within the SLO at any rate (infeasible); rates are requests per second.
 */

/** The ticks of a profile grid, ascending, in tokens (AIBrix `indexes`: [outputs, inputs]). */
export interface ProfileGrid {
  readonly outputs: readonly number[];
  readonly inputs: readonly number[];
}

/** One GPU type's (one deployment's) profile, validated. */
export interface ServingProfile {
  /** The deployment (GPU type) the profile describes; AIBrix's `gpu` field. */
  readonly gpu: string;
  /** Model the profile was made for, when known. */
  readonly model?: string;
  /** Cost per GPU per time unit (≥ 0; AIBrix: user supplied, e.g. $/hour). */
  readonly cost: number;
  readonly grid: ProfileGrid;
  /** Max requests/s one GPU sustains within the SLO, per cell (length outputs × inputs); 0 = infeasible. */
  readonly tputs: Float64Array;
  /** Mean latencies (s) at the chosen rate per cell, when the profile has them (AIBrix `e2e`, `ttft`, `tpot`). */
  readonly e2e?: Float64Array;
  readonly ttft?: Float64Array;
  readonly tpot?: Float64Array;
  /** The SLO the profile was made for (AIBrix `slos`, e.g. { percentile: 99, e2e: 5 }). */
  readonly slos?: Readonly<Record<string, number>>;
  /** Unix seconds, when known. */
  readonly created?: number;
}

/** The load of one model on a grid: total rate and each cell's share (sums to 1 when rate > 0). */
export interface GridLoad {
  readonly grid: ProfileGrid;
  /** Requests per second (the planning rate: max of the short and long horizons). */
  readonly rate: number;
  /** Share of the rate per cell, length outputs × inputs. */
  readonly shares: Float64Array;
  /** Decayed count of requests that fell outside the grid and were clamped to its edge. */
  readonly clamped: number;
  /** Decayed count of all requests behind the shares. */
  readonly observed: number;
}

/** One GPU type in a planning problem. */
export interface PlanType {
  readonly name: string;
  readonly cost: number;
  /** Per cell, as ServingProfile.tputs. */
  readonly tputs: Float64Array;
  /** Fewest GPUs of this type (default 0). */
  readonly min?: number;
  /** Most GPUs of this type that exist / may be used (availability cap); absent = unbounded. */
  readonly max?: number;
  /** The current count, for the switching cost. */
  readonly current?: number;
}

export type PlanModel = 'slice' | 'split';

export interface PlanProblem {
  readonly grid: ProfileGrid;
  readonly types: readonly PlanType[];
  readonly load: Pick<GridLoad, 'rate' | 'shares'>;
  /** `slice`: Melange's slices with binary assignment (AIBrix's model); `split`: continuous shares. */
  readonly model: PlanModel;
  /** Slices per cell for `slice` (Melange / AIBrix default 4). */
  readonly sliceFactor?: number;
  /** Units per GPU (1 = whole GPUs, the default; 100 = AIBrix's 1/100-GPU units). */
  readonly gpuFraction?: number;
  /** Utilisation headroom ρ ∈ (0, 1]: the load on a type must fit ρ × its GPUs (default 1). */
  readonly headroom?: number;
  /** Most GPUs over all types. */
  readonly totalMax?: number;
  /** Cost per GPU added or removed against `current` (hysteresis); 0 = none. */
  readonly switchingCost?: number;
  /**
   * Cost per GPU added above `current` (a cold start), on top of switchingCost; removals pay only
   * switchingCost. Hysteresis for mixes: a near-equal mix that needs new GPUs does not replace the
   * one running, while a drop in load still frees GPUs. 0 = none.
   */
  readonly addCost?: number;
  /** Solver time limit; on expiry the best incumbent is returned with status `time-limit`. */
  readonly timeLimitMs?: number;
}

export type PlanStatus = 'optimal' | 'time-limit' | 'infeasible' | 'error';

export interface PlanSolution {
  readonly status: PlanStatus;
  /** GPUs per type (in gpuFraction units), present for optimal / time-limit with an incumbent. */
  readonly counts: Readonly<Record<string, number>>;
  /** Σ cost × count / gpuFraction (the switching cost excluded). */
  readonly cost: number;
  /** Per loaded cell: the share of that cell's requests sent to each type (sums to 1). */
  readonly split: ReadonlyArray<{ readonly cell: number; readonly shares: Readonly<Record<string, number>> }>;
  readonly solveMs: number;
  /** Why no plan (infeasible / error), naming the cell or constraint. */
  readonly message?: string;
}
