/**
 * The planner: per model, the GPU profiles (one per GPU type), the deployments that run them and
 * the load the monitor sees, solved into replicas per deployment. It re-solves on a timer and,
 * debounced, when profiles, deployments, availability or the load change; a change mid-solve aborts
 * the solve and the next tick restarts it. Reads (plan, explain, per-deployment replicas) never
 * wait for a solve: they see the last committed round.
 *
 * Rules (AIBrix #637, #1014/#1713, #507): scale-up at once, scale-down only after the lower count
 * has been asked for over a stable window; availability caps (a flag, else the GPUs the agents
 * report) are never exceeded; an infeasible or failed solve keeps the previous plan and says why;
 * no load at all asks for the minimums; a model with load but no profile, or a deployment whose GPU
 * type has none, is left as it is and named in explain, never scaled to zero for it. Models are
 * solved one after another in name order, each within the GPUs the ones before it left.
 *
 * Deterministic: time comes from `now` (or tick(now)), and the solver is a function (the seam tests
 * replace; production passes solvePlan, HiGHS in a worker).
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import { capsFor, type OptimizerDeployment, type ResolvedDeployment, resolveDeployments } from './deployments.js';
import type { RateForecast } from './load-monitor.js';
import { cellName, checkGridsAgree } from './profiles.js';
import { ask, type GateState, newGate, scaleDownAt, settle } from './scale-gate.js';
import type { GridLoad, PlanModel, PlanProblem, PlanSolution, PlanStatus, PlanType, ProfileGrid, ServingProfile } from './types.js';

export type SolveFn = (problem: PlanProblem, opts: { readonly signal?: AbortSignal }) => Promise<PlanSolution>;

/** What the planner reads of the load monitor. */
export interface LoadSource {
  gridLoad(model: string, grid: ProfileGrid, nowMs: number): GridLoad;
  rates(model: string, nowMs: number): [number, number];
  models(): string[];
  setGrid?(model: string, grid: ProfileGrid | undefined): void;
  /** The rate expected leadMs ahead (forecastLeadMs); absent = no forecast. */
  forecast?(model: string, nowMs: number, leadMs: number): RateForecast;
}

export interface PlannerSettings {
  readonly model: PlanModel;
  readonly intervalMs: number;
  readonly scaleDownWindowMs: number;
  readonly timeLimitMs: number;
  /** ρ ∈ (0, 1]. */
  readonly headroom: number;
  /** Most GPUs over all deployments; undefined = none. */
  readonly totalMax?: number;
  /** Cost per GPU added or removed, in percent of the cheapest profiled GPU's cost. */
  readonly switchingCostPercent: number;
  /**
   * Cost per GPU added above the plan in force (a cold start), in percent of the cheapest profiled
   * GPU's cost, on top of the switching cost (removals wait for the scale-down window instead). When
   * above 0, both count against the counts the plan last asked for, not the replicas the scale-down
   * window still holds. Default 0.
   */
  readonly addCostPercent?: number;
  /**
   * Plan gate: a new mix replaces the plan in force only when it costs more than this percent less,
   * or when the plan in force no longer carries the load (a re-solve with its counts fixed is
   * infeasible). Default 0 (every new plan replaces the last).
   */
  readonly planGatePercent?: number;
  /** Availability caps per GPU type (the flag); types it does not name fall back to the agents' reports. */
  readonly available: Readonly<Record<string, number>>;
  readonly minimums: Readonly<Record<string, number>>;
  /** Namespace of deployments made from profiles when none are configured. */
  readonly namespace: string;
  /** Make one deployment per profile when none are configured (default true; false while they come from Kubernetes). */
  readonly deploymentsFromProfiles?: boolean;
  /** Quiet time after a change before the re-solve (default 200 ms). */
  readonly debounceMs?: number;
  /** Relative change of a model's rate that counts as a load change (default 0.2). */
  readonly loadChange?: number;
  /**
   * Plan for the load expected this far ahead (a replica's cold start): the rate planned for is the
   * larger of the rate now and the monitor's forecast (its trend projected this far), never lower, so a
   * falling trend does not scale down early. 0 or absent = the rate now.
   */
  readonly forecastLeadMs?: number;
}

export interface PlannerOptions {
  readonly settings: PlannerSettings;
  readonly load: LoadSource;
  readonly solve: SolveFn;
  readonly now?: () => number;
  /** Usable GPUs per device model token (deployments.ts reportedGpus); absent = none known. */
  readonly reportedGpus?: () => ReadonlyMap<string, number>;
  readonly log?: Logger;
  /** Every solve's outcome (metrics). */
  readonly onSolve?: (status: PlanStatus, solveMs: number, model: string) => void;
  /** A solve in flight aborted by a change (`reason`: profiles, deployments, availability, load). */
  readonly onCancel?: (reason: string) => void;
  /** What the plan gate decided on a new mix: the plan in force stayed, or the new one replaced it. */
  readonly onGate?: (model: string, result: GateResult) => void;
}

/** `held`: the plan in force stayed; `cheaper`: the new mix is cheaper by more than the gate; `outgrown`: the plan in force no longer carries the load. */
export type GateResult = 'held' | 'cheaper' | 'outgrown';

/** What a model's last solve was given, for explaining its split. */
export interface SolvedWith {
  /** The GPU types as solved: cost, throughputs, the floor and the GPUs left to this model (cap). */
  readonly types: readonly PlanType[];
  readonly headroom: number;
  /** The GPUs over all types left to this model, when capped. */
  readonly totalMax?: number;
  /** The add cost per GPU above the plan in force (0: none). */
  readonly addCost: number;
}

export interface ProfileEntry {
  readonly profile: ServingProfile;
  readonly warnings: readonly string[];
  /** Where it came from: a file path or `PUT /v1/optimizer/profiles`. */
  readonly source: string;
}

export type ModelStatus = PlanStatus | 'minimums' | 'no-deployment';

export interface ModelResult {
  readonly model: string;
  readonly status: ModelStatus;
  /** When the round that produced it started (ms). */
  readonly at: number;
  readonly grid: ProfileGrid;
  readonly load: GridLoad;
  /** With forecastLeadMs: the rate now, the trend's slope and the rate forecast; load.rate is the larger of the two rates. */
  readonly forecast?: { readonly leadMs: number; readonly rateNow: number; readonly slope: number; readonly rate: number };
  /** Count per GPU type the solve asked for (the minimums when unloaded); empty when it gave none. */
  readonly target: Readonly<Record<string, number>>;
  readonly cost: number;
  readonly solveMs: number;
  readonly split: PlanSolution['split'];
  readonly message?: string;
  readonly binding: readonly string[];
  readonly caps: Readonly<Record<string, number | undefined>>;
  /**
   * Loaded cells no GPU type can serve within the SLO, each planned as the nearest cell one can
   * ("cell output 2048 × input 8192: no GPU type meets the SLO; planned as output 1024 × input 8192").
   */
  readonly remapped?: readonly string[];
  /** Why the plan in force stayed instead of the new solve's mix (plan gate), when it did. */
  readonly held?: string;
  /** The problem the split was solved from (absent when no deployment runs the model). */
  readonly solvedWith?: SolvedWith;
}

/** A deployment as the plan sees it. */
export interface DeploymentState extends OptimizerDeployment {
  readonly key: string;
  /** The model resolved (configured, or the only one with a profile for its GPU type). */
  readonly model?: string;
  /** Replicas in force; undefined until a plan or the settings give one. */
  readonly replicas?: number;
  /** What the last solve asked for. */
  readonly target?: number;
  /** When a pending scale-down takes effect (ms). */
  readonly scaleDownAt?: number;
  /** Why the plan leaves it alone, when it does. */
  readonly unplanned?: string;
}

const DEFAULT_DEBOUNCE_MS = 200;

export class Planner implements Disposable {
  readonly name = 'optimizer planner';
  private readonly s: PlannerSettings;
  private readonly now: () => number;
  private readonly profilesByModel = new Map<string, Map<string, ProfileEntry>>();
  private configured: readonly OptimizerDeployment[] = [];
  private readonly gates = new Map<string, GateState>();
  private readonly targets = new Map<string, number>();
  private results = new Map<string, ModelResult>();
  private lastCaps: Readonly<Record<string, number | undefined>> = {};
  private running: AbortController | undefined;
  private readonly pending = new Set<Promise<void>>();
  private dirtyAt: number | undefined;
  private readonly dirtyReasons = new Set<string>();
  private lastRoundAt: number | undefined;
  /** The first round (ms): the monitor starts empty, so "no load" means little until a window has passed. */
  private startedAt: number | undefined;
  private committedAt: number | undefined;
  private readonly solvedRates = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly opts: PlannerOptions) {
    this.s = opts.settings;
    this.now = opts.now ?? Date.now;
  }

  /** Adds or replaces `model`'s profiles (all of them with `replace`); BRX_ERR_OPTIMIZER_GRID_MISMATCH when grids differ. */
  setProfiles(model: string, entries: readonly ProfileEntry[], replace = false): void {
    const next = new Map(replace ? [] : this.profilesByModel.get(model));
    for (const e of entries) next.set(e.profile.gpu, e);
    // The incoming profiles first: a mismatch names the new one against the one it disagrees with.
    const ordered = [...entries.map((e) => e.profile), ...[...next.values()].map((e) => e.profile).filter((p) => !entries.some((e) => e.profile.gpu === p.gpu))];
    if (new Set(entries.map((e) => e.profile.gpu)).size !== entries.length) checkGridsAgree(entries.map((e) => e.profile));
    checkGridsAgree(ordered);
    if (next.size === 0) this.profilesByModel.delete(model);
    else this.profilesByModel.set(model, next);
    this.opts.load.setGrid?.(model, ordered[0]?.grid);
    this.markDirty('profiles');
  }

  removeProfile(model: string, gpu: string): boolean {
    const m = this.profilesByModel.get(model);
    if (m === undefined || !m.delete(gpu)) return false;
    if (m.size === 0) {
      this.profilesByModel.delete(model);
      this.opts.load.setGrid?.(model, undefined);
    }
    this.markDirty('profiles');
    return true;
  }

  profiles(): { model: string; entries: ProfileEntry[] }[] {
    return [...this.profilesByModel.keys()].sort().map((model) => ({ model, entries: [...(this.profilesByModel.get(model) as Map<string, ProfileEntry>).values()].sort((a, b) => cmp(a.profile.gpu, b.profile.gpu)) }));
  }

  setDeployments(deployments: readonly OptimizerDeployment[]): void {
    this.configured = deployments;
    for (const d of deployments) {
      const key = `${d.namespace}/${d.name}`;
      if (!this.gates.has(key) && d.replicas !== undefined) this.gates.set(key, newGate(d.replicas));
    }
    this.markDirty('deployments');
  }

  /** Something the plan depends on changed: re-solve after the debounce, aborting a solve in flight. */
  markDirty(reason: string): void {
    if (this.disposed) return;
    this.dirtyAt ??= this.now();
    this.dirtyReasons.add(reason);
    if (this.running !== undefined) {
      this.running.abort(new Error(`${reason} changed`));
      this.running = undefined;
      this.opts.onCancel?.(reason);
    }
  }

  /** One step of the loop at `now`: start a round when due or after a change, apply scale-downs whose window passed. */
  tick(now = this.now()): void {
    if (this.disposed) return;
    this.detectLoadChange(now);
    const due = this.lastRoundAt === undefined || now - this.lastRoundAt >= this.s.intervalMs;
    const changed = this.dirtyAt !== undefined && now - this.dirtyAt >= (this.s.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    if (this.running === undefined && (due || changed)) this.startRound(now);
    for (const d of this.resolve()) {
      const g = this.gates.get(d.key);
      if (g !== undefined) settle(g, now, this.s.scaleDownWindowMs, this.lastCaps[d.gpu]);
    }
  }

  /** Resolves once no round is in flight (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Ticks on a timer (every second, or the debounce when shorter) until disposed. */
  start(): void {
    if (this.timer !== undefined || this.disposed) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), Math.min(1000, this.s.debounceMs ?? DEFAULT_DEBOUNCE_MS));
    this.timer.unref();
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.timer);
    this.running?.abort(new Error('shutting down'));
    this.running = undefined;
  }

  /** Every deployment with its replicas in force, sorted by namespace/name. */
  deployments(): DeploymentState[] {
    return this.resolve().map((d) => {
      const g = this.gates.get(d.key);
      const at = g === undefined ? undefined : scaleDownAt(g, this.s.scaleDownWindowMs);
      const target = this.targets.get(d.key);
      return { ...d, ...(g !== undefined && { replicas: g.applied }), ...(target !== undefined && { target }), ...(at !== undefined && { scaleDownAt: at }) };
    });
  }

  deployment(namespace: string, name: string): DeploymentState | undefined {
    return this.deployments().find((d) => d.namespace === namespace && d.name === name);
  }

  /** The last committed round's result per model, sorted by model. */
  modelResults(): ModelResult[] {
    return [...this.results.values()].sort((a, b) => cmp(a.model, b.model));
  }

  /** When the last round was committed (ms), if one was. */
  get planAt(): number | undefined {
    return this.committedAt;
  }

  /** Models the monitor has seen requests for and no profile covers (AIBrix #1014/#1713), with their rate. */
  unprofiled(now = this.now()): { model: string; rate: number }[] {
    return this.opts.load
      .models()
      .filter((m) => !this.profilesByModel.has(m))
      .map((model) => ({ model, rate: Math.max(...this.opts.load.rates(model, now)) }))
      .filter((m) => m.rate > 0);
  }

  /** The change that will start the next round, if one is pending. */
  get pendingChange(): string[] {
    return [...this.dirtyReasons].sort();
  }

  private detectLoadChange(now: number): void {
    // Not while a round runs or a change is pending: a moving rate must not abort every solve.
    if (this.running !== undefined || this.dirtyAt !== undefined) return;
    const rel = this.s.loadChange ?? 0.2;
    for (const model of this.profilesByModel.keys()) {
      const r = Math.max(...this.opts.load.rates(model, now));
      const last = this.solvedRates.get(model) ?? 0;
      if (Math.abs(r - last) > rel * Math.max(r, last) + 1e-3) {
        this.markDirty('load');
        return;
      }
    }
  }

  private startRound(now: number): void {
    this.dirtyAt = undefined;
    this.dirtyReasons.clear();
    this.lastRoundAt = now;
    this.startedAt ??= now;
    const controller = new AbortController();
    this.running = controller;
    const p = this.round(now, controller.signal)
      .catch((err: unknown) => this.opts.log?.error({ err }, 'optimizer round failed'))
      .finally(() => {
        this.pending.delete(p);
        if (this.running === controller) this.running = undefined;
      });
    this.pending.add(p);
  }

  /** Deployments as configured, or one per (model, profile) in the default namespace when none are. */
  private resolve(): ResolvedDeployment[] {
    const gpus = new Map([...this.profilesByModel].map(([model, m]) => [model, [...m.keys()].sort()]));
    return resolveDeployments(this.configured, gpus, this.s.namespace, this.s.deploymentsFromProfiles ?? true);
  }

  private async round(at: number, signal: AbortSignal): Promise<void> {
    const deps = this.resolve();
    const caps = capsFor([...new Set(deps.map((d) => d.gpu))], this.s.available, this.opts.reportedGpus?.() ?? new Map());
    const capLeft: Record<string, number | undefined> = { ...caps };
    let totalLeft = this.s.totalMax;
    const gates = new Map<string, GateState>();
    const targets = new Map<string, number>();
    const results = new Map<string, ModelResult>();
    const rates = new Map<string, number>();
    // Deployments the plan leaves alone still hold their GPUs.
    for (const d of deps) {
      const g = this.gates.get(d.key);
      if (d.unplanned === undefined || g === undefined) continue;
      capLeft[d.gpu] = minus(capLeft[d.gpu], g.applied);
      totalLeft = minus(totalLeft, g.applied);
    }
    for (const model of [...this.profilesByModel.keys()].sort()) {
      const profiles = this.profilesByModel.get(model) as Map<string, ProfileEntry>;
      const grid = (profiles.values().next().value as ProfileEntry).profile.grid;
      const mine = deps.filter((d) => d.model === model && d.unplanned === undefined);
      const now = this.opts.load.gridLoad(model, grid, at);
      rates.set(model, now.rate);
      // Plan ahead of a ramp: the forecast raises the rate (the shapes stay those seen); it never lowers it.
      const lead = this.s.forecastLeadMs ?? 0;
      const fc = lead > 0 && now.rate > 0 ? this.opts.load.forecast?.(model, at, lead) : undefined;
      const seen = fc !== undefined && fc.forecast > now.rate ? { ...now, rate: fc.forecast } : now;
      const forecast = fc === undefined ? undefined : { leadMs: lead, rateNow: now.rate, slope: fc.slope, rate: fc.forecast };
      const base = { model, at, grid, load: seen, ...(forecast !== undefined && { forecast }), remapped: [] as string[], caps: Object.fromEntries(mine.map((d) => [d.gpu, caps[d.gpu]])) };
      if (mine.length === 0) {
        results.set(model, { ...base, status: 'no-deployment', target: {}, cost: 0, solveMs: 0, split: [], binding: [], message: `no deployment runs model ${model} on a profiled GPU type` });
        continue;
      }
      const types: PlanType[] = mine.map((d) => {
        const p = (profiles.get(d.gpu) as ProfileEntry).profile;
        const max = capLeft[d.gpu];
        const min = Math.min(d.min ?? this.s.minimums[d.gpu] ?? 0, max ?? Infinity);
        // With an add cost, "current" is the plan in force (the count last asked for): GPUs the scale-down
        // window still holds are not free to plan on, or near-equal mixes take turns and both stay up.
        const current = (this.s.addCostPercent ?? 0) > 0 ? (this.targets.get(d.key) ?? this.gates.get(d.key)?.applied) : this.gates.get(d.key)?.applied;
        return { name: d.gpu, cost: p.cost, tputs: p.tputs, ...(min > 0 && { min }), ...(max !== undefined && { max }), ...(current !== undefined && { current }) };
      });
      // Never stuck on a cell nothing serves (AIBrix #1014/#1713): plan it as the nearest one something does.
      const { load, remapped } = remapUnservable(seen, types);
      base.remapped = remapped;
      for (const line of remapped) this.opts.log?.warn({ model }, line);
      let sol: PlanSolution;
      let status: ModelStatus;
      let held: string | undefined;
      const cheapest = Math.min(...types.map((t) => t.cost));
      const addCost = (cheapest * (this.s.addCostPercent ?? 0)) / 100;
      const solvedWith: SolvedWith = { types, headroom: this.s.headroom, addCost, ...(totalLeft !== undefined && { totalMax: totalLeft }) };
      if (!(load.rate > 0 && load.observed > 0)) {
        const counts = Object.fromEntries(types.map((t) => [t.name, t.min ?? 0]));
        sol = { status: 'optimal', counts, cost: types.reduce((a, t) => a + t.cost * (t.min ?? 0), 0), split: [], solveMs: 0 };
        status = 'minimums';
      } else {
        const problem: PlanProblem = {
          grid,
          types,
          load,
          model: this.s.model,
          headroom: this.s.headroom,
          timeLimitMs: this.s.timeLimitMs,
          switchingCost: (cheapest * this.s.switchingCostPercent) / 100,
          ...(addCost > 0 && { addCost }),
          ...(totalLeft !== undefined && { totalMax: totalLeft }),
        };
        try {
          sol = await this.opts.solve(problem, { signal });
        } catch (err) {
          if (signal.aborted) return;
          sol = { status: 'error', counts: {}, cost: 0, split: [], solveMs: 0, message: err instanceof Error ? err.message : String(err) };
        }
        if (signal.aborted) return;
        this.opts.onSolve?.(sol.status, sol.solveMs, model);
        status = sol.status;
        const kept = await this.gate(problem, sol, this.results.get(model)?.target, signal);
        if (signal.aborted) return;
        if (kept.result !== undefined) this.opts.onGate?.(model, kept.result);
        if (kept.sol !== undefined) {
          sol = kept.sol;
          status = kept.sol.status;
          held = kept.why;
        }
      }
      const planned = (status === 'optimal' || status === 'time-limit' || status === 'minimums') && Object.keys(sol.counts).length > 0;
      // Just started, nothing seen yet: a deployment with no count keeps none (autoscalers keep what runs)
      // rather than dropping to its minimum before a whole scale-down window of silence.
      const warming = status === 'minimums' && at - (this.startedAt ?? at) < this.s.scaleDownWindowMs;
      for (const d of mine) {
        const prev = this.gates.get(d.key);
        if (prev === undefined && warming) {
          targets.set(d.key, sol.counts[d.gpu] ?? 0);
          continue;
        }
        const g: GateState = prev === undefined ? newGate(planned ? (sol.counts[d.gpu] ?? 0) : 0) : { ...prev };
        if (planned) {
          const target = sol.counts[d.gpu] ?? 0;
          targets.set(d.key, target);
          ask(g, target, at, this.s.scaleDownWindowMs, capLeft[d.gpu]);
        } else {
          const t = this.targets.get(d.key);
          if (t !== undefined) targets.set(d.key, t);
          settle(g, at, this.s.scaleDownWindowMs, capLeft[d.gpu]);
        }
        // A failed first solve leaves a deployment with no count rather than 0.
        if (prev !== undefined || planned) gates.set(d.key, g);
        capLeft[d.gpu] = minus(capLeft[d.gpu], g.applied);
        totalLeft = minus(totalLeft, g.applied);
      }
      results.set(model, {
        ...base,
        status,
        target: planned ? { ...sol.counts } : {},
        cost: planned ? sol.cost : 0,
        solveMs: sol.solveMs,
        split: planned ? sol.split : [],
        binding: planned ? binding(types, sol.counts, this.s) : [],
        solvedWith,
        ...(held !== undefined && { held }),
        ...(sol.message !== undefined && { message: sol.message }),
        ...(status === 'minimums' && {
          message: warming
            ? `no load seen since the start ${Math.round((at - (this.startedAt ?? at)) / 1000)} s ago: deployments with no count yet get one (their minimum) once a scale-down window has passed`
            : 'no load: every deployment at its minimum',
        }),
      });
    }
    if (signal.aborted) return;
    for (const [k, g] of gates) this.gates.set(k, g);
    for (const [k, t] of targets) this.targets.set(k, t);
    // A failed solve keeps the plan it had: the previous result stays beside the failure's message.
    for (const [model, r] of results) {
      const prev = this.results.get(model);
      if (r.status === 'infeasible' || r.status === 'error' || (r.status === 'time-limit' && Object.keys(r.target).length === 0)) {
        results.set(model, { ...r, target: prev?.target ?? {}, split: prev?.split ?? [], cost: prev?.cost ?? 0 });
        this.opts.log?.warn({ model, status: r.status, reason: r.message }, 'no new GPU plan; the previous one stays');
      }
    }
    this.results = results;
    for (const [m, r] of rates) this.solvedRates.set(m, r);
    this.lastCaps = caps;
    this.committedAt = at;
  }

  /**
   * The plan gate: the plan in force (`prev`, counts per type) stays when it still carries the load
   * (a solve with its counts fixed is feasible) and the new mix is not more than planGatePercent
   * cheaper; then `sol` is that fixed solve (its split), with why. Without `sol`: take the new one.
   * `result` says what the gate decided, when it had a new mix to judge.
   */
  private async gate(problem: PlanProblem, sol: PlanSolution, prev: Readonly<Record<string, number>> | undefined, signal: AbortSignal): Promise<{ sol?: PlanSolution; why?: string; result?: GateResult }> {
    const pct = this.s.planGatePercent ?? 0;
    if (pct <= 0 || prev === undefined || !(sol.status === 'optimal' || sol.status === 'time-limit') || Object.keys(sol.counts).length === 0) return {};
    if (problem.types.length !== Object.keys(prev).length || problem.types.every((t) => (sol.counts[t.name] ?? 0) === prev[t.name])) return {};
    const fixed: PlanType[] = [];
    for (const t of problem.types) {
      const n = prev[t.name];
      // Bounds that moved (a cap dropped, a floor rose) leave the plan in force outside them: it cannot stay.
      if (n === undefined || n < (t.min ?? 0) || n > (t.max ?? Infinity)) return { result: 'outgrown' };
      fixed.push({ ...t, min: n, max: n });
    }
    const total = fixed.reduce((a, t) => a + (t.min ?? 0), 0);
    if (problem.totalMax !== undefined && total > problem.totalMax) return { result: 'outgrown' };
    let same: PlanSolution;
    try {
      same = await this.opts.solve({ ...problem, types: fixed, switchingCost: 0, addCost: 0 }, { signal });
    } catch {
      return {};
    }
    if (same.status !== 'optimal') return { result: 'outgrown' };
    if (sol.cost < same.cost * (1 - pct / 100)) return { result: 'cheaper' };
    const saving = same.cost > 0 ? (100 * (same.cost - sol.cost)) / same.cost : 0;
    const mix = (c: Readonly<Record<string, number>>) => problem.types.map((t) => `${t.name}=${c[t.name] ?? 0}`).join(', ');
    return { sol: same, result: 'held', why: `the plan in force (${mix(prev)}) still carries the load; the new mix (${mix(sol.counts)}) is ${saving.toFixed(1)} % cheaper, not more than ${pct} %` };
  }
}

const minus = (a: number | undefined, b: number): number | undefined => (a === undefined ? undefined : Math.max(0, a - b));

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The constraints the plan sits on: caps reached, minimums held, the total cap, the headroom. */
function binding(types: readonly PlanType[], counts: Readonly<Record<string, number>>, s: PlannerSettings): string[] {
  const out: string[] = [];
  let total = 0;
  for (const t of types) {
    const n = counts[t.name] ?? 0;
    total += n;
    if (t.max !== undefined && n >= t.max) out.push(`${t.name}: availability cap ${t.max} reached`);
    if (t.min !== undefined && t.min > 0 && n <= t.min) out.push(`${t.name}: held at its minimum ${t.min}`);
  }
  if (s.totalMax !== undefined && total >= s.totalMax) out.push(`total cap ${s.totalMax} GPUs reached`);
  if (s.headroom < 1) out.push(`headroom: every GPU type loaded to at most ${Math.round(s.headroom * 100)} %`);
  return out;
}

/**
 * The load with every loaded cell that no type can serve (throughput 0 on each type not capped at 0)
 * moved onto the nearest cell some type can: nearest by Euclidean distance in (log2 output, log2
 * input); a tie goes to the cell with more tokens (more output, then more input), so a shape is
 * never planned as a lighter one than needed. Unchanged when every loaded cell is served or none is.
 */
export function remapUnservable(load: GridLoad, types: readonly PlanType[]): { load: GridLoad; remapped: string[] } {
  const { grid } = load;
  const n = grid.inputs.length;
  const cells = grid.outputs.length * n;
  const servable = (b: number) => types.some((t) => (t.tputs[b] as number) > 0 && t.max !== 0);
  const bad: number[] = [];
  const ok: number[] = [];
  for (let b = 0; b < cells; b++) {
    if (servable(b)) ok.push(b);
    else if ((load.shares[b] as number) > 0) bad.push(b);
  }
  if (bad.length === 0 || ok.length === 0 || !(load.rate > 0)) return { load, remapped: [] };
  const outL = grid.outputs.map((v) => Math.log2(v));
  const inL = grid.inputs.map((v) => Math.log2(v));
  const shares = Float64Array.from(load.shares);
  const remapped: string[] = [];
  for (const b of bad) {
    const bo = Math.floor(b / n);
    const bi = b % n;
    let best = -1;
    let bestD = Infinity;
    for (const c of ok) {
      const d = ((outL[Math.floor(c / n)] as number) - (outL[bo] as number)) ** 2 + ((inL[c % n] as number) - (inL[bi] as number)) ** 2;
      // Ascending cell index: a tie (d within rounding) goes to the later cell, more output then more input.
      if (d < bestD - 1e-9 || Math.abs(d - bestD) <= 1e-9) {
        bestD = Math.min(d, bestD);
        best = c;
      }
    }
    shares[best] = (shares[best] as number) + (shares[b] as number);
    shares[b] = 0;
    remapped.push(`cell ${cellName(grid, b)}: no GPU type meets the SLO; planned as ${cellName(grid, best)}`);
  }
  return { load: { ...load, shares }, remapped };
}
