import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { bestSingle, bruteSlice, bruteSplit, costComparisons, exactness } from '../../../bench/optimizer/comparisons.js';
import { HighsRunner } from '../../../src/coordinator/optimizer/solver.js';
import type { PlanProblem } from '../../../src/coordinator/optimizer/types.js';

// One cell at 10 req/s; a: 8 req/s per GPU at 1, b: 2 req/s per GPU at 0.3.
// Split: one a + one b carry 8 + 2 (1.3). Slice s = 4 (2.5 req/s each): b alone, 5 GPUs (1.5).
const problem: PlanProblem = {
  grid: { outputs: [16], inputs: [128] },
  types: [
    { name: 'a', cost: 1, tputs: Float64Array.from([8]) },
    { name: 'b', cost: 0.3, tputs: Float64Array.from([2]) },
  ],
  load: { rate: 10, shares: Float64Array.from([1]) },
  model: 'slice',
  sliceFactor: 4,
};

const runner = new HighsRunner();
afterAll(() => runner.close());

describe('the optimizer bench cost checks', () => {
  it('brute-forces the slice and split models and the best single type', async () => {
    const highs = await (createRequire(import.meta.url)('highs') as () => Promise<Parameters<typeof bruteSplit>[1]>)();
    expect(bruteSlice(problem)).toBeCloseTo(1.5, 9);
    expect(bruteSplit({ ...problem, model: 'split' }, highs)).toBeCloseTo(1.3, 9);
    expect(bruteSplit({ ...problem, model: 'split', types: [problem.types[0]!, { ...problem.types[1]!, max: 0 }] }, highs)).toBeCloseTo(2, 9);
    expect(bruteSplit({ ...problem, model: 'split', totalMax: 1 }, highs)).toBeUndefined();
    expect(bestSingle(problem)).toBeCloseTo(1.5, 9);
  });

  it('agrees with the optimizer on seeded small instances', async () => {
    const r = await exactness(runner, 15);
    expect(r.instances).toBe(30);
    expect(r.differ).toBe(0);
    expect(r.feasible).toBeGreaterThan(10);
  }, 60_000);

  it('reports the savings against AIBrix pipeline and the best single type', async () => {
    const { rows, targets } = await costComparisons(runner, [{ name: 'one cell', problem }]);
    // Pipeline: in 1/100 units a slice costs 0.3125 on a and 0.375 on b, so all four go to a:
    // 125 units, rounded up to 2 GPUs (2.0). Split 1.3 saves 35 %; against b alone (1.5), 13.3 %.
    const split = rows.find((r) => r.case.startsWith('saving of the split plan against AIBrix'));
    expect(split?.brixlet.median).toBeCloseTo(35, 6);
    expect(rows.find((r) => r.case.startsWith('saving of the slice plan (s = 4, whole GPUs) against AIBrix'))?.brixlet.median).toBeCloseTo(25, 6);
    expect(rows.find((r) => r.case.startsWith('saving of the split plan against the best single'))?.brixlet.median).toBeCloseTo((100 * 0.2) / 1.5, 6);
    expect(targets.every((t) => t.met)).toBe(true);
  }, 60_000);
});
