// The planner's counters as Prometheus metrics, scraped after real rounds: solves per model and
// status (HiGHS), the plan gate's decisions (held, cheaper, outgrown) and solves cancelled by a change.
import { describe, expect, it } from 'vitest';
import { createOptimizerMetrics } from '../../../src/coordinator/optimizer/metrics.js';
import { Planner, type PlannerSettings, type ProfileEntry, type SolveFn } from '../../../src/coordinator/optimizer/planner.js';
import { solvePlan } from '../../../src/coordinator/optimizer/solver.js';
import type { ProfileGrid } from '../../../src/coordinator/optimizer/types.js';
import { testMetrics } from '../../helpers/apps.js';
import { intolerable, promtoolLint, promtoolSkipNote, havePromtool } from '../../helpers/promtool.js';

const T0 = 1_700_000_000_000;
const GRID: ProfileGrid = { outputs: [8], inputs: [256] };

const profile = (gpu: string, cost: number, tput: number): ProfileEntry => ({ profile: { gpu, model: 'm', cost, grid: GRID, tputs: Float64Array.of(tput) }, warnings: [], source: `${gpu}.json` });

const settings: PlannerSettings = {
  model: 'split',
  intervalMs: 10_000,
  scaleDownWindowMs: 0,
  timeLimitMs: 5000,
  headroom: 1,
  switchingCostPercent: 0,
  planGatePercent: 10,
  available: {},
  minimums: {},
  namespace: 'default',
  debounceMs: 200,
};

/** A planner wired to fresh metrics as setup.ts wires it, on a load whose rate the test sets. */
function wired(solve: SolveFn) {
  const metrics = testMetrics();
  const om = createOptimizerMetrics(metrics);
  const state = { rate: 0, now: T0 };
  const load = { gridLoad: (_m: string, g: ProfileGrid) => ({ grid: g, rate: state.rate, shares: Float64Array.of(1), clamped: 0, observed: 100 }), rates: () => [state.rate, state.rate] as [number, number], models: () => ['m'] };
  const planner = new Planner({
    settings,
    load,
    solve,
    now: () => state.now,
    onSolve: (status, ms, model) => om.solved(status, ms, model),
    onCancel: (reason) => om.cancelled(reason),
    onGate: (model, result) => om.gated(model, result),
  });
  // x: cost 1, 10 req/s; y: cost 1.02, 10.3 req/s — near-equal mixes around 30 req/s.
  planner.setProfiles('m', [profile('x', 1, 10), profile('y', 1.02, 10.3)]);
  const round = async (rate: number): Promise<void> => {
    state.rate = rate;
    planner.tick(state.now);
    await planner.idle();
    state.now += 10_000;
  };
  return { metrics, planner, round, state };
}

describe('optimizer planner metrics', () => {
  it('counts solves per model and the plan gate\'s decisions (HiGHS)', async () => {
    const w = wired(solvePlan);
    await w.round(30.2); // x=2, y=1
    await w.round(29.9); // 3 x is 0.7 % cheaper: held
    await w.round(45); // the plan in force no longer carries it: outgrown
    await w.round(15); // half the GPUs: cheaper
    w.planner.dispose();
    const text = await w.metrics.render();
    expect(text).toContain('brixlet_optimizer_solves_total{model="m",status="optimal"} 4\n');
    // The other outcomes exist from the model's first solve on, at 0 (increase() then sees the first one).
    expect(text).toContain('brixlet_optimizer_solves_total{model="m",status="infeasible"} 0\n');
    expect(text).toContain('brixlet_optimizer_plan_gate_total{model="m",result="held"} 1\n');
    expect(text).toContain('brixlet_optimizer_plan_gate_total{model="m",result="outgrown"} 1\n');
    expect(text).toContain('brixlet_optimizer_plan_gate_total{model="m",result="cheaper"} 1\n');
  }, 60_000);

  it('passes promtool' + promtoolSkipNote, async () => {
    if (!havePromtool) return;
    const metrics = testMetrics();
    const om = createOptimizerMetrics(metrics);
    om.solved('time-limit', 12, 'm');
    om.cancelled('load');
    om.gated('m', 'held');
    om.scaled({ namespace: 'llm', name: 'a10', outcome: 'error', desired: 2, code: 'BRX_ERR_KUBE_CONFLICT', conflicts: 1 });
    const lint = promtoolLint(await metrics.render());
    expect(lint.status === 0 || lint.status === 3).toBe(true);
    expect(intolerable(lint.findings).filter((f) => f.name.startsWith('brixlet_optimizer_'))).toEqual([]);
  });

  it('counts a solve aborted by a change, by what changed', async () => {
    let release: (() => void) | undefined;
    const waiting: SolveFn = (p, o) =>
      new Promise((resolve, reject) => {
        o.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        release = () => resolve({ status: 'optimal', counts: Object.fromEntries(p.types.map((t) => [t.name, 1])), cost: 2.02, split: [], solveMs: 1 });
      });
    const w = wired(waiting);
    w.state.rate = 20;
    w.planner.tick(T0);
    w.planner.setProfiles('m', [profile('x', 0.9, 10)]);
    await w.planner.idle();
    w.planner.tick(T0 + 200);
    w.planner.markDirty('availability');
    await w.planner.idle();
    w.planner.tick(T0 + 400);
    release?.();
    await w.planner.idle();
    w.planner.dispose();
    const text = await w.metrics.render();
    expect(text).toContain('brixlet_optimizer_solve_cancellations_total{reason="profiles"} 1\n');
    expect(text).toContain('brixlet_optimizer_solve_cancellations_total{reason="availability"} 1\n');
    expect(text).toContain('brixlet_optimizer_solves_total{model="m",status="optimal"} 1\n');
  });
});
