/**
 * Solves PlanProblems with HiGHS off the event loop. HiGHS's solve is synchronous, so it runs in one
 * long-lived worker thread that loads the wasm once and takes one solve at a time (a queue). Each
 * solve carries HiGHS's own `time_limit`; a watchdog terminates and replaces a worker that overruns
 * it, and aborting a solve terminates its worker too (a synchronous solve cannot be interrupted
 * any other way). The worker is unreferenced while idle, so it never keeps a process alive.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { BrixletError } from '../../common/errors.js';
import { buildModel, buildSplitArrays, type BuiltModel, readSolution, type SplitArrays, type SplitBuilt } from './model.js';
import { planObjective, typeBounds, windows, withWindows } from './split-windows.js';
import type { PlanProblem, PlanSolution } from './types.js';

/** Without problem.timeLimitMs. */
export const DEFAULT_TIME_LIMIT_MS = 10_000;

/**
 * HiGHS options for the split model. Every solve closes the gap to 1e-9 (mip_rel_gap and
 * mip_abs_gap; HiGHS also sees the objective as integral in cents when costs are exact cents and
 * prunes by that), so these change the time, never the plan's cost. The split model has a handful
 * of integer columns (y) over an LP of cells × types continuous shares; the LP bound is within a
 * few tenths of a percent of the optimum, and the time goes to proving the last cents over a few
 * dozen to a hundred nodes (about 1 ms each in the wasm build). LP text parsing is about 4 ms and
 * the worker's messaging under 1 ms of that. The sub-MIP heuristics (RINS, RENS), feasibility jump
 * and the root reduced-cost heuristic spend more than they save there, as do presolve (it removes
 * nothing) and cut separation below the root. Measured in process on the bench's 8 types × 160
 * buckets instances: the slowest of 12 about 340 → 110-125 ms, the median about 100 → 50-60 ms.
 * Not for the slice model: with thousands of binaries it needs those heuristics (4 types × 40
 * buckets got 2-3× slower without them). Tried and not kept (none measurably faster): an
 * incumbent from the rounded-up LP relaxation, implied bounds on y (the load only one type can
 * serve; all the load a type can serve), z ≤ y rows, a projected capacity row Σ v_j y_j ≥ g(v) from
 * the LP relaxation's duals, no symmetry detection, no restarts, other strong-branching
 * reliability, and Benders decomposition over y (8 integer columns, a cut per infeasible count
 * vector: the master MIPs alone took longer than the whole solve). What did pay: the count windows
 * (split-windows.ts, solveSplit below) and the model passed as arrays instead of LP text.
 */
export const SPLIT_OPTIONS = {
  presolve: 'off',
  mip_heuristic_run_rins: false,
  mip_heuristic_run_rens: false,
  mip_heuristic_run_feasibility_jump: false,
  mip_heuristic_run_root_reduced_cost: false,
  mip_allow_cut_separation_at_nodes: false,
} as const;

export interface SolveOptions {
  readonly signal?: AbortSignal;
}

interface WorkerAnswer {
  readonly id: number;
  readonly error?: string;
  readonly status?: string;
  readonly objective?: number;
  readonly columns?: Record<string, number>;
  /** Column values in model order, for a model passed as arrays. */
  readonly values?: Float64Array;
  readonly ms?: number;
}

interface Job {
  readonly id: number;
  /** CPLEX LP text, or the split model's arrays (no text to parse). */
  readonly lp: string | SplitArrays;
  readonly timeLimitMs: number;
  readonly options: Readonly<Record<string, string | number | boolean>>;
  readonly resolve: (a: WorkerAnswer) => void;
  readonly reject: (e: Error) => void;
}

// Plain CommonJS run with `eval: true`: worker threads cannot load .ts sources, and this needs no build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ready = require(workerData.highs)();
const STATUS = { 7: 'Optimal', 8: 'Infeasible', 9: 'Primal infeasible or unbounded', 10: 'Unbounded', 13: 'Time limit reached' };
function solveArrays(highs, job, options) {
  const m = highs.createModel(job.lp);
  try {
    m.options.set(options);
    m.run();
    const code = m.getModelStatus();
    const feasible = m.info.get('primal_solution_status') === 2;
    return { status: STATUS[code] || 'model status ' + code, objective: feasible ? m.getObjectiveValue() : undefined, values: feasible ? m.getSolution().colValue : undefined };
  } finally {
    m.dispose();
  }
}
parentPort.on('message', async (job) => {
  let highs;
  try { highs = await ready; } catch (err) { parentPort.postMessage({ id: job.id, error: 'cannot load HiGHS: ' + err.message }); return; }
  const t0 = performance.now();
  try {
    const options = { ...job.options, time_limit: job.timeLimitMs / 1000, mip_rel_gap: 1e-9, mip_abs_gap: 1e-9, output_flag: false };
    if (typeof job.lp !== 'string') {
      const r = solveArrays(highs, job, options);
      parentPort.postMessage({ id: job.id, ...r, ms: performance.now() - t0 });
      return;
    }
    const r = highs.solve(job.lp, options);
    const columns = {};
    for (const [name, c] of Object.entries(r.Columns || {})) if (typeof c.Primal === 'number') columns[name] = c.Primal;
    parentPort.postMessage({ id: job.id, status: r.Status, objective: r.ObjectiveValue, columns, ms: performance.now() - t0 });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err && err.message || err), ms: performance.now() - t0 });
  }
});
`;

export function abortError(reason?: unknown): BrixletError {
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
  const err = new BrixletError('BRX_ERR_OPTIMIZER_ABORTED', { reason: why === '' || why === 'This operation was aborted' ? '' : `: ${why}` });
  err.name = 'AbortError';
  return err;
}

/** One HiGHS worker and its queue. `solvePlan` uses a shared one; tests and benches may own theirs. */
export class HighsRunner {
  private worker?: Worker;
  private running?: Job;
  private watchdog?: NodeJS.Timeout;
  private readonly queue: Job[] = [];
  private nextId = 1;
  /** Workers terminated by the watchdog or an abort (for tests and logs). */
  replaced = 0;

  /** Extra time past the solver's own limit before the worker is terminated. */
  constructor(private readonly graceMs = (limitMs: number) => Math.max(2000, limitMs)) {}

  /**
   * Runs one LP with HiGHS options `options` (the gap and time limit are always set); rejects with an
   * AbortError when `signal` fires; answers `{ status: 'watchdog' }` on overrun.
   */
  run(lp: string | SplitArrays, timeLimitMs: number, signal?: AbortSignal, options: Job['options'] = {}): Promise<WorkerAnswer> {
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    return new Promise<WorkerAnswer>((resolve, reject) => {
      const onAbort = () => {
        const k = this.queue.indexOf(job);
        if (k >= 0) this.queue.splice(k, 1);
        else if (this.running === job) this.replace();
        reject(abortError(signal?.reason));
      };
      const done = () => signal?.removeEventListener('abort', onAbort);
      const job: Job = {
        id: this.nextId++,
        lp,
        timeLimitMs,
        options,
        resolve: (a) => (done(), resolve(a)),
        reject: (e) => (done(), reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /** Terminates the worker; queued and running solves reject. */
  async close(): Promise<void> {
    const pending = [...(this.running ? [this.running] : []), ...this.queue.splice(0)];
    this.running = undefined;
    clearTimeout(this.watchdog);
    const w = this.worker;
    this.worker = undefined;
    for (const job of pending) job.reject(abortError('the solver was closed'));
    await w?.terminate();
  }

  private spawn(): Worker {
    const highs = createRequire(import.meta.url).resolve('highs');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { highs } });
    w.on('message', (a: WorkerAnswer) => {
      if (this.worker !== w || this.running?.id !== a.id) return;
      const job = this.running;
      this.finish();
      job.resolve(a);
    });
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const job = this.running;
      this.finish();
      job?.reject(new BrixletError('BRX_ERR_OPTIMIZER_SOLVER', { reason: why }));
    };
    w.on('error', (err) => lost(`the solver thread failed: ${err.message}`));
    w.on('exit', (code) => lost(`the solver thread exited (code ${code})`));
    w.unref();
    return w;
  }

  private finish(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.running = undefined;
    this.worker?.unref();
    this.pump();
  }

  /** Terminates the current worker (a stuck or aborted solve); the next job gets a fresh one. */
  private replace(): void {
    const w = this.worker;
    this.worker = undefined;
    this.replaced++;
    void w?.terminate();
    this.finish();
  }

  private pump(): void {
    if (this.running !== undefined) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.worker ??= this.spawn();
    this.worker.ref();
    this.running = job;
    this.watchdog = setTimeout(() => {
      if (this.running !== job) return;
      this.replace();
      job.resolve({ id: job.id, status: 'watchdog' });
    }, job.timeLimitMs + this.graceMs(job.timeLimitMs));
    this.worker.postMessage({ id: job.id, lp: job.lp, timeLimitMs: job.timeLimitMs, options: job.options });
  }
}

let shared: HighsRunner | undefined;

/** Solves with the process-wide HiGHS worker. */
export function solvePlan(problem: PlanProblem, opts: SolveOptions = {}): Promise<PlanSolution> {
  shared ??= new HighsRunner();
  return solveWith(shared, problem, opts);
}

/** Solves `problem` on `runner`: validation errors throw, abort rejects, everything else is a PlanSolution. */
export async function solveWith(runner: HighsRunner, problem: PlanProblem, opts: SolveOptions = {}): Promise<PlanSolution> {
  if (problem.model === 'split') return solveSplit(runner, problem, opts);
  const prepared = buildModel(problem);
  if ('solution' in prepared) return prepared.solution;
  return solveBuilt(runner, problem, prepared.built, problem.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS, opts);
}

/**
 * First slack above the Lagrangian base, as a share of the base, for the count windows: the
 * relaxation's gap to the optimum on the bench's instances is 0.04-0.55 %; a first solve in these
 * narrow windows finds a plan close to the optimum quickly, and its cost sets the second slack.
 */
export const WINDOW_SLACK = 0.001;

/** Fewest GPU types for the count windows; fewer solve the whole model at once. */
export const WINDOW_MIN_TYPES = 3;

/**
 * The split model: HiGHS on the model's arrays (no LP text), in count windows (split-windows.ts).
 * Each type's count is held in the window whose Lagrangian bound is within a slack s of the base;
 * every plan outside the windows costs more than base + s. A first solve with a small s: when its
 * plan costs at most base + s it is the optimum; otherwise a second solve in the windows for
 * s = its cost − base, which hold that plan, so that their optimum is the full model's. A first
 * solve with no plan widens s four-fold (three times, then the full model). The same optimum as
 * one solve of the full model, and a time-limit answer when the limit runs out. Below
 * WINDOW_MIN_TYPES types, one solve of the whole model's arrays.
 */
async function solveSplit(runner: HighsRunner, p: PlanProblem, opts: SolveOptions): Promise<PlanSolution> {
  const limit = p.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const pre = buildSplitArrays(p);
  if ('solution' in pre) return pre.solution;
  // With two types the windows save less than a second solve can cost (bench: 2 × 40, 2 × 160).
  const bounds = splitStrategy.mode === 'window' && p.types.length >= WINDOW_MIN_TYPES ? typeBounds(p) : undefined;
  if (bounds === undefined) return solveBuilt(runner, p, pre.built, limit, opts);
  const t0 = performance.now();
  let spent = 0;
  const left = () => Math.max(1, limit - (performance.now() - t0));
  const within = async (slack: number): Promise<PlanSolution | undefined> => {
    const win = windows(p, bounds, slack);
    if (!win.some((w) => Number.isFinite(w.outside))) return undefined;
    const q = withWindows(p, win);
    const prepared = buildSplitArrays(q);
    const sol = 'solution' in prepared ? prepared.solution : await solveBuilt(runner, q, prepared.built, left(), opts, false);
    spent += sol.solveMs;
    return sol;
  };
  const whole = async () => {
    const sol = await solveBuilt(runner, p, pre.built, left(), opts);
    return { ...sol, solveMs: spent + sol.solveMs };
  };
  let slack = WINDOW_SLACK * Math.abs(bounds.base);
  for (let round = 0; round < 3; round++, slack *= 4) {
    const first = await within(slack);
    if (first === undefined) return whole();
    if (first.status === 'infeasible') continue;
    if (first.status !== 'optimal') return { ...first, solveMs: spent };
    const v = planObjective(p, first.counts);
    const margin = 1e-9 * Math.max(1, Math.abs(v));
    if (v <= bounds.base + slack - margin) return { ...first, solveMs: spent };
    const second = await within(v - bounds.base + margin);
    if (second === undefined) return whole();
    return { ...second, solveMs: spent };
  }
  return whole();
}

/** For benches and tests: `none` solves the split model whole, without the count windows. */
export const splitStrategy: { mode: 'window' | 'none' } = { mode: 'window' };

/** Runs a built model and reads the answer into a PlanSolution (explaining an infeasible one). */
async function solveBuilt(runner: HighsRunner, problem: PlanProblem, built: BuiltModel | SplitBuilt, limit: number, opts: SolveOptions, explain = true): Promise<PlanSolution> {
  const t0 = performance.now();
  const arrays = 'arrays' in built;
  const answer = await runner.run(arrays ? built.arrays : built.lp, limit, opts.signal, problem.model === 'split' ? SPLIT_OPTIONS : {});
  const solveMs = answer.ms ?? performance.now() - t0;
  const costs = problem.types.map((t) => t.cost);
  const value = columnReader(built, answer);
  const plan = (status: 'optimal' | 'time-limit', message?: string): PlanSolution => ({
    status,
    ...readSolution(built, costs, value),
    solveMs,
    ...(message === undefined ? {} : { message }),
  });
  const noPlan = (status: PlanSolution['status'], message: string): PlanSolution => ({ status, counts: {}, cost: 0, split: [], solveMs, message });
  if (answer.error !== undefined) return noPlan('error', `HiGHS: ${answer.error}`);
  switch (answer.status) {
    case 'Optimal':
      return plan('optimal');
    case 'Time limit reached':
      return hasIncumbent(built, answer)
        ? plan('time-limit', `time limit of ${limit} ms reached; the best plan found so far`)
        : noPlan('time-limit', `time limit of ${limit} ms reached before any plan was found`);
    case 'watchdog':
      return noPlan('time-limit', `the solver overran its ${limit} ms time limit and was stopped; no plan`);
    case 'Infeasible':
    case 'Primal infeasible or unbounded':
      return noPlan('infeasible', explain ? await explainInfeasible(runner, problem, opts) : 'infeasible in the count windows');
    default:
      return noPlan('error', `HiGHS ended with status '${answer.status}'`);
  }
}

/** Column name → value for an answer (by name for LP text, by position for arrays); absent columns read 0. */
function columnReader(built: BuiltModel | SplitBuilt, a: WorkerAnswer): (col: string) => number {
  if (!('arrays' in built)) return (c) => a.columns?.[c] ?? 0;
  const index = new Map(built.columns.map((c, i) => [c, i]));
  return (c) => {
    const i = index.get(c);
    return i === undefined ? 0 : (a.values?.[i] ?? 0);
  };
}

function hasIncumbent(built: BuiltModel | SplitBuilt, a: WorkerAnswer): boolean {
  if (!Number.isFinite(a.objective)) return false;
  if ('arrays' in built) return a.values !== undefined && built.names.every((_, j) => Number.isFinite(a.values?.[j]));
  return built.names.every((_, j) => Number.isFinite(a.columns?.[`y${j}`]));
}

/** Says which constraint family makes the plan impossible: the total cap, or the per-type caps. */
async function explainInfeasible(runner: HighsRunner, p: PlanProblem, opts: SolveOptions): Promise<string> {
  const caps = p.types.filter((t) => t.max !== undefined).map((t) => `${t.name}=${t.max}`);
  const capsText = caps.length > 0 ? `the availability caps (${caps.join(', ')})` : 'the constraints';
  if (p.totalMax === undefined) return `${capsText} cannot carry ${p.load.rate} req/s`;
  const free = await solveWith(runner, { ...p, totalMax: undefined, switchingCost: 0 }, opts);
  if (free.status === 'optimal') {
    const need = Object.values(free.counts).reduce((a, b) => a + b, 0);
    return `totalMax ${p.totalMax} is below what ${p.load.rate} req/s needs (${need} GPUs${p.gpuFraction && p.gpuFraction > 1 ? ` in 1/${p.gpuFraction} units` : ''} within the other caps)`;
  }
  return free.message ?? `${capsText} cannot carry ${p.load.rate} req/s`;
}

/** A plan from AIBrix's pipeline, with the 1/100-GPU units its solver returned before rounding. */
export type AibrixPlan = PlanSolution & { readonly units: Readonly<Record<string, number>> };

/**
 * AIBrix's shipped pipeline, for comparisons: the slice model with s = 4 in 1/100-GPU units
 * (f = 100) and no caps, minimums or switching cost, then each deployment's PodAutoscaler rounding
 * its own value up (ceil(y/100)). Counts are whole GPUs; cost is Σ c_j · ceil(y_j/100).
 */
export async function aibrixPipeline(problem: PlanProblem, opts: SolveOptions & { readonly runner?: HighsRunner } = {}): Promise<AibrixPlan> {
  const as: PlanProblem = {
    grid: problem.grid,
    load: problem.load,
    types: problem.types.map((t) => ({ name: t.name, cost: t.cost, tputs: t.tputs })),
    model: 'slice',
    sliceFactor: 4,
    gpuFraction: 100,
    ...(problem.timeLimitMs === undefined ? {} : { timeLimitMs: problem.timeLimitMs }),
  };
  const sol = opts.runner === undefined ? await solvePlan(as, opts) : await solveWith(opts.runner, as, opts);
  if (sol.status !== 'optimal' && Object.keys(sol.counts).length === 0) return { ...sol, units: {} };
  const counts: Record<string, number> = {};
  let cost = 0;
  for (const t of problem.types) {
    const y = Math.ceil((sol.counts[t.name] ?? 0) / 100);
    counts[t.name] = y;
    cost += t.cost * y;
  }
  return { ...sol, counts, cost: Math.round(cost * 1e9) / 1e9, units: sol.counts };
}
