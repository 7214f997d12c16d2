/**
 * One info line per new GPU plan: per model, the GPUs per type, the cost, the rate planned for and
 * the dominant request shapes with how the plan splits them over the types. A plan is new when its
 * counts or its dominant shapes differ from the last one logged for that model; a re-solve that
 * ends where the last one did logs nothing. Failed solves are the planner's own warnings.
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import type { ModelResult, Planner } from './planner.js';

/** Shapes logged per plan: the largest shares, each at least MIN_SHARE of the load. */
const TOP_CELLS = 3;
const MIN_SHARE = 0.1;

export interface PlanLogLine {
  readonly model: string;
  readonly status: string;
  readonly gpus: Readonly<Record<string, number>>;
  readonly cost: number;
  /** Requests/s planned for. */
  readonly rate: number;
  /** "out 16 × in 128: 62 % → l20 100 %", largest share first. */
  readonly cells: readonly string[];
}

const pct = (x: number): string => `${Math.round(100 * x)} %`;
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** The dominant cells of a result (largest share first): [cell index, share]. */
export function dominantCells(r: ModelResult, top = TOP_CELLS, minShare = MIN_SHARE): [number, number][] {
  const cells: [number, number][] = [];
  r.load.shares.forEach((share, k) => {
    if (share >= minShare) cells.push([k, share]);
  });
  return cells.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, top);
}

/** What one result's log line says; undefined where a result is no plan (failed solve, no deployment). */
export function planLogLine(r: ModelResult): PlanLogLine | undefined {
  if (r.status !== 'optimal' && r.status !== 'time-limit' && r.status !== 'minimums') return undefined;
  if (Object.keys(r.target).length === 0) return undefined;
  const n = r.grid.inputs.length;
  const cells = dominantCells(r).map(([k, share]) => {
    const split = r.split.find((c) => c.cell === k)?.shares ?? {};
    const over = Object.entries(split)
      .filter(([, s]) => s > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([gpu, s]) => `${gpu} ${pct(s)}`)
      .join(', ');
    return `out ${r.grid.outputs[Math.floor(k / n)]} × in ${r.grid.inputs[k % n]}: ${pct(share)}${over === '' ? '' : ` → ${over}`}`;
  });
  return { model: r.model, status: r.status, gpus: { ...r.target }, cost: round(r.cost, 4), rate: round(r.load.rate, 3), cells };
}

/** Logs each committed plan that differs from the last one logged for its model. */
export class PlanLog {
  private lastAt: number | undefined;
  private readonly logged = new Map<string, string>();

  constructor(
    private readonly planner: Pick<Planner, 'planAt' | 'modelResults'>,
    private readonly log: Pick<Logger, 'info'>,
  ) {}

  /** Looks at the planner's last committed round; logs what is new. */
  check(): void {
    const at = this.planner.planAt;
    if (at === undefined || at === this.lastAt) return;
    this.lastAt = at;
    for (const r of this.planner.modelResults()) {
      const line = planLogLine(r);
      if (line === undefined) continue;
      const gpus = Object.entries(line.gpus).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const key = JSON.stringify([r.status === 'minimums', gpus, dominantCells(r).map(([k]) => k).sort((a, b) => a - b)]);
      if (this.logged.get(r.model) === key) continue;
      this.logged.set(r.model, key);
      this.log.info({ ...line }, 'new GPU plan');
    }
  }
}

export interface PlanWatch extends Disposable {
  /** A solve finished: look once the round it belongs to has been committed (the rest of the round is synchronous). */
  soon(): void;
}

/**
 * Logs new plans: after each solve (soon()), and every `everyMs` for rounds with no solve (no load,
 * the minimums). A plan replaced within a moment is still logged, as the solve that made it calls soon().
 */
export function watchPlans(planner: Pick<Planner, 'planAt' | 'modelResults'>, log: Pick<Logger, 'info'>, everyMs = 1000): PlanWatch {
  const planLog = new PlanLog(planner, log);
  let queued: NodeJS.Immediate | undefined;
  const timer = setInterval(() => planLog.check(), everyMs);
  timer.unref();
  return {
    name: 'GPU plan log',
    soon() {
      queued ??= setImmediate(() => {
        queued = undefined;
        planLog.check();
      });
    },
    dispose() {
      clearInterval(timer);
      if (queued !== undefined) clearImmediate(queued);
    },
  };
}
