// routing-optimizer.md §1.3: AIBrix's two simulator profiles, the worked solve, every row and column.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProfile } from '../../../src/coordinator/optimizer/profiles.js';
import { problemFromProfiles } from '../../../src/coordinator/optimizer/problem.js';
import { aibrixPipeline, HighsRunner, solveWith } from '../../../src/coordinator/optimizer/solver.js';
import { parseWorkload } from '../../../src/coordinator/optimizer/workload.js';
import { repoRoot } from '../../helpers/repo.js';

const dir = join(process.env.BRIXLET_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata'), 'profiles');
const A100 = join(dir, 'simulator-llama2-7b-a100.json');
const A40 = join(dir, 'simulator-llama2-7b-a40.json');
const have = existsSync(A100) && existsSync(A40);

// [A100 price, A40 price, rate], AIBrix units, AIBrix GPUs + cost, f = 1 s = 4 GPUs + cost, s = 32 cost, split cost.
const ROWS = [
  { prices: [1.0, 0.3], rate: 20, units: [0, 429], aibrix: [0, 5, 1.5], s4: [0, 5, 1.5], s32: 1.5, split: 1.5 },
  { prices: [1.0, 0.3], rate: 60, units: [0, 1286], aibrix: [0, 13, 3.9], s4: [0, 13, 3.9], s32: 3.9, split: 3.9 },
  { prices: [0.5, 0.3], rate: 20, units: [79, 288], aibrix: [1, 3, 1.4], s4: [1, 3, 1.4], s32: 1.4, split: 1.4 },
  { prices: [0.5, 0.3], rate: 60, units: [236, 864], aibrix: [3, 9, 4.2], s4: [0, 13, 3.9], s32: 3.9, split: 3.9 },
  { prices: [0.4, 0.3], rate: 60, units: [236, 864], aibrix: [3, 9, 3.9], s4: [4, 7, 3.7], s32: 3.6, split: 3.6 },
] as const;

describe.skipIf(!have)(`the worked example of routing-optimizer.md §1.3${have ? '' : ` (SKIPPED: ${dir} not found; set BRIXLET_TESTDATA)`}`, () => {
  const runner = new HighsRunner();
  afterAll(() => runner.close());
  const profiles = have ? [parseProfile(readFileSync(A100, 'utf8'), 'a100').profile, parseProfile(readFileSync(A40, 'utf8'), 'a40').profile] : [];
  const [a100, a40] = profiles.map((p) => p.gpu) as [string, string];
  const problem = (rate: number, prices: readonly number[], sliceFactor: number) => {
    const grid = profiles[0]!.grid;
    const load = parseWorkload(JSON.stringify({ rate, cells: [{ output: 8, input: 256, share: 0.5 }, { output: 64, input: 1024, share: 0.3 }, { output: 128, input: 2048, share: 0.2 }] }), grid);
    return problemFromProfiles(profiles, load, { model: 'slice', cost: { [a100]: prices[0]!, [a40]: prices[1]! }, extra: { sliceFactor } });
  };

  it.each(ROWS)('prices $prices, Λ = $rate: AIBrix pipeline $aibrix, integer solve s = 4 $s4, s = 32 $s32, split $split', async (row) => {
    const aibrix = await aibrixPipeline(problem(row.rate, row.prices, 4), { runner });
    expect(aibrix.status).toBe('optimal');
    expect(aibrix.units).toEqual({ [a100]: row.units[0], [a40]: row.units[1] });
    expect(aibrix.counts).toEqual({ [a100]: row.aibrix[0], [a40]: row.aibrix[1] });
    expect(aibrix.cost).toBeCloseTo(row.aibrix[2], 9);

    const s4 = await solveWith(runner, problem(row.rate, row.prices, 4));
    expect(s4.status).toBe('optimal');
    expect(s4.counts).toEqual({ [a100]: row.s4[0], [a40]: row.s4[1] });
    expect(s4.cost).toBeCloseTo(row.s4[2], 9);

    const s32 = await solveWith(runner, problem(row.rate, row.prices, 32));
    expect(s32.status).toBe('optimal');
    expect(s32.cost).toBeCloseTo(row.s32, 9);

    const split = await solveWith(runner, { ...problem(row.rate, row.prices, 4), model: 'split' });
    expect(split.status).toBe('optimal');
    expect(split.cost).toBeCloseTo(row.split, 9);
  });
});
