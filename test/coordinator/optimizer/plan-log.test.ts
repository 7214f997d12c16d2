// Each new GPU plan is logged once at info: counts per type, cost, rate and the dominant request
// shapes with their split; a re-solve that ends where the last one did logs nothing.
import { describe, expect, it } from 'vitest';
import { PlanLog, planLogLine, watchPlans } from '../../../src/coordinator/optimizer/plan-log.js';
import type { ModelResult } from '../../../src/coordinator/optimizer/planner.js';
import type { ProfileGrid } from '../../../src/coordinator/optimizer/types.js';

const GRID: ProfileGrid = { outputs: [16, 32], inputs: [128, 2048] };

function result(over: Partial<ModelResult> & { shares: number[] }): ModelResult {
  const { shares, ...rest } = over;
  return {
    model: 'llama',
    status: 'optimal',
    at: 0,
    grid: GRID,
    load: { grid: GRID, rate: 4.25, shares: Float64Array.from(shares), clamped: 0, observed: 10 },
    target: { a10: 1, l20: 0 },
    cost: 0.75,
    solveMs: 3,
    split: [],
    binding: [],
    caps: {},
    ...rest,
  };
}

function fake() {
  const lines: [Record<string, unknown>, string][] = [];
  const state = { at: undefined as number | undefined, results: [] as ModelResult[] };
  const planLog = new PlanLog(
    { get planAt() { return state.at; }, modelResults: () => state.results },
    { info: ((obj: Record<string, unknown>, msg: string) => lines.push([obj, msg])) as never },
  );
  const commit = (at: number, ...results: ModelResult[]): void => {
    state.at = at;
    state.results = results;
    planLog.check();
  };
  return { lines, commit, planLog };
}

describe('plan log', () => {
  it('says the counts, cost, rate and the dominant cells with their split, largest share first', () => {
    const line = planLogLine(result({ shares: [0.05, 0.25, 0, 0.7], target: { a10: 0, l20: 2 }, cost: 2.4, split: [{ cell: 3, shares: { l20: 1 } }, { cell: 1, shares: { a10: 0.25, l20: 0.75 } }] }));
    expect(line).toEqual({
      model: 'llama',
      status: 'optimal',
      gpus: { a10: 0, l20: 2 },
      cost: 2.4,
      rate: 4.25,
      cells: ['out 32 × in 2048: 70 % → l20 100 %', 'out 16 × in 2048: 25 % → l20 75 %, a10 25 %'],
    });
  });

  it('logs nothing for a failed solve or a model with no deployment', () => {
    expect(planLogLine(result({ shares: [1, 0, 0, 0], status: 'infeasible' }))).toBeUndefined();
    expect(planLogLine(result({ shares: [1, 0, 0, 0], status: 'no-deployment', target: {} }))).toBeUndefined();
  });

  it('logs a plan once, and again only when its counts or dominant cells change', () => {
    const f = fake();
    f.commit(1, result({ shares: [1, 0, 0, 0] }));
    f.planLog.check(); // the same round again
    f.commit(2, result({ shares: [0.9, 0, 0.1, 0] })); // same counts, but a second cell passes 10 % of the load
    f.commit(3, result({ shares: [0.85, 0, 0.15, 0] })); // shares move, same counts and cells
    f.commit(4, result({ shares: [0.2, 0, 0, 0.8], target: { a10: 0, l20: 1 }, cost: 1.2 }));
    expect(f.lines.map(([o, msg]) => [msg, o.gpus, o.cells])).toEqual([
      ['new GPU plan', { a10: 1, l20: 0 }, ['out 16 × in 128: 100 %']],
      ['new GPU plan', { a10: 1, l20: 0 }, ['out 16 × in 128: 90 %', 'out 32 × in 128: 10 %']],
      ['new GPU plan', { a10: 0, l20: 1 }, ['out 32 × in 2048: 80 %', 'out 16 × in 128: 20 %']],
    ]);
  });

  it('keeps each model apart', () => {
    const f = fake();
    f.commit(1, result({ shares: [1, 0, 0, 0] }), result({ model: 'qwen', shares: [0, 0, 0, 1] }));
    f.commit(2, result({ shares: [1, 0, 0, 0] }), result({ model: 'qwen', shares: [0, 0, 0, 1], target: { a10: 0, l20: 3 } }));
    expect(f.lines.map(([o]) => [o.model, o.gpus])).toEqual([
      ['llama', { a10: 1, l20: 0 }],
      ['qwen', { a10: 1, l20: 0 }],
      ['qwen', { a10: 0, l20: 3 }],
    ]);
  });

  it('logs the plan a solve made right after the round commits, not at the next poll', async () => {
    const lines: string[] = [];
    const state = { at: undefined as number | undefined, results: [] as ModelResult[] };
    const w = watchPlans({ get planAt() { return state.at; }, modelResults: () => state.results }, { info: ((_: object, msg: string) => lines.push(msg)) as never }, 3_600_000);
    try {
      w.soon(); // the solve's callback comes before the round commits
      state.at = 1;
      state.results = [result({ shares: [1, 0, 0, 0] })];
      await new Promise((r) => setImmediate(r));
      expect(lines).toEqual(['new GPU plan']);
    } finally {
      w.dispose();
    }
  });
});
