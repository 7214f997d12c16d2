/**
 * The seed's experiment, closed loop, in simulated time: a trace (closed-loop-trace.ts) through a
 * fleet of mock-engine GPU models (src/mock-engine createEngineModel, the latency model
 * `brixlet mock-engine` serves and bench/routing's simulator runs) whose size per GPU type follows
 * the optimizer's plan. One thread, a virtual clock, deterministic for a seed.
 *
 * - Load: the real load monitor (DecayedLoadMonitor), fed every request at its arrival (the rate, as
 *   the gateway feeds it when it routes) and every finished request at its finish (the shapes);
 *   `rateFrom: 'completions'` feeds finishes only (the rate then sees no more than the fleet serves).
 * - Plan: the real planner (Planner: split model on HiGHS, switching cost, scale-up at once,
 *   scale-down after its window) ticked every `intervalMs` of simulated time; each tick waits for
 *   its solve, so the clock stands still while HiGHS works. It plans for the monitor's forecast one
 *   cold start ahead (forecastLeadMs, default = coldStartMs; 0 = the rate now), as the coordinator
 *   does with --optimizer.forecast-lead.
 * - Replicas follow the planner's replicas in force. A new replica costs from its launch and serves
 *   after `coldStartMs`. Going down, replicas still starting are cancelled first (newest first),
 *   then the ready ones with the fewest requests in flight stop taking requests and drain: billed
 *   until their last request finishes.
 * - Routing: a request goes to a GPU type by the plan's split of its grid cell (nearest tick in
 *   log2, as the monitor buckets it), followed exactly by smooth weighted round-robin over the types
 *   with a ready replica, then to the ready replica of that type with the fewest requests in flight
 *   (lowest index on ties). A cell the split does not cover goes to the ready replica with the
 *   fewest in flight per unit of the cell's profiled throughput. With no ready replica at all,
 *   requests wait at the gateway (FIFO) and count that wait.
 * - The loop starts warm: the monitor has seen the first minute of the trace (recorded before time
 *   0) and the first plan's replicas are running at time 0.
 *
 * Measured over the trace after its warm-up: GPU-seconds per type (launch to stop, cold starts
 * included, clipped to the measured window) × the profile's cost per hour; every request arriving
 * in the window followed to its finish: within the SLO when its E2E (and TTFT, if the SLO has one)
 * is below the profile's bound; scale events (a deployment's replicas in force changing) in the
 * window.
 */
import { DecayedLoadMonitor, log2Tokens, nearestTick } from '../../src/coordinator/optimizer/load-monitor.js';
import { Planner, type PlannerSettings, type SolveFn } from '../../src/coordinator/optimizer/planner.js';
import type { PlanSolution, ServingProfile } from '../../src/coordinator/optimizer/types.js';
import { createEngineModel } from '../../src/mock-engine/model.js';
import type { EngineModel, GpuProfile } from '../../src/mock-engine/types.js';
import { percentile } from '../lib/report.js';
import type { LoopRequest, LoopTrace } from './closed-loop-trace.js';

export const LOOP_MODEL = 'mock-llama-3-8b';

export interface ClosedLoopOptions {
  readonly trace: LoopTrace;
  /** The GPU types the plan may use, each with its engine model (profile.gpu → GpuProfile). */
  readonly profiles: readonly ServingProfile[];
  readonly engines: Readonly<Record<string, GpuProfile>>;
  readonly solve: SolveFn;
  /** Seeds the engines' step jitter. */
  readonly seed: number;
  readonly coldStartMs?: number;
  /** Planner settings over the coordinator's defaults (interval 10 s, split, switching cost 10 %, window 120 s). */
  readonly settings?: Partial<PlannerSettings>;
  /** Step-time jitter of the engine models (default 0.05). */
  readonly jitter?: number;
  /**
   * `split` (default): by the plan's split, then least-loaded within the type; `least-load`: the
   * ready replica with the fewest requests in flight per unit of its profiled throughput for the shape.
   */
  readonly routing?: 'split' | 'least-load';
  /** What the monitor's rate counts: arrivals (default; as the gateway feeds it) or finished requests only. */
  readonly rateFrom?: 'arrivals' | 'completions';
  /** Time after the last arrival by which every request must have finished (default 10 min). */
  readonly drainLimitMs?: number;
  /** The load monitor's trend time constant and forecast growth cap (its defaults when absent). */
  readonly trendMs?: number;
  readonly maxGrowth?: number;
}

export interface ClosedLoopResult {
  /** Requests arriving in the measured window. */
  readonly requests: number;
  readonly withinSlo: number;
  /** withinSlo / requests (0–1). */
  readonly attainment: number;
  readonly e2eP50: number;
  readonly e2eP99: number;
  readonly ttftP99: number;
  /** Seconds in the gateway queue (no ready replica), p99. */
  readonly gatewayWaitP99: number;
  readonly gpuSeconds: Readonly<Record<string, number>>;
  /** Requests of the window served per GPU type. */
  readonly servedByType: Readonly<Record<string, number>>;
  readonly gpuHours: number;
  /** Σ GPU-hours × cost per hour, per type. */
  readonly cost: number;
  /** What the plans as solved cost over the window (each tick's counts × cost for one interval): no cold starts, no scale-down window. */
  readonly plannedCost: number;
  /** Plan ticks in the window whose solved counts differ from the tick before. */
  readonly planChanges: number;
  /** Changes of a deployment's replicas in force, summed over deployments. */
  readonly scaleEvents: number;
  readonly replicasStarted: number;
  readonly replicasStopped: number;
  readonly peakReplicas: Readonly<Record<string, number>>;
  readonly solves: number;
  readonly solveMsP99: number;
  /** Requests outside the SLO per minute of the window, by arrival. */
  readonly missedByMinute: readonly number[];
  /** Replicas in force per type at each plan tick in the window (seconds from its start). */
  readonly timeline: readonly { readonly t: number; readonly replicas: Readonly<Record<string, number>>; readonly target: Readonly<Record<string, number>>; readonly rate: number }[];
}

export const DEFAULT_SETTINGS: PlannerSettings = {
  model: 'split',
  intervalMs: 10_000,
  scaleDownWindowMs: 120_000,
  timeLimitMs: 5000,
  headroom: 1,
  switchingCostPercent: 10,
  available: {},
  minimums: {},
  namespace: 'bench',
};

interface Replica {
  readonly index: number;
  readonly gpu: string;
  readonly engine: EngineModel;
  readonly launchedAt: number;
  readonly readyAt: number;
  stoppedAt: number | undefined;
  draining: boolean;
  inFlight: number;
}

const F_NAN = Number.NaN;

export async function runClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const { trace, profiles } = o;
  const reqs = trace.requests;
  const n = reqs.length;
  const coldStartMs = o.coldStartMs ?? 90_000;
  const settings: PlannerSettings = { ...DEFAULT_SETTINGS, forecastLeadMs: coldStartMs, ...o.settings };
  const grid = (profiles[0] as ServingProfile).grid;
  const windowStart = trace.warmupMs;
  const windowEnd = trace.warmupMs + trace.durationMs;
  const slo = sloOf(profiles[0] as ServingProfile);
  for (const p of profiles) if (o.engines[p.gpu] === undefined) throw new Error(`closed loop: no engine model for GPU type ${p.gpu}`);

  let now = 0;
  const monitor = new DecayedLoadMonitor({ ...(o.trendMs !== undefined && { trendMs: o.trendMs }), ...(o.maxGrowth !== undefined && { maxGrowth: o.maxGrowth }) });
  const planner = new Planner({ settings, load: monitor, solve: o.solve, now: () => now });
  planner.setProfiles(LOOP_MODEL, profiles.map((profile) => ({ profile, warnings: [], source: 'closed loop' })));

  // Per request: its cell, routing ticket and times.
  const cellOf = new Int32Array(n);
  const outTicks = grid.outputs.map(log2Tokens);
  const inTicks = grid.inputs.map(log2Tokens);
  for (let k = 0; k < n; k++) {
    const r = reqs[k] as LoopRequest;
    cellOf[k] = nearestTick(outTicks, log2Tokens(r.output)).index * grid.inputs.length + nearestTick(inTicks, log2Tokens(r.input)).index;
  }
  const servedBy = new Int32Array(n).fill(-1);
  const routedAt = new Float64Array(n).fill(F_NAN);
  const firstAt = new Float64Array(n).fill(F_NAN);
  const finishAt = new Float64Array(n).fill(F_NAN);

  const replicas: Replica[] = [];
  const live = new Map<string, Replica[]>(profiles.map((p) => [p.gpu, []]));
  const tputOf = new Map(profiles.map((p) => [p.gpu, p.tputs]));
  let started = 0;
  let stopped = 0;
  /** A replica was launched or stopped since the loop last listed the live ones. */
  let fleetChanged = false;
  let scaleEvents = 0;
  const inForce = new Map<string, number>();
  const peak: Record<string, number> = Object.fromEntries(profiles.map((p) => [p.gpu, 0]));
  const timeline: ClosedLoopResult['timeline'][number][] = [];
  const solveMs: number[] = [];
  const costOf = new Map(profiles.map((p) => [p.gpu, p.cost]));
  let plannedCost = 0;
  let planChanges = 0;
  let lastTarget: string | undefined;

  const launch = (gpu: string, readyAt: number) => {
    const r: Replica = {
      index: replicas.length,
      gpu,
      engine: createEngineModel(o.engines[gpu] as GpuProfile, { seed: o.seed * 7907 + replicas.length, jitter: o.jitter ?? 0.05, tokenEvents: false }),
      launchedAt: now,
      readyAt,
      stoppedAt: undefined,
      draining: false,
      inFlight: 0,
    };
    replicas.push(r);
    (live.get(gpu) as Replica[]).push(r);
    started++;
    fleetChanged = true;
  };
  const stop = (r: Replica) => {
    r.stoppedAt = now;
    const list = live.get(r.gpu) as Replica[];
    list.splice(list.indexOf(r), 1);
    stopped++;
    fleetChanged = true;
  };
  /** Brings each type to `count` replicas that are starting or serving (not draining). */
  const apply = (gpu: string, count: number, ready: boolean) => {
    const list = live.get(gpu) as Replica[];
    const active = list.filter((r) => !r.draining);
    for (let k = active.length; k < count; k++) launch(gpu, ready ? now : now + coldStartMs);
    let excess = active.length - count;
    const starting = active.filter((r) => r.readyAt > now).sort((a, b) => b.launchedAt - a.launchedAt || b.index - a.index);
    for (const r of starting) {
      if (excess <= 0) break;
      stop(r);
      excess--;
    }
    const serving = active.filter((r) => r.readyAt <= now).sort((a, b) => a.inFlight - b.inFlight || a.index - b.index);
    for (const r of serving) {
      if (excess <= 0) break;
      r.draining = true;
      if (r.inFlight === 0) stop(r);
      excess--;
    }
    peak[gpu] = Math.max(peak[gpu] ?? 0, count);
  };

  // Routing: smooth weighted round-robin per cell over the split's types.
  let split = new Map<number, Readonly<Record<string, number>>>();
  /** The counts the split was solved for. */
  let planCounts = new Map<string, number>();
  const routing = o.routing ?? 'split';
  const swrr = new Map<number, Map<string, number>>();
  const readyOf = (gpu: string): Replica | undefined => {
    let best: Replica | undefined;
    for (const r of live.get(gpu) as Replica[]) {
      if (r.draining || r.readyAt > now) continue;
      if (best === undefined || r.inFlight < best.inFlight) best = r;
    }
    return best;
  };
  const readyCount = (gpu: string): number => {
    let c = 0;
    for (const r of live.get(gpu) as Replica[]) if (!r.draining && r.readyAt <= now) c++;
    return c;
  };
  const pick = (cell: number): Replica | undefined => {
    const shares = routing === 'split' ? split.get(cell) : undefined;
    if (shares !== undefined) {
      let weights = swrr.get(cell);
      if (weights === undefined) swrr.set(cell, (weights = new Map()));
      let total = 0;
      let bestGpu: string | undefined;
      let bestW = -Infinity;
      for (const [gpu, share] of Object.entries(shares)) {
        const ready = readyCount(gpu);
        if (!(share > 0) || ready === 0) continue;
        // A type with fewer replicas ready than planned (cold starts) takes that much less of its share.
        const planned = planCounts.get(gpu) ?? 0;
        const w0 = share * (planned > ready ? ready / planned : 1);
        const w = (weights.get(gpu) ?? 0) + w0;
        weights.set(gpu, w);
        total += w0;
        if (w > bestW) {
          bestW = w;
          bestGpu = gpu;
        }
      }
      if (bestGpu !== undefined) {
        weights.set(bestGpu, bestW - total);
        return readyOf(bestGpu);
      }
    }
    let best: Replica | undefined;
    let bestLoad = Infinity;
    for (const [gpu, list] of live) {
      const tput = (tputOf.get(gpu) as Float64Array)[cell] as number;
      for (const r of list) {
        if (r.draining || r.readyAt > now) continue;
        const load = (r.inFlight + 1) / (tput > 0 ? tput : 1e-6);
        if (load < bestLoad) {
          bestLoad = load;
          best = r;
        }
      }
    }
    return best;
  };

  const queue: number[] = [];
  let queueHead = 0;
  const route = (k: number): boolean => {
    const r = pick(cellOf[k] as number);
    if (r === undefined) return false;
    const req = reqs[k] as LoopRequest;
    servedBy[k] = r.index;
    routedAt[k] = now;
    r.inFlight++;
    r.engine.submit({ id: String(k), promptTokens: req.input, blockHashes: [], outputTokens: req.output }, now);
    return true;
  };
  const flushQueue = () => {
    while (queueHead < queue.length && route(queue[queueHead] as number)) queueHead++;
  };

  const syncPlan = () => {
    const deps = planner.deployments();
    for (const d of deps) {
      const count = d.replicas ?? 0;
      const prev = inForce.get(d.gpu);
      if (prev !== undefined && prev !== count && now >= windowStart && now < windowEnd) scaleEvents++;
      if (prev !== count) apply(d.gpu, count, prev === undefined);
      inForce.set(d.gpu, count);
    }
    const result = planner.modelResults().find((m) => m.model === LOOP_MODEL);
    if (result !== undefined && result.split.length > 0) {
      split = new Map(result.split.map((s: PlanSolution['split'][number]) => [s.cell, s.shares]));
      planCounts = new Map(Object.entries(result.target));
    }
  };
  const plan = async () => {
    planner.tick(now);
    await planner.idle();
    const r = planner.modelResults().find((m) => m.model === LOOP_MODEL);
    if (r !== undefined && r.at === now && r.status !== 'minimums') solveMs.push(r.solveMs);
    syncPlan();
    if (now >= windowStart && now < windowEnd) {
      for (const [gpu, c] of Object.entries(r?.target ?? {})) plannedCost += (c * (costOf.get(gpu) ?? 0) * settings.intervalMs) / 3_600_000;
      const key = JSON.stringify(Object.entries(r?.target ?? {}).sort());
      if (lastTarget !== undefined && key !== lastTarget) planChanges++;
      lastTarget = key;
      const target = Object.fromEntries(planner.deployments().map((d) => [d.gpu, d.target ?? 0]));
      timeline.push({ t: Math.round((now - windowStart) / 1000), replicas: Object.fromEntries(inForce), target, rate: Math.round((r?.load.rate ?? 0) * 100) / 100 });
    }
  };

  // Warm start: a minute of the trace seen before time 0 (nominal finishes), the first plan running.
  const arrivals = (o.rateFrom ?? 'arrivals') === 'arrivals';
  for (const r of reqs) {
    if (r.at >= 60_000) break;
    if (arrivals) monitor.arrived(LOOP_MODEL, r.at - 60_000);
    monitor.record(LOOP_MODEL, r.input, r.output, r.at - 60_000);
  }
  await plan();
  const first = planner.modelResults().find((m) => m.model === LOOP_MODEL);
  if (first === undefined || Object.keys(first.target).length === 0) throw new Error(`closed loop: the first plan failed (${first?.status ?? 'no result'}: ${first?.message ?? ''})`);

  let nextArrival = 0;
  let nextPlan = settings.intervalMs;
  let done = 0;
  const drainLimit = windowEnd + (o.drainLimitMs ?? 600_000);
  let alive: Replica[] = [];
  const refreshAlive = () => {
    alive = replicas.filter((r) => r.stoppedAt === undefined);
    fleetChanged = false;
  };
  refreshAlive();
  let nextReady = Infinity;
  const computeNextReady = () => {
    nextReady = Infinity;
    for (const r of alive) if (r.readyAt > now && r.readyAt < nextReady && !r.draining) nextReady = r.readyAt;
  };
  computeNextReady();

  while (done < n) {
    let tEngine = Infinity;
    for (const r of alive) {
      const t = r.engine.nextEventAt();
      if (t !== undefined && t < tEngine) tEngine = t;
    }
    const tArrival = nextArrival < n ? (reqs[nextArrival] as LoopRequest).at : Infinity;
    const arrivalsLeft = nextArrival < n || queueHead < queue.length;
    const tPlan = arrivalsLeft || done < n ? nextPlan : Infinity;
    const t = Math.min(tEngine, tArrival, tPlan, nextReady);
    if (t === Infinity || t > drainLimit) throw new Error(`closed loop stalled at ${(now / 1000).toFixed(1)} s with ${n - done} requests unfinished`);
    now = t;
    if (tEngine <= t) {
      for (const r of alive) {
        const next = r.engine.nextEventAt();
        if (next === undefined || next > t) continue;
        for (const ev of r.engine.advance(t)) {
          const k = Number(ev.id);
          if (ev.type === 'first-token') firstAt[k] = ev.at;
          else if (ev.type === 'finish' || ev.type === 'aborted') {
            finishAt[k] = ev.type === 'finish' ? ev.at : Infinity;
            done++;
            r.inFlight--;
            const req = reqs[k] as LoopRequest;
            if (ev.type === 'finish') monitor.record(LOOP_MODEL, req.input, req.output, ev.at);
            if (r.draining && r.inFlight === 0) stop(r);
          }
        }
      }
    }
    if (nextReady <= t) computeNextReady();
    if (queueHead < queue.length) flushQueue();
    while (nextArrival < n && (reqs[nextArrival] as LoopRequest).at <= t) {
      const k = nextArrival++;
      if (arrivals) monitor.arrived(LOOP_MODEL, (reqs[k] as LoopRequest).at);
      if (queueHead < queue.length || !route(k)) queue.push(k);
    }
    if (nextPlan <= t) {
      nextPlan += settings.intervalMs;
      await plan();
      computeNextReady();
      if (queueHead < queue.length) flushQueue();
    }
    if (fleetChanged) {
      refreshAlive();
      computeNextReady();
    }
  }
  planner.dispose();

  // Accounting over the measured window.
  const gpuSeconds: Record<string, number> = Object.fromEntries(profiles.map((p) => [p.gpu, 0]));
  for (const r of replicas) {
    const from = Math.max(r.launchedAt, windowStart);
    const to = Math.min(r.stoppedAt ?? windowEnd, windowEnd);
    if (to > from) gpuSeconds[r.gpu] = (gpuSeconds[r.gpu] as number) + (to - from) / 1000;
  }
  let cost = 0;
  let gpuHours = 0;
  for (const p of profiles) {
    const h = (gpuSeconds[p.gpu] as number) / 3600;
    gpuHours += h;
    cost += h * p.cost;
  }
  const e2e: number[] = [];
  const ttft: number[] = [];
  const waits: number[] = [];
  let measured = 0;
  let within = 0;
  const servedByType: Record<string, number> = Object.fromEntries(profiles.map((p) => [p.gpu, 0]));
  const missedByMinute = new Array<number>(Math.ceil(trace.durationMs / 60_000)).fill(0);
  for (let k = 0; k < n; k++) {
    const req = reqs[k] as LoopRequest;
    if (req.at < windowStart || req.at >= windowEnd) continue;
    measured++;
    const by = replicas[servedBy[k] as number];
    if (by !== undefined) servedByType[by.gpu] = (servedByType[by.gpu] as number) + 1;
    const e = ((finishAt[k] as number) - req.at) / 1000;
    const f = ((firstAt[k] as number) - req.at) / 1000;
    e2e.push(Number.isFinite(e) ? e : Infinity);
    ttft.push(Number.isFinite(f) ? f : Infinity);
    waits.push(((routedAt[k] as number) - req.at) / 1000);
    if (e < slo.e2e && (slo.ttft === undefined || f < slo.ttft)) within++;
    else {
      const m = Math.floor((req.at - windowStart) / 60_000);
      missedByMinute[m] = (missedByMinute[m] as number) + 1;
    }
  }
  return {
    requests: measured,
    withinSlo: within,
    attainment: measured > 0 ? within / measured : 1,
    e2eP50: percentile(e2e, 50),
    e2eP99: percentile(e2e, 99),
    ttftP99: percentile(ttft, 99),
    gatewayWaitP99: percentile(waits, 99),
    gpuSeconds,
    servedByType,
    gpuHours,
    cost,
    plannedCost,
    planChanges,
    scaleEvents,
    replicasStarted: started,
    replicasStopped: stopped,
    peakReplicas: peak,
    solves: solveMs.length,
    solveMsP99: solveMs.length > 0 ? percentile(solveMs, 99) : 0,
    missedByMinute,
    timeline,
  };
}

/** The bounds a request is held to: the profile's SLO (`slos`); unbounded where it names none. */
export function sloOf(p: ServingProfile): { e2e: number; ttft?: number } {
  const e2e = p.slos?.e2e;
  const ttft = p.slos?.ttft;
  return { e2e: e2e !== undefined && e2e > 0 ? e2e : Number.POSITIVE_INFINITY, ...(ttft !== undefined && ttft > 0 && { ttft }) };
}
