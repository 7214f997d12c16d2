// Explaining the split (GET /v1/optimizer/explain → split): the planner solves with HiGHS, and each
// loaded cell's shares are explained — the cheapest type per unit of load takes it unless a cap, a
// floor, whole GPUs or the plan gate binds; a type with throughput 0 is infeasible there.
import { describe, expect, it } from 'vitest';
import { Planner, type PlannerSettings, type ProfileEntry } from '../../../src/coordinator/optimizer/planner.js';
import { solvePlan } from '../../../src/coordinator/optimizer/solver.js';
import { explainSplit } from '../../../src/coordinator/optimizer/split-explain.js';
import type { ProfileGrid } from '../../../src/coordinator/optimizer/types.js';

const T0 = 1_700_000_000_000;
const ONE: ProfileGrid = { outputs: [8], inputs: [256] };
const TWO: ProfileGrid = { outputs: [8], inputs: [256, 2048] };

const profile = (gpu: string, cost: number, tputs: number[], grid: ProfileGrid): ProfileEntry => ({
  profile: { gpu, model: 'm', cost, grid, tputs: Float64Array.from(tputs) },
  warnings: [],
  source: `${gpu}.json`,
});

const settings = (over: Partial<PlannerSettings>): PlannerSettings => ({
  model: 'split',
  intervalMs: 10_000,
  scaleDownWindowMs: 0,
  timeLimitMs: 5000,
  headroom: 1,
  switchingCostPercent: 0,
  available: {},
  minimums: {},
  namespace: 'default',
  ...over,
});

/** Plans `rate` req/s spread over the grid's cells by `shares` (HiGHS), once per entry of `rates`; returns the last round's result. */
async function planned(entries: ProfileEntry[], grid: ProfileGrid, shares: number[], rates: number[], over: Partial<PlannerSettings> = {}) {
  let rate = rates[0] as number;
  let now = T0;
  const load = { gridLoad: (_m: string, g: ProfileGrid) => ({ grid: g, rate, shares: Float64Array.from(shares), clamped: 0, observed: 100 }), rates: () => [rate, rate] as [number, number], models: () => ['m'] };
  const planner = new Planner({ settings: settings(over), load, solve: solvePlan, now: () => now });
  planner.setProfiles('m', entries);
  for (const r of rates) {
    rate = r;
    planner.tick(now);
    await planner.idle();
    now += 10_000;
  }
  planner.dispose();
  return planner.modelResults()[0]!;
}

const byGpu = <T extends { gpu: string }>(xs: readonly T[]): Record<string, T> => Object.fromEntries(xs.map((x) => [x.gpu, x]));

describe('explainSplit (HiGHS)', () => {
  it('the cheapest type per unit of load takes the whole cell; the dearer one is named with its cost per req/s', async () => {
    const r = await planned([profile('x', 1, [10], ONE), profile('y', 3, [10], ONE)], ONE, [1], [25]);
    expect(r.target).toEqual({ x: 3, y: 0 });
    const ex = explainSplit(r);
    expect(ex.cells).toHaveLength(1);
    const cell = ex.cells[0]!;
    expect(cell).toMatchObject({ output: 8, input: 256, rate: 25, binding: null });
    const t = byGpu(cell.types);
    expect(t.x).toMatchObject({ share: 1, throughput: 10, costPerRps: 0.1, decision: 'cheapest', why: 'cheapest per unit of load (0.100 per req/s)' });
    expect(t.y).toMatchObject({ share: 0, costPerRps: 0.3, decision: 'dearer', why: '0.300 per req/s, dearer than x (0.100)' });
    expect(byGpu(ex.types).x).toMatchObject({ gpus: 3, cap: null, min: 0, load: 2.5, spare: 0.5 });
  }, 30_000);

  it('a cap on the cheapest type sends the rest to the next one, and names the cap as binding', async () => {
    const r = await planned([profile('x', 1, [10], ONE), profile('y', 3, [10], ONE)], ONE, [1], [25], { available: { x: 2 } });
    expect(r.target).toEqual({ x: 2, y: 1 });
    const cell = explainSplit(r).cells[0]!;
    expect(cell.binding).toBe('x\'s availability cap (2)');
    const t = byGpu(cell.types);
    expect(t.x).toMatchObject({ share: 0.8, decision: 'cheapest', why: 'cheapest per unit of load (0.100 per req/s); at its availability cap 2, so it takes 80.0 %' });
    expect(t.y).toMatchObject({ share: 0.2, decision: 'overflow', why: '0.300 per req/s against 0.100: x is cheaper per unit (0.100) but at its availability cap 2' });
  }, 30_000);

  it('a type with throughput 0 for a shape is infeasible there, whatever it costs', async () => {
    const r = await planned([profile('x', 1, [10, 0], TWO), profile('y', 3, [10, 5], TWO)], TWO, [0.5, 0.5], [20]);
    const ex = explainSplit(r);
    expect(ex.cells.map((c) => c.input)).toEqual([256, 2048]);
    const long = byGpu(ex.cells[1]!.types);
    expect(long.x).toMatchObject({ share: 0, throughput: 0, costPerRps: null, decision: 'infeasible', why: 'throughput 0: cannot serve this shape within the SLO at any rate' });
    expect(long.y).toMatchObject({ share: 1, decision: 'cheapest' });
    expect(ex.cells[1]!.binding).toBeNull();
  }, 30_000);

  it('a floor on a dearer type: its GPUs run anyway and take a share', async () => {
    const r = await planned([profile('x', 1, [10], ONE), profile('y', 3, [10], ONE)], ONE, [1], [25], { minimums: { y: 1 } });
    expect(r.target).toEqual({ x: 2, y: 1 });
    const cell = explainSplit(r).cells[0]!;
    expect(cell.binding).toBe('y\'s minimum (1)');
    expect(byGpu(cell.types).y).toMatchObject({ decision: 'overflow', why: expect.stringMatching(/y is held at its minimum 1: those GPUs run anyway/) });
  }, 30_000);

  it('a cheaper type with no GPU in the plan is unused while a dearer one\'s floor carries the cell', async () => {
    const r = await planned([profile('x', 1, [10], ONE), profile('y', 3, [10], ONE)], ONE, [1], [25], { minimums: { y: 3 } });
    expect(r.target).toEqual({ x: 0, y: 3 });
    const cell = explainSplit(r).cells[0]!;
    expect(cell.binding).toBe('y\'s minimum (3)');
    const t = byGpu(cell.types);
    expect(t.x).toMatchObject({ share: 0, decision: 'unused', why: 'cheaper per unit (0.100 per req/s); the plan has none of its GPUs, and one would cost more than the room on the types that take the cell' });
    expect(t.y).toMatchObject({ share: 1, decision: 'overflow' });
  }, 30_000);

  it('whole GPUs: a dearer type per unit takes the remainder when one of its GPUs costs less than another of the cheapest', async () => {
    // x: 0.100 per req/s, y: 0.120. 25 req/s: 3 x cost 3.0; 2 x + 1 y cost 2.6.
    const r = await planned([profile('x', 1, [10], ONE), profile('y', 0.6, [5], ONE)], ONE, [1], [25]);
    expect(r.target).toEqual({ x: 2, y: 1 });
    const cell = explainSplit(r).cells[0]!;
    expect(cell.binding).toBe('whole GPUs');
    expect(byGpu(cell.types).y).toMatchObject({ share: 0.2, decision: 'overflow', why: expect.stringMatching(/whole GPUs: x's 2 GPUs are full/) });
  }, 30_000);

  it('the plan gate: the mix in force stays and carries the share', async () => {
    // x: cost 1, 10 req/s (0.100 per req/s); y: cost 1.02, 10.3 req/s (0.0990). 30.2 req/s needs x=2, y=1;
    // at 29.9 3 x is 0.7 % cheaper, within a 10 % gate: x keeps the share y, cheaper per unit, has no room for.
    const r = await planned([profile('x', 1, [10], ONE), profile('y', 1.02, [10.3], ONE)], ONE, [1], [30.2, 29.9], { planGatePercent: 10 });
    expect(r.held).toBeDefined();
    const cell = explainSplit(r).cells[0]!;
    expect(cell.binding).toBe('plan gate');
    expect(r.target).toEqual({ x: 2, y: 1 });
    expect(byGpu(cell.types).y).toMatchObject({ decision: 'cheapest' });
    expect(byGpu(cell.types).x).toMatchObject({ decision: 'overflow', why: '0.100 per req/s against 0.0990: the plan in force stays (plan gate), and its x GPUs carry this share' });
  }, 30_000);

  it('explains nothing without load (minimums, no split)', async () => {
    const r = await planned([profile('x', 1, [10], ONE)], ONE, [1], [0]);
    expect(explainSplit(r)).toEqual({ types: [], cells: [] });
  }, 30_000);
});
