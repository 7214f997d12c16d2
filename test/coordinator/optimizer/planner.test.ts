import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { DecayedLoadMonitor } from '../../../src/coordinator/optimizer/load-monitor.js';
import { Planner, type PlannerSettings, type ProfileEntry, remapUnservable, type SolveFn } from '../../../src/coordinator/optimizer/planner.js';
import { loadConfig } from '../../../src/common/config/load-config.js';
import { plannerSettings } from '../../../src/coordinator/optimizer/setup.js';
import { solvePlan } from '../../../src/coordinator/optimizer/solver.js';
import type { PlanProblem, PlanSolution, ProfileGrid, ServingProfile } from '../../../src/coordinator/optimizer/types.js';

const GRID: ProfileGrid = { outputs: [8, 128], inputs: [256, 2048] };
const T0 = 1_700_000_000_000;
const WINDOW = 120_000;

const profile = (gpu: string, cost: number, tputs: number[], grid = GRID, model = 'llama'): ProfileEntry => ({
  profile: { gpu, model, cost, grid, tputs: Float64Array.from(tputs) } satisfies ServingProfile,
  warnings: [],
  source: `${gpu}.json`,
});

const settings = (over: Partial<PlannerSettings> = {}): PlannerSettings => ({
  model: 'split',
  intervalMs: 10_000,
  scaleDownWindowMs: WINDOW,
  timeLimitMs: 5000,
  headroom: 1,
  switchingCostPercent: 0,
  available: {},
  minimums: {},
  namespace: 'default',
  debounceMs: 200,
  ...over,
});

/** A solver seam answering what the test says, within the caps it is given (infeasible beyond them). */
function scripted(): { solve: SolveFn; want: Record<string, number>; problems: PlanProblem[]; calls: number } {
  const state = {
    want: {} as Record<string, number>,
    problems: [] as PlanProblem[],
    calls: 0,
    solve: async (p: PlanProblem, o: { signal?: AbortSignal }): Promise<PlanSolution> => {
      state.calls++;
      state.problems.push(p);
      await Promise.resolve();
      if (o.signal?.aborted) throw new Error('aborted');
      const counts: Record<string, number> = {};
      for (const t of p.types) {
        const n = state.want[t.name] ?? 0;
        if (t.max !== undefined && n > t.max) return { status: 'infeasible', counts: {}, cost: 0, split: [], solveMs: 1, message: `the availability caps (${t.name}=${t.max}) cannot carry ${p.load.rate} req/s` };
        counts[t.name] = Math.max(n, t.min ?? 0);
      }
      return { status: 'optimal', counts, cost: p.types.reduce((a, t) => a + t.cost * (counts[t.name] ?? 0), 0), split: [], solveMs: 1 };
    },
  };
  return state;
}

function setup(over: Partial<PlannerSettings> = {}, reported?: Map<string, number>) {
  const monitor = new DecayedLoadMonitor();
  const s = scripted();
  let now = T0;
  const planner = new Planner({ settings: settings(over), load: monitor, solve: s.solve, now: () => now, ...(reported !== undefined && { reportedGpus: () => reported }) });
  planner.setProfiles('llama', [profile('a10', 0.3, [10, 2, 3, 0.5]), profile('l20', 1, [30, 8, 10, 2])]);
  const load = (rps: number, seconds: number): void => {
    for (let k = 0; k < rps * seconds; k++) monitor.record('llama', 256, 8, now - seconds * 1000 + (k * 1000) / rps);
  };
  /** Moves the clock to `t` (ms after T0), ticks, and waits for the round it started. */
  const at = async (t: number): Promise<void> => {
    now = T0 + t;
    planner.tick(now);
    await planner.idle();
  };
  const replicas = (name: string) => planner.deployment('default', name)?.replicas;
  return { monitor, planner, s, load, at, replicas, setNow: (t: number) => (now = T0 + t) };
}

// x: cost 1, 10 req/s; y: cost 1.02, 10.3 req/s. At 29.9 req/s 3 x (3.00) beats 2 x + 1 y (3.02);
// at 30.2 req/s 3 x no longer carry it.
const NEAR_EQUAL_GRID: ProfileGrid = { outputs: [8], inputs: [256] };
/** Plan changes while the rate steps through `rates`, one re-solve each (HiGHS). */
async function mixChanges(over: Partial<PlannerSettings>, rates: readonly number[]): Promise<{ changes: number; last: string }> {
  let now = T0;
  let rate = rates[0] as number;
  const load = { gridLoad: (_m: string, g: ProfileGrid) => ({ grid: g, rate, shares: Float64Array.of(1), clamped: 0, observed: 100 }), rates: () => [rate, rate] as [number, number], models: () => ['m'] };
  const planner = new Planner({ settings: settings({ scaleDownWindowMs: 0, ...over }), load, solve: solvePlan, now: () => now });
  planner.setProfiles('m', [profile('x', 1, [10], NEAR_EQUAL_GRID, 'm'), profile('y', 1.02, [10.3], NEAR_EQUAL_GRID, 'm')]);
  let changes = 0;
  let last = '';
  for (let k = 0; k < rates.length; k++) {
    rate = rates[k] as number;
    now = T0 + k * 10_000;
    planner.tick(now);
    await planner.idle();
    const mix = planner.deployments().map((d) => `${d.name}=${d.replicas}`).join(',');
    if (last !== '' && mix !== last) changes++;
    last = mix;
  }
  planner.dispose();
  return { changes, last };
}
/** The rate swinging across the tie, eight re-solves. */
const SWINGING = [29.9, 30.2, 29.9, 30.2, 29.9, 30.2, 29.9, 30.2];

describe('Planner', () => {
  it('asks for the minimums when there is no load at all, without solving, once a window has passed since the start', async () => {
    const f = setup({ minimums: { l20: 1 } });
    await f.at(0);
    expect(f.s.calls).toBe(0);
    // Just started: the monitor is empty, not the cluster; no count yet rather than the minimum.
    expect([f.replicas('a10'), f.replicas('l20')]).toEqual([undefined, undefined]);
    expect(f.planner.modelResults()[0]).toMatchObject({ model: 'llama', status: 'minimums', message: expect.stringMatching(/no load seen since the start/) });
    await f.at(WINDOW);
    expect(f.s.calls).toBe(0);
    expect(f.replicas('a10')).toBe(0);
    expect(f.replicas('l20')).toBe(1);
    expect(f.planner.modelResults()[0]).toMatchObject({ status: 'minimums', message: 'no load: every deployment at its minimum' });
  });

  it('does not wait for the window when load arrives just after the start', async () => {
    const f = setup();
    await f.at(0);
    f.load(5, 10);
    f.s.want = { a10: 2, l20: 1 };
    await f.at(10_000);
    expect([f.replicas('a10'), f.replicas('l20')]).toEqual([2, 1]);
  });

  it('scales up at once and down only after the lower count was asked for a whole window', async () => {
    const f = setup();
    f.load(5, 10);
    f.s.want = { a10: 4, l20: 0 };
    await f.at(0);
    expect(f.replicas('a10')).toBe(4);
    f.s.want = { a10: 6, l20: 0 };
    await f.at(10_000);
    expect(f.replicas('a10')).toBe(6); // up: at once
    f.s.want = { a10: 3, l20: 0 };
    await f.at(20_000);
    expect(f.replicas('a10')).toBe(6); // down: waits
    expect(f.planner.deployment('default', 'a10')).toMatchObject({ target: 3, scaleDownAt: T0 + 20_000 + WINDOW });
    f.s.want = { a10: 4, l20: 0 };
    await f.at(60_000);
    expect(f.replicas('a10')).toBe(6); // still lower than 6: the window runs on, now towards 4
    await f.at(20_000 + WINDOW - 1);
    expect(f.replicas('a10')).toBe(6);
    await f.at(20_000 + WINDOW);
    expect(f.replicas('a10')).toBe(4); // the highest count asked during the window
    // A higher ask during a pending scale-down cancels it.
    f.s.want = { a10: 2, l20: 0 };
    await f.at(150_000);
    f.s.want = { a10: 5, l20: 0 };
    await f.at(160_000);
    expect(f.replicas('a10')).toBe(5);
    expect(f.planner.deployment('default', 'a10')?.scaleDownAt).toBeUndefined();
  });

  it('keeps the previous plan and says why when the solve is infeasible', async () => {
    const f = setup({ available: { a10: 4 } });
    f.load(5, 10);
    f.s.want = { a10: 3, l20: 1 };
    await f.at(0);
    f.s.want = { a10: 9, l20: 1 };
    await f.at(10_000);
    expect(f.replicas('a10')).toBe(3);
    const r = f.planner.modelResults()[0]!;
    expect(r.status).toBe('infeasible');
    expect(r.message).toMatch(/a10=4/);
    expect(r.target).toEqual({ a10: 3, l20: 1 });
  });

  it('keeps the previous plan when the solver throws, and on a time limit without a plan', async () => {
    const f = setup();
    f.load(5, 10);
    f.s.want = { a10: 2, l20: 0 };
    await f.at(0);
    const solve = f.s.solve;
    f.s.solve = async () => Promise.reject(new Error('HiGHS fell over'));
    // The planner holds the seam it was given: swap through the object it calls.
    (f.planner as unknown as { opts: { solve: SolveFn } }).opts.solve = f.s.solve;
    await f.at(10_000);
    expect(f.replicas('a10')).toBe(2);
    expect(f.planner.modelResults()[0]).toMatchObject({ status: 'error', message: 'HiGHS fell over', target: { a10: 2, l20: 0 } });
    (f.planner as unknown as { opts: { solve: SolveFn } }).opts.solve = async () => ({ status: 'time-limit', counts: {}, cost: 0, split: [], solveMs: 5000, message: 'time limit of 5000 ms reached before any plan was found' });
    await f.at(20_000);
    expect(f.replicas('a10')).toBe(2);
    expect(f.planner.modelResults()[0]).toMatchObject({ status: 'time-limit', target: { a10: 2, l20: 0 } });
    void solve;
  });

  it('never exceeds the availability caps: flag, agents\' reports, and a cap that drops mid-window', async () => {
    const reported = new Map([['a10', 4], ['l20', 2]]);
    const f = setup({}, reported);
    f.load(5, 10);
    f.s.want = { a10: 4, l20: 2 };
    await f.at(0);
    expect(f.s.problems.at(-1)!.types.map((t) => [t.name, t.max])).toEqual([['a10', 4], ['l20', 2]]);
    expect([f.replicas('a10'), f.replicas('l20')]).toEqual([4, 2]);
    // A node with two A10s leaves: the cap drops, and the plan follows at once (no window for GPUs that are gone).
    reported.set('a10', 2);
    f.planner.markDirty('availability');
    f.s.want = { a10: 2, l20: 2 };
    await f.at(300);
    expect(f.replicas('a10')).toBe(2);
    // Random asks and caps: the count in force never passes the cap the round saw.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % (n + 1));
    for (let k = 1; k <= 60; k++) {
      const cap = rnd(6);
      reported.set('a10', cap);
      f.planner.markDirty('availability');
      f.s.want = { a10: rnd(6), l20: rnd(2) };
      await f.at(1000 + k * 1000);
      expect(f.replicas('a10')!).toBeLessThanOrEqual(cap);
      expect(f.replicas('l20')!).toBeLessThanOrEqual(2);
    }
  });

  it('solves within --optimizer.available and the total cap', async () => {
    const f = setup({ available: { l20: 1 }, totalMax: 5 });
    f.load(5, 10);
    f.s.want = { a10: 2, l20: 1 };
    await f.at(0);
    const p = f.s.problems.at(-1)!;
    expect(p.types.find((t) => t.name === 'l20')!.max).toBe(1);
    expect(p.types.find((t) => t.name === 'a10')!.max).toBeUndefined();
    expect(p.totalMax).toBe(5);
    expect(f.planner.modelResults()[0]!.binding).toContain('l20: availability cap 1 reached');
  });

  it('aborts a solve when profiles change mid-solve and restarts after the debounce; never blocks reads', async () => {
    const f = setup();
    f.load(5, 10);
    let release!: () => void;
    let started = 0;
    let aborted = 0;
    (f.planner as unknown as { opts: { solve: SolveFn } }).opts.solve = (p, o) =>
      new Promise((resolve, reject) => {
        started++;
        o.signal?.addEventListener('abort', () => {
          aborted++;
          reject(new Error('aborted'));
        });
        release = () => resolve({ status: 'optimal', counts: Object.fromEntries(p.types.map((t) => [t.name, 1])), cost: 1.3, split: [], solveMs: 1 });
      });
    f.setNow(0);
    f.planner.tick(T0);
    expect(started).toBe(1);
    expect(f.planner.deployments().map((d) => d.replicas)).toEqual([undefined, undefined]); // reads answer meanwhile
    f.planner.setProfiles('llama', [profile('l20', 0.9, [30, 8, 10, 2])]);
    await Promise.resolve();
    expect(aborted).toBe(1);
    await f.planner.idle();
    expect(f.planner.modelResults()).toEqual([]); // the aborted round committed nothing
    f.planner.tick(T0 + 100);
    expect(started).toBe(1); // debounced
    f.planner.tick(T0 + 200);
    expect(started).toBe(2);
    release();
    await f.planner.idle();
    expect([f.replicas('a10'), f.replicas('l20')]).toEqual([1, 1]);
    expect(f.planner.profiles()[0]!.entries.find((e) => e.profile.gpu === 'l20')!.profile.cost).toBe(0.9);
  });

  it('re-solves when the load changes, debounced, without waiting for the interval', async () => {
    const f = setup();
    f.load(2, 10);
    f.s.want = { a10: 1, l20: 0 };
    await f.at(0);
    const calls = f.s.calls;
    await f.at(1000);
    expect(f.s.calls).toBe(calls); // nothing changed, the interval has not passed
    f.setNow(1500);
    f.load(50, 1);
    await f.at(1500);
    await f.at(1700);
    expect(f.s.calls).toBe(calls + 1);
  });

  it('refuses profiles whose grid differs from the model\'s, naming both', () => {
    const f = setup();
    const other = profile('h100', 2, [1, 1, 1, 1, 1, 1], { outputs: [8, 128], inputs: [256, 1024, 2048] });
    let err: unknown;
    try {
      f.planner.setProfiles('llama', [other]);
    } catch (e) {
      err = e;
    }
    expect(isBrixletError(err, 'BRX_ERR_OPTIMIZER_GRID_MISMATCH')).toBe(true);
    expect((err as Error).message).toMatch(/h100.*a10|a10.*h100/);
    expect(f.planner.profiles()[0]!.entries.map((e) => e.profile.gpu)).toEqual(['a10', 'l20']);
  });

  it('leaves a deployment with no profile as it is, and names a loaded model without profiles', async () => {
    const f = setup();
    f.planner.setDeployments([
      { namespace: 'prod', name: 'llama-a10', gpu: 'a10', replicas: 2 },
      { namespace: 'prod', name: 'llama-h100', gpu: 'h100', replicas: 3 },
      { namespace: 'prod', name: 'mistral-l20', model: 'mistral', gpu: 'l20', replicas: 2 },
    ]);
    f.load(5, 10);
    f.monitor.record('mistral', 100, 100, T0);
    f.s.want = { a10: 1 };
    await f.at(0);
    const byName = Object.fromEntries(f.planner.deployments().map((d) => [d.name, d]));
    expect(byName['llama-a10']).toMatchObject({ model: 'llama', replicas: 2, target: 1 }); // scale-down waits
    expect(byName['llama-h100']).toMatchObject({ replicas: 3, unplanned: 'no profile for GPU type h100: left as it is' });
    expect(byName['mistral-l20']).toMatchObject({ replicas: 2, unplanned: expect.stringMatching(/no profile for model mistral/) });
    expect(f.planner.unprofiled(T0).map((u) => u.model)).toEqual(['mistral']);
  });

  it('makes no deployments from the profiles while they come from Kubernetes', async () => {
    const f = setup({ deploymentsFromProfiles: false });
    expect(f.planner.deployments()).toEqual([]);
    f.planner.setDeployments([{ namespace: 'llm', name: 'llama-a10', model: 'llama', gpu: 'a10', replicas: 2 }]);
    expect(f.planner.deployments().map((d) => d.key)).toEqual(['llm/llama-a10']);
    expect(setup().planner.deployments().map((d) => d.key)).toEqual(['default/a10', 'default/l20']);
  });

  it('stops flapping between near-equal mixes with the switching cost (HiGHS)', async () => {
    // x: cost 1, 10 req/s; y: cost 1.02, 10.3 req/s. At 29.9 req/s 3 x (3.00) beats 2 x + 1 y (3.02);
    // at 30.2 req/s 3 x no longer carry it and 2 x + 1 y is cheapest. Without a switching cost the
    // plan swaps a GPU type every time the rate crosses 30.
    expect((await mixChanges({ switchingCostPercent: 0 }, SWINGING)).changes).toBe(7);
    expect((await mixChanges({ switchingCostPercent: 50 }, SWINGING)).changes).toBeLessThanOrEqual(1);
  }, 60_000);
});

describe('Planner hysteresis for mixes, never stuck', () => {
  it('the add cost keeps the mix in force when load swings across a tie (HiGHS)', async () => {
    expect((await mixChanges({}, SWINGING)).changes).toBe(7);
    expect((await mixChanges({ addCostPercent: 50 }, SWINGING)).changes).toBeLessThanOrEqual(1);
  }, 60_000);

  it('the add cost does not hold GPUs when the load drops, where a symmetric switching cost does (HiGHS)', async () => {
    // 30 req/s needs 3 x; at 10 req/s 1 x carries it. Removing 2 x at 150 % each costs more than keeping them.
    expect((await mixChanges({ switchingCostPercent: 150 }, [30, 10, 10])).last).toBe('x=3,y=0');
    expect((await mixChanges({ addCostPercent: 150 }, [30, 10, 10])).last).toBe('x=1,y=0');
  }, 60_000);

  it('the plan gate keeps the mix in force while it carries the load and the new one is not cheaper by more than the gate (HiGHS)', async () => {
    expect((await mixChanges({ planGatePercent: 10 }, SWINGING)).changes).toBeLessThanOrEqual(1);
    // The load outgrows the mix in force: the new plan replaces it at once.
    expect((await mixChanges({ planGatePercent: 10 }, [29.9, 45])).last).toBe('x=5,y=0');
    // Much cheaper (load dropped by half): replaced.
    expect((await mixChanges({ planGatePercent: 10 }, [29.9, 15])).last).toBe('x=2,y=0');
  }, 60_000);

  it('explains why the plan gate kept the plan in force', async () => {
    let now = T0;
    let rate = 30.2;
    const load = { gridLoad: (_m: string, g: ProfileGrid) => ({ grid: g, rate, shares: Float64Array.of(1), clamped: 0, observed: 100 }), rates: () => [rate, rate] as [number, number], models: () => ['m'] };
    const planner = new Planner({ settings: settings({ scaleDownWindowMs: 0, planGatePercent: 10 }), load, solve: solvePlan, now: () => now });
    planner.setProfiles('m', [profile('x', 1, [10], NEAR_EQUAL_GRID, 'm'), profile('y', 1.02, [10.3], NEAR_EQUAL_GRID, 'm')]);
    planner.tick(now);
    await planner.idle();
    rate = 29.9;
    now += 10_000;
    planner.tick(now);
    await planner.idle();
    const r = planner.modelResults()[0];
    expect(r?.target).toEqual({ x: 2, y: 1 });
    expect(r?.held).toMatch(/plan in force \(x=2, y=1\) still carries the load; the new mix \(x=3, y=0\) is 0\.7 % cheaper, not more than 10 %/);
    planner.dispose();
  }, 60_000);

  it('plans a loaded cell no GPU type can serve as the nearest cell one can, instead of keeping the old plan for good', async () => {
    // Cell output 128 × input 2048 has throughput 0 on both types (AIBrix #1014/#1713: the whole plan was infeasible).
    const monitor = new DecayedLoadMonitor();
    let now = T0;
    const planner = new Planner({ settings: settings(), load: monitor, solve: solvePlan, now: () => now });
    planner.setProfiles('llama', [profile('a10', 0.3, [10, 2, 3, 0]), profile('l20', 1, [30, 8, 10, 0])]);
    for (let k = 0; k < 300; k++) monitor.record('llama', 2048, 128, now - 30_000 + k * 100);
    planner.tick(now);
    await planner.idle();
    const r = planner.modelResults()[0];
    expect(r?.status).toBe('optimal');
    // Nearest in log2: output 128 × input 256 (3 units away) rather than output 8 × input 2048 (4).
    expect(r?.remapped).toEqual(['cell output 128 × input 2048: no GPU type meets the SLO; planned as output 128 × input 256']);
    expect(r?.split.map((c) => c.cell)).toEqual([2]);
    expect(Object.values(r?.target ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    now += 1000;
    planner.dispose();
  }, 60_000);

  it('plans with the add cost and the plan gate by default (--optimizer.add-cost 100, --optimizer.plan-gate 10), no symmetric switching cost', () => {
    const o = loadConfig({ env: {}, flags: {} }).config.optimizer;
    expect(plannerSettings(o, 'default')).toMatchObject({ switchingCostPercent: 0, addCostPercent: 100, planGatePercent: 10 });
    const set = loadConfig({ env: {}, flags: { 'optimizer.addCost': '0', 'optimizer.planGate': '25' } }).config.optimizer;
    expect(plannerSettings(set, 'default')).toMatchObject({ addCostPercent: 0, planGatePercent: 25 });
  });

  it('remapUnservable: a tie goes to the cell with more tokens; nothing moves when no cell is servable', () => {
    const g: ProfileGrid = { outputs: [8, 32, 128], inputs: [256] };
    const t = (tputs: number[]) => ({ name: 'a', cost: 1, tputs: Float64Array.from(tputs) });
    const load = { grid: g, rate: 5, shares: Float64Array.of(0, 1, 0), clamped: 0, observed: 10 };
    const { load: out, remapped } = remapUnservable(load, [t([4, 0, 1])]);
    expect(Array.from(out.shares)).toEqual([0, 0, 1]);
    expect(remapped).toEqual(['cell output 32 × input 256: no GPU type meets the SLO; planned as output 128 × input 256']);
    // A type capped at 0 serves nothing.
    expect(remapUnservable(load, [{ ...t([4, 0, 1]), max: 0 }]).remapped).toEqual([]);
    expect(remapUnservable(load, [t([4, 1, 1])]).load).toBe(load);
  });
});
