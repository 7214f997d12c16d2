import { afterAll, describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { seededRandom } from '../../../src/common/seeded-random.js';
import { HighsRunner, solveWith, SPLIT_OPTIONS } from '../../../src/coordinator/optimizer/solver.js';
import type { PlanProblem, PlanSolution, PlanType } from '../../../src/coordinator/optimizer/types.js';

/** A small random instance: 2-3 types, 1-3 loaded cells, at most 8 slices, some caps and zeros. */
function instance(seed: number): PlanProblem {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const grid = { outputs: [4, 16], inputs: [128, 512, 2048] };
  const cells = 6;
  const nTypes = pick([2, 2, 3]);
  const loaded = new Set<number>();
  const nLoaded = pick([1, 2, 3]);
  while (loaded.size < nLoaded) loaded.add(Math.floor(r() * cells));
  const sliceFactor = Math.max(1, Math.min(pick([1, 2, 3, 4]), Math.floor(8 / nLoaded)));
  const shares = new Float64Array(cells);
  for (const b of loaded) shares[b] = 0.2 + r();
  const total = shares.reduce((a, b) => a + b, 0);
  for (let b = 0; b < cells; b++) shares[b] = (shares[b] as number) / total;
  const types: PlanType[] = Array.from({ length: nTypes }, (_, j) => {
    const tputs = Float64Array.from({ length: cells }, () => (r() < 0.2 ? 0 : 0.5 + r() * 20));
    const max = r() < 0.3 ? Math.floor(r() * 6) : undefined;
    const min = r() < 0.2 ? Math.min(max ?? 2, Math.floor(r() * 3)) : undefined;
    return { name: `gpu-${j} "x"`, cost: Math.round((0.1 + r() * 2) * 100) / 100, tputs, ...(max === undefined ? {} : { max }), ...(min === undefined ? {} : { min }) };
  });
  return {
    grid,
    types,
    load: { rate: 1 + r() * 40, shares },
    model: 'slice',
    sliceFactor,
    gpuFraction: pick([1, 1, 1, 10]),
    headroom: pick([1, 0.9, 0.8]),
    ...(r() < 0.3 ? { totalMax: 2 + Math.floor(r() * 10) } : {}),
  };
}

/** Exhaustive: every slice → type assignment (T > 0), y_j = max(min_j, ceil(load_j / ρ)) units within the caps. */
function bruteForce(p: PlanProblem): number | undefined {
  const f = p.gpuFraction ?? 1;
  const s = p.sliceFactor ?? 4;
  const rho = p.headroom ?? 1;
  const slices: { cell: number; rate: number }[] = [];
  p.load.shares.forEach((w, b) => {
    if (w > 0) for (let k = 0; k < s; k++) slices.push({ cell: b, rate: (w * p.load.rate * f) / s });
  });
  let best: number | undefined;
  const load = p.types.map(() => 0);
  const visit = (k: number): void => {
    if (k === slices.length) {
      let cost = 0;
      let units = 0;
      for (const [j, t] of p.types.entries()) {
        const y = Math.max(t.min ?? 0, Math.ceil((load[j] as number) / rho - 1e-7));
        if (y > (t.max ?? Infinity)) return;
        units += y;
        cost += (t.cost * y) / f;
      }
      if (units > (p.totalMax ?? Infinity)) return;
      if (best === undefined || cost < best) best = cost;
      return;
    }
    const slice = slices[k] as { cell: number; rate: number };
    for (const [j, t] of p.types.entries()) {
      const tput = t.tputs[slice.cell] as number;
      if (tput <= 0) continue;
      load[j] = (load[j] as number) + slice.rate / tput;
      visit(k + 1);
      load[j] = (load[j] as number) - slice.rate / tput;
    }
  };
  visit(0);
  return best;
}

/** The plan honours min, max and totalMax, and the split it returns fits the GPUs it buys. */
function checkPlan(p: PlanProblem, sol: PlanSolution): void {
  const f = p.gpuFraction ?? 1;
  const rho = p.headroom ?? 1;
  let units = 0;
  for (const t of p.types) {
    const y = sol.counts[t.name] as number;
    expect(y).toBeGreaterThanOrEqual(t.min ?? 0);
    expect(y).toBeLessThanOrEqual(t.max ?? Infinity);
    units += y;
  }
  expect(units).toBeLessThanOrEqual(p.totalMax ?? Infinity);
  const load = new Map<string, number>();
  for (const { cell, shares } of sol.split) {
    expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    for (const [name, z] of Object.entries(shares)) {
      const t = p.types.find((x) => x.name === name) as PlanType;
      expect(t.tputs[cell]).toBeGreaterThan(0);
      load.set(name, (load.get(name) ?? 0) + (z * (p.load.shares[cell] as number) * p.load.rate * f) / (t.tputs[cell] as number));
    }
  }
  for (const [name, l] of load) expect(l).toBeLessThanOrEqual(rho * (sol.counts[name] as number) + 1e-5);
}

const runner = new HighsRunner();
afterAll(() => runner.close());

describe('the slice model against brute force', () => {
  it('agrees on 300 seeded random instances (at least 200 feasible), and split never costs more', async () => {
    let feasible = 0;
    let cheaperSplit = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const p = instance(seed);
      const exact = bruteForce(p);
      const slice = await solveWith(runner, p);
      const split = await solveWith(runner, { ...p, model: 'split' });
      const where = `seed ${seed}`;
      if (exact === undefined) {
        expect(slice.status, where).toBe('infeasible');
        expect(slice.message, where).toBeTruthy();
      } else {
        feasible++;
        expect(slice.status, where).toBe('optimal');
        expect(slice.cost, where).toBeCloseTo(exact, 6);
        checkPlan(p, slice);
        expect(split.status, where).toBe('optimal');
        expect(split.cost, where).toBeLessThanOrEqual(slice.cost + 1e-9);
        if (split.cost < slice.cost - 1e-9) cheaperSplit++;
        checkPlan(p, split);
      }
    }
    expect(feasible).toBeGreaterThanOrEqual(200);
    expect(cheaperSplit).toBeGreaterThan(0);
  }, 120_000);
});

const flat = (tput: number) => Float64Array.from({ length: 1 }, () => tput);
const one = { grid: { outputs: [8], inputs: [256] }, load: { rate: 30, shares: flat(1) } } as const;

describe('switching cost', () => {
  // Both types need 3 GPUs for 30 req/s; a is 1% cheaper; the cluster runs 3 b today.
  const types = (): PlanType[] => [
    { name: 'a', cost: 1.0, tputs: flat(10), current: 0 },
    { name: 'b', cost: 1.01, tputs: flat(10), current: 3 },
  ];
  it('with μ = 0 the cheaper mix wins', async () => {
    const sol = await solveWith(runner, { ...one, types: types(), model: 'split' });
    expect(sol.counts).toEqual({ a: 3, b: 0 });
  });
  it.each(['split', 'slice'] as const)('with μ > 0 a near-equal mix does not replace the current one (%s)', async (model) => {
    const sol = await solveWith(runner, { ...one, types: types(), model, switchingCost: 0.1 });
    expect(sol.counts).toEqual({ a: 0, b: 3 });
    expect(sol.cost).toBeCloseTo(3.03, 9);
  });
});

describe('infeasible plans say why', () => {
  const grid = { outputs: [8, 512], inputs: [256] };
  const shares = Float64Array.from([0.5, 0.5]);
  it('names the loaded cell no profile can serve, without solving', async () => {
    const sol = await solveWith(runner, { grid, load: { rate: 10, shares }, model: 'slice', types: [{ name: 'a100', cost: 1, tputs: Float64Array.from([5, 0]) }] });
    expect(sol).toMatchObject({ status: 'infeasible', counts: {}, solveMs: 0 });
    expect(sol.message).toContain('output 512 × input 256');
  });
  it('names the cell whose only able type is capped at 0', async () => {
    const types = [{ name: 'a100', cost: 1, tputs: Float64Array.from([5, 0]) }, { name: 'a40', cost: 1, tputs: Float64Array.from([5, 1]), max: 0 }];
    const sol = await solveWith(runner, { grid, load: { rate: 10, shares }, model: 'split', types });
    expect(sol.status).toBe('infeasible');
    expect(sol.message).toMatch(/output 512 × input 256: the types that can \(a40\) are capped at 0/);
  });
  it('blames totalMax when the caps alone would do', async () => {
    const sol = await solveWith(runner, { ...one, model: 'split', totalMax: 2, types: [{ name: 'a', cost: 1, tputs: flat(10) }] });
    expect(sol.status).toBe('infeasible');
    expect(sol.message).toMatch(/totalMax 2 is below what 30 req\/s needs \(3 GPUs/);
  });
  it('blames the availability caps when they cannot carry the load', async () => {
    const sol = await solveWith(runner, { ...one, model: 'slice', totalMax: 10, types: [{ name: 'a', cost: 1, tputs: flat(10), max: 2 }] });
    expect(sol.status).toBe('infeasible');
    expect(sol.message).toMatch(/availability caps \(a=2\)/);
  });
  it('rejects a bad problem with BRX_ERR_OPTIMIZER_PROBLEM', async () => {
    const err = await solveWith(runner, { ...one, model: 'split', types: [{ name: 'a', cost: 1, tputs: flat(10), min: 3, max: 2 }] }).catch((e: unknown) => e);
    expect(isBrixletError(err, 'BRX_ERR_OPTIMIZER_PROBLEM')).toBe(true);
  });
});

/** Big enough that HiGHS cannot finish it in the time the tests give it: 8 types × 160 cells × 64 slices. */
function hugeSlice(timeLimitMs: number): PlanProblem {
  const r = seededRandom(7);
  const grid = { outputs: Array.from({ length: 16 }, (_, k) => 2 ** (k + 1)), inputs: Array.from({ length: 10 }, (_, k) => 2 ** (k + 4)) };
  const cells = 160;
  const shares = Float64Array.from({ length: cells }, () => r());
  const sum = shares.reduce((a, b) => a + b, 0);
  for (let b = 0; b < cells; b++) shares[b] = (shares[b] as number) / sum;
  const types = Array.from({ length: 8 }, (_, j) => ({ name: `t${j}`, cost: 0.5 + r(), tputs: Float64Array.from({ length: cells }, () => 0.5 + r() * 30) }));
  return { grid, types, load: { rate: 500, shares }, model: 'slice', sliceFactor: 64, timeLimitMs };
}

describe('abort and time limits', () => {
  it('an abort mid-solve rejects with an AbortError and the next solve still works', async () => {
    const ac = new AbortController();
    const pending = solveWith(runner, hugeSlice(60_000), { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const err = (await pending.catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('AbortError');
    expect(isBrixletError(err, 'BRX_ERR_OPTIMIZER_ABORTED')).toBe(true);
    const next = await solveWith(runner, { ...one, model: 'split', types: [{ name: 'a', cost: 1, tputs: flat(10) }] });
    expect(next.counts).toEqual({ a: 3 });
  }, 60_000);

  it('an already aborted signal rejects at once', async () => {
    const err = (await solveWith(runner, { ...one, model: 'split', types: [{ name: 'a', cost: 1, tputs: flat(10) }] }, { signal: AbortSignal.abort() }).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('AbortError');
  });

  it('a time limit answers time-limit (with the incumbent, or no plan) and never hangs', async () => {
    const sol = await solveWith(runner, hugeSlice(300));
    expect(sol.status).toBe('time-limit');
    if (Object.keys(sol.counts).length > 0) expect(sol.cost).toBeGreaterThan(0);
    else expect(sol.message).toMatch(/time limit/);
  }, 60_000);

  it('the watchdog replaces a worker that overruns its limit', async () => {
    const strict = new HighsRunner(() => 0);
    try {
      const sol = await strict.run('Minimize\n obj: x\nSubject To\n c: x >= 1\nEnd\n', 1);
      // Either HiGHS answered within 1 ms or the watchdog stopped it; both end the call.
      expect(['Optimal', 'watchdog']).toContain(sol.status);
      const big = await solveWith(strict, hugeSlice(1));
      expect(big.status).toBe('time-limit');
      expect(strict.replaced).toBeGreaterThan(0);
    } finally {
      await strict.close();
    }
  }, 60_000);
});

describe('HiGHS options', () => {
  it('reach HiGHS with each solve (an unknown one is an error, the split options solve)', async () => {
    const lp = 'Minimize\n obj: x\nSubject To\n c: x >= 1.5\nGenerals\n x\nEnd\n';
    const bad = await runner.run(lp, 5_000, undefined, { no_such_highs_option: 1 });
    expect(bad.error).toMatch(/no_such_highs_option/);
    const good = await runner.run(lp, 5_000, undefined, SPLIT_OPTIONS);
    expect(good.status).toBe('Optimal');
    expect(good.objective).toBe(2);
  });
});
