/**
 * The router follows the optimizer's split (routing-optimizer.md §7.1 C, the "Oracle" of AIBrix's SLO
 * routing): for a request of a model with a plan in force, the filter stage before the policy estimates
 * the request's cell on the profile grid, picks a GPU type with the plan's share for that cell and
 * keeps only the candidates of that type; the policy then chooses within the type.
 *
 * The cell: prompt tokens as the gateway counts them; output = max_tokens when given, else the load
 * monitor's mean output for the model, else the grid's smallest output tick; both snapped to the grid
 * as the monitor snaps finished requests (0.1 log2 steps, nearest tick).
 *
 * The pick is deterministic, not random: per cell, a smooth weighted round robin (each type earns its
 * share per request, the type with the most credit is picked and pays one), so after n requests of a
 * cell every type has taken its share × n within one request — shares are met exactly over time, also
 * over short runs, and tests need no seed. The credits restart with each new plan.
 *
 * An engine belongs to a type when its GPU type (EngineState.speed.gpuType) is the type's name, or
 * one word of it (`a100` engines serve a profile named `llama-7b-a100`). When no candidate of the
 * picked type is healthy and eligible, every candidate stays (counted as `fallback`); a shape the plan
 * has no share for (no load there when it was solved) keeps every candidate (`unplanned`); a model
 * without a plan is left alone.
 */
import { Counter } from 'prom-client';
import type { AppMetrics } from '../../common/metrics.js';
import type { CandidateFilter, EngineState, FilterChoice, RouteRequest } from '../router/types.js';
import { typeMatches } from './deployments.js';
import { FINE_PER_LOG2, log2Tokens, nearestTick } from './load-monitor.js';
import type { ModelResult } from './planner.js';
import type { ProfileGrid } from './types.js';

export type SplitResult = 'followed' | 'fallback' | 'unplanned';

/** What the split reads of the planner. */
export interface SplitPlans {
  /** Changes whenever a new round is committed. */
  readonly planAt: number | undefined;
  modelResults(): ModelResult[];
}

export interface RouteSplitOptions {
  readonly plans: SplitPlans;
  /** Mean output tokens of a model's finished requests (the load monitor), for requests without max_tokens. */
  readonly meanOutput?: (model: string) => number | undefined;
}

interface CellPick {
  readonly types: readonly string[];
  readonly shares: Float64Array;
  readonly credits: Float64Array;
}

interface ModelSplit {
  readonly grid: ProfileGrid;
  readonly outLog: readonly number[];
  readonly inLog: readonly number[];
  readonly cells: ReadonlyMap<number, CellPick>;
  readonly types: readonly string[];
  /** Engine GPU type → plan type (null: none), filled as engines are seen. */
  readonly typeOf: Map<string, string | null>;
}

export class RouteSplit implements CandidateFilter {
  private at: number | undefined;
  private built = false;
  private models = new Map<string, ModelSplit>();
  /** model → type → result → decisions. */
  private readonly counts = new Map<string, Map<string, Map<SplitResult, number>>>();

  constructor(private readonly opts: RouteSplitOptions) {}

  filter(req: RouteRequest, candidates: readonly EngineState[]): FilterChoice | undefined {
    const m = this.plan(req.model);
    if (m === undefined) return undefined;
    const output = this.outputOf(req, m.grid);
    const o = nearestTick(m.outLog, snap(output)).index;
    const i = nearestTick(m.inLog, snap(req.promptTokens)).index;
    const cell = m.cells.get(o * m.grid.inputs.length + i);
    if (cell === undefined) {
      this.count(req.model, 'none', 'unplanned');
      return { engines: candidates, label: 'unplanned' };
    }
    const type = pick(cell);
    const kept: EngineState[] = [];
    for (const e of candidates) if (engineType(m, e.speed.gpuType) === type) kept.push(e);
    if (kept.length === 0) {
      this.count(req.model, type, 'fallback');
      return { engines: candidates, label: `${type}:fallback` };
    }
    this.count(req.model, type, 'followed');
    return { engines: kept, label: type };
  }

  /** Decisions so far per (model, type, result); type `none` for unplanned shapes. */
  decisions(): { model: string; type: string; result: SplitResult; n: number }[] {
    const out: { model: string; type: string; result: SplitResult; n: number }[] = [];
    for (const [model, byType] of this.counts) for (const [type, byResult] of byType) for (const [result, n] of byResult) out.push({ model, type, result, n });
    return out;
  }

  private outputOf(req: RouteRequest, grid: ProfileGrid): number {
    if (req.maxTokens !== undefined && req.maxTokens > 0) return req.maxTokens;
    const mean = this.opts.meanOutput?.(req.model);
    return mean !== undefined && mean > 0 ? mean : (grid.outputs[0] as number);
  }

  /** The model's split in the plan in force, rebuilt when a new round was committed. */
  private plan(model: string): ModelSplit | undefined {
    const at = this.opts.plans.planAt;
    if (!this.built || at !== this.at) {
      this.at = at;
      this.built = true;
      this.models = buildSplits(this.opts.plans.modelResults());
    }
    return this.models.get(model);
  }

  private count(model: string, type: string, result: SplitResult): void {
    let byType = this.counts.get(model);
    if (byType === undefined) this.counts.set(model, (byType = new Map()));
    let byResult = byType.get(type);
    if (byResult === undefined) byType.set(type, (byResult = new Map()));
    byResult.set(result, (byResult.get(result) ?? 0) + 1);
  }
}

/** Per model with a split in force: its cells' shares (normalised, zero shares dropped). */
function buildSplits(results: readonly ModelResult[]): Map<string, ModelSplit> {
  const out = new Map<string, ModelSplit>();
  for (const r of results) {
    if (r.split.length === 0) continue;
    const cells = new Map<number, CellPick>();
    const all = new Set<string>();
    for (const c of r.split) {
      const types = Object.keys(c.shares)
        .filter((t) => (c.shares[t] as number) > 0)
        .sort();
      const sum = types.reduce((a, t) => a + (c.shares[t] as number), 0);
      if (!(sum > 0)) continue;
      for (const t of types) all.add(t);
      cells.set(c.cell, { types, shares: Float64Array.from(types, (t) => (c.shares[t] as number) / sum), credits: new Float64Array(types.length) });
    }
    if (cells.size === 0) continue;
    out.set(r.model, { grid: r.grid, outLog: r.grid.outputs.map(log2Tokens), inLog: r.grid.inputs.map(log2Tokens), cells, types: [...all].sort(), typeOf: new Map() });
  }
  return out;
}

/** Smooth weighted round robin: every type earns its share, the richest (first on a tie) is picked and pays 1. */
function pick(c: CellPick): string {
  let best = 0;
  for (let k = 0; k < c.types.length; k++) {
    c.credits[k] = (c.credits[k] as number) + (c.shares[k] as number);
    if ((c.credits[k] as number) > (c.credits[best] as number) + 1e-12) best = k;
  }
  c.credits[best] = (c.credits[best] as number) - 1;
  return c.types[best] as string;
}

/** The plan type an engine of GPU type `gpuType` counts as: the type of that name, else the only one naming it as a word. */
function engineType(m: ModelSplit, gpuType: string): string | null {
  let t = m.typeOf.get(gpuType);
  if (t !== undefined) return t;
  const lower = gpuType.toLowerCase();
  const exact = m.types.find((x) => x.toLowerCase() === lower);
  const named = m.types.filter((x) => typeMatches(x, lower));
  t = exact ?? (named.length === 1 ? (named[0] as string) : null);
  if (m.typeOf.size < 1024) m.typeOf.set(gpuType, t);
  return t;
}

/** A token count in log2, rounded to the monitor's 0.1 steps (the cell a finished request of it lands in). */
function snap(tokens: number): number {
  return Math.round(log2Tokens(tokens) * FINE_PER_LOG2) / FINE_PER_LOG2;
}

/** brixlet_router_split_decisions_total{model,type,result}, read from the split at scrape time. */
export function registerRouteSplitMetrics(metrics: AppMetrics, split: RouteSplit): void {
  const name = 'brixlet_router_split_decisions_total';
  const registry = metrics.registry;
  registry.removeSingleMetric(name);
  new Counter({
    name,
    help: 'Routing decisions that followed the GPU optimizer\'s split: the GPU type picked for the request\'s shape, and whether its engines took it (followed), none was eligible so all stayed (fallback), or the plan has no share for the shape (unplanned, type none).',
    labelNames: ['model', 'type', 'result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of split.decisions()) this.inc({ model: d.model, type: d.type, result: d.result }, d.n);
    },
  });
}
