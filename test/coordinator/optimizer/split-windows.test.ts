import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/common/seeded-random.js';
import { buildModel, buildSplitArrays } from '../../../src/coordinator/optimizer/model.js';
import { HighsRunner, solveWith, SPLIT_OPTIONS, splitStrategy } from '../../../src/coordinator/optimizer/solver.js';
import { planObjective, typeBounds, windows } from '../../../src/coordinator/optimizer/split-windows.js';
import type { PlanProblem, PlanSolution, PlanType } from '../../../src/coordinator/optimizer/types.js';

/**
 * A random split problem: 2-6 GPU types over 4-24 cells, some zero throughputs, and (each with some
 * chance) caps, minimums, a current plan with a switching and an add cost, a total cap, headroom
 * and 1/10-GPU units.
 */
function instance(seed: number): PlanProblem {
  const r = seededRandom(seed * 7717 + 3);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const outputs = [4, 16, 64, 256].slice(0, pick([1, 2, 3, 4]));
  const inputs = [128, 256, 512, 1024, 2048, 4096].slice(0, pick([4, 5, 6]));
  const cells = outputs.length * inputs.length;
  const shares = Float64Array.from({ length: cells }, () => (r() < 0.15 ? 0 : 0.05 + r()));
  shares[0] = 0.5;
  const sum = shares.reduce((a, b) => a + b, 0);
  for (let b = 0; b < cells; b++) shares[b] = (shares[b] as number) / sum;
  const switching = r() < 0.4;
  const types: PlanType[] = Array.from({ length: pick([2, 3, 4, 5, 6]) }, (_, j) => {
    const speed = 0.5 + 2 * r();
    const tputs = Float64Array.from({ length: cells }, (_, b) => (j > 0 && r() < 0.1 ? 0 : speed * 40 * 2 ** (-b / cells) * (0.7 + 0.6 * r())));
    const max = r() < 0.3 ? Math.floor(r() * 12) : undefined;
    const min = r() < 0.2 ? Math.min(max ?? 3, Math.floor(r() * 4)) : undefined;
    const current = switching ? Math.floor(r() * 8) : undefined;
    return {
      name: `t${j}`,
      cost: Math.round(speed * (0.6 + 0.8 * r()) * 100) / 100,
      tputs,
      ...(max === undefined ? {} : { max }),
      ...(min === undefined ? {} : { min }),
      ...(current === undefined ? {} : { current }),
    };
  });
  return {
    grid: { outputs, inputs },
    types,
    load: { rate: 20 + r() * 200, shares },
    model: 'split',
    gpuFraction: pick([1, 1, 1, 10]),
    headroom: pick([1, 0.9, 0.8]),
    ...(switching ? { switchingCost: Math.round(r() * 30) / 100, ...(r() < 0.5 ? { addCost: Math.round(r() * 50) / 100 } : {}) } : {}),
    ...(r() < 0.2 ? { totalMax: 5 + Math.floor(r() * 40) } : {}),
    timeLimitMs: 20_000,
  };
}

/** Counts within min, max and totalMax; the split's load on each type fits ρ × its GPUs. */
function checkPlan(p: PlanProblem, sol: PlanSolution): void {
  const f = p.gpuFraction ?? 1;
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
      load.set(name, (load.get(name) ?? 0) + (z * (p.load.shares[cell] as number) * p.load.rate * f) / (t.tputs[cell] as number));
    }
  }
  for (const [name, l] of load) expect(l).toBeLessThanOrEqual((p.headroom ?? 1) * (sol.counts[name] as number) + 1e-5);
}

const runner = new HighsRunner();
afterAll(async () => {
  splitStrategy.mode = 'window';
  await runner.close();
});

describe('the split model in count windows', () => {
  it('has the optimum of the whole model as LP text (the previous path) on 300 random instances', async () => {
    let optimal = 0;
    let narrowed = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const p = instance(seed);
      const where = `seed ${seed}`;
      const bounds = typeBounds(p);
      if (bounds !== undefined && windows(p, bounds, 0.001 * Math.abs(bounds.base)).some((w) => Number.isFinite(w.outside))) narrowed++;
      const sol = await solveWith(runner, p);
      const prepared = buildModel(p);
      if (!('built' in prepared)) {
        expect(sol.status, where).toBe('infeasible');
        continue;
      }
      const whole = await runner.run(prepared.built.lp, 20_000, undefined, SPLIT_OPTIONS);
      if (whole.status !== 'Optimal') {
        expect(sol.status, where).toBe('infeasible');
        expect(sol.message, where).toBeTruthy();
        continue;
      }
      optimal++;
      expect(sol.status, where).toBe('optimal');
      expect(planObjective(p, sol.counts), where).toBeCloseTo(whole.objective as number, 6);
      checkPlan(p, sol);
    }
    expect(optimal).toBeGreaterThanOrEqual(200);
    expect(narrowed).toBeGreaterThanOrEqual(200);
  }, 300_000);

  it('the model arrays and the LP text have the same optimum without windows', async () => {
    splitStrategy.mode = 'none';
    try {
      for (let seed = 301; seed <= 340; seed++) {
        const p = instance(seed);
        const sol = await solveWith(runner, p);
        const prepared = buildModel(p);
        const whole = 'built' in prepared ? await runner.run(prepared.built.lp, 20_000, undefined, SPLIT_OPTIONS) : undefined;
        if (whole?.status === 'Optimal') expect(planObjective(p, sol.counts), `seed ${seed}`).toBeCloseTo(whole.objective as number, 6);
        else expect(sol.status, `seed ${seed}`).toBe('infeasible');
      }
    } finally {
      splitStrategy.mode = 'window';
    }
  }, 120_000);

  it('never bounds above a plan: every count of every type, solved with that count pinned', async () => {
    splitStrategy.mode = 'none';
    let checked = 0;
    try {
      for (let seed = 401; seed <= 440; seed++) {
        const p = instance(seed);
        const bounds = typeBounds(p);
        if (bounds === undefined || 'solution' in buildSplitArrays(p)) continue;
        for (const [j, t] of p.types.entries()) {
          const a = bounds.argmin[j] as number;
          for (let y = t.min ?? 0; y <= Math.min(t.max ?? Infinity, a + 3); y++) {
            const pinned = { ...p, types: p.types.map((u, i) => (i === j ? { ...u, min: y, max: y } : u)) };
            const sol = await solveWith(runner, pinned);
            if (sol.status !== 'optimal') continue;
            const cost = planObjective(p, sol.counts);
            const where = `seed ${seed} type ${j} y ${y}`;
            expect(bounds.base, where).toBeLessThanOrEqual(cost + 1e-7);
            expect((bounds.at[j] as (y: number) => number)(y), where).toBeLessThanOrEqual(cost + 1e-7);
            expect((bounds.below[j] as (k: number) => number)(y), where).toBeLessThanOrEqual(cost + 1e-7);
            if (y > (t.min ?? 0)) expect(bounds.plus[j], where).toBeLessThanOrEqual(cost + 1e-7);
            checked++;
          }
        }
      }
    } finally {
      splitStrategy.mode = 'window';
    }
    expect(checked).toBeGreaterThan(300);
  }, 300_000);

  it('an infeasible problem still says which constraint', async () => {
    const flat = (v: number) => Float64Array.from([v]);
    const p: PlanProblem = {
      grid: { outputs: [8], inputs: [256] },
      load: { rate: 100, shares: flat(1) },
      model: 'split',
      types: [
        { name: 'a', cost: 1, tputs: flat(10), max: 2 },
        { name: 'b', cost: 2, tputs: flat(20), max: 1 },
        { name: 'c', cost: 3, tputs: flat(30), max: 1 },
      ],
    };
    const sol = await solveWith(runner, p);
    expect(sol.status).toBe('infeasible');
    expect(sol.message).toMatch(/availability caps \(a=2, b=1, c=1\)/);
  });
});
