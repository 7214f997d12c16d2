/**
 * The cost side of `npm run bench:optimizer`:
 *
 * - exactness: small seeded instances (2-3 GPU types, 1-3 loaded cells of 6, at most 8 slices,
 *   some caps, minimums, totals, 1/10-GPU units and headroom) solved by brute force and by the
 *   optimizer. The slice model by enumerating every slice → type assignment; the split model by
 *   listing every count vector y up to what carrying all the load would need, cheapest first, and
 *   taking the first one whose shares fit — each checked by an LP written here, independently of
 *   model.ts. The counts that differ by more than 1e-6 are the target.
 * - costs: per solve-time instance, the split and slice plans (whole GPUs) against AIBrix's
 *   pipeline (slice s = 4 in 1/100 units, then each deployment's ceil, aibrixPipeline) and against
 *   the cheapest single GPU type that serves every loaded cell (ceil of its load). The savings are
 *   rows (percent of the other plan's cost: median, min, max over the instances); a plan above the
 *   pipeline's cost is a target (whole-GPU slice ≤ pipeline always holds in exact arithmetic: the
 *   pipeline's assignment with its counts rounded up is a whole-GPU slice plan).
 */
import { createRequire } from 'node:module';
import { seededRandom } from '../../src/common/seeded-random.js';
import { aibrixPipeline, type HighsRunner, solveWith } from '../../src/coordinator/optimizer/solver.js';
import type { PlanProblem, PlanType } from '../../src/coordinator/optimizer/types.js';
import { row, type Row, target, type Target } from '../lib/report.js';

interface Highs {
  solve(lp: string, options: Record<string, unknown>): { Status: string };
}

/** A small seeded instance for brute force. */
export function smallInstance(seed: number): PlanProblem {
  const r = seededRandom(seed * 104729 + 17);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const grid = { outputs: [4, 16], inputs: [128, 512, 2048] };
  const cells = 6;
  const loaded = new Set<number>();
  const nLoaded = pick([1, 2, 3]);
  while (loaded.size < nLoaded) loaded.add(Math.floor(r() * cells));
  const shares = new Float64Array(cells);
  for (const b of loaded) shares[b] = 0.2 + r();
  const total = shares.reduce((a, b) => a + b, 0);
  for (let b = 0; b < cells; b++) shares[b] = (shares[b] as number) / total;
  const types: PlanType[] = Array.from({ length: pick([2, 2, 3]) }, (_, j) => {
    const tputs = Float64Array.from({ length: cells }, () => (r() < 0.2 ? 0 : 0.5 + r() * 20));
    const max = r() < 0.3 ? Math.floor(r() * 6) : undefined;
    const min = r() < 0.2 ? Math.min(max ?? 2, Math.floor(r() * 3)) : undefined;
    return { name: `g${j}`, cost: Math.round((0.1 + r() * 2) * 100) / 100, tputs, ...(max === undefined ? {} : { max }), ...(min === undefined ? {} : { min }) };
  });
  return {
    grid,
    types,
    load: { rate: 1 + r() * 30, shares },
    model: 'slice',
    sliceFactor: Math.max(1, Math.min(pick([1, 2, 3, 4]), Math.floor(8 / nLoaded))),
    gpuFraction: pick([1, 1, 1, 10]),
    headroom: pick([1, 0.9, 0.8]),
    ...(r() < 0.3 ? { totalMax: 2 + Math.floor(r() * 10) } : {}),
  };
}

/** Per loaded cell: its rate in units and, per type, the units one request/s of it takes (undefined: cannot). */
function loads(p: PlanProblem): { cell: number; rate: number; per: (number | undefined)[] }[] {
  const f = p.gpuFraction ?? 1;
  const out: { cell: number; rate: number; per: (number | undefined)[] }[] = [];
  p.load.shares.forEach((w, b) => {
    if (!(w > 0) || !(p.load.rate > 0)) return;
    out.push({ cell: b, rate: w * p.load.rate * f, per: p.types.map((t) => ((t.tputs[b] as number) > 0 && t.max !== 0 ? 1 / (t.tputs[b] as number) : undefined)) });
  });
  return out;
}

/** Cheapest counts for given per-type loads, within min, max and totalMax; undefined if none. */
function countsFor(p: PlanProblem, load: readonly number[]): number | undefined {
  const f = p.gpuFraction ?? 1;
  const rho = p.headroom ?? 1;
  let cost = 0;
  let units = 0;
  for (const [j, t] of p.types.entries()) {
    const y = Math.max(t.min ?? 0, Math.ceil((load[j] as number) / rho - 1e-7));
    if (y > (t.max ?? Infinity)) return undefined;
    units += y;
    cost += (t.cost * y) / f;
  }
  return units > (p.totalMax ?? Infinity) ? undefined : cost;
}

/** The slice model by brute force: every slice → type assignment. */
export function bruteSlice(p: PlanProblem): number | undefined {
  const s = p.sliceFactor ?? 4;
  const slices = loads(p).flatMap((c) => Array.from({ length: s }, () => ({ ...c, rate: c.rate / s })));
  const load = p.types.map(() => 0);
  let best: number | undefined;
  const visit = (k: number): void => {
    if (k === slices.length) {
      const cost = countsFor(p, load);
      if (cost !== undefined && (best === undefined || cost < best)) best = cost;
      return;
    }
    const slice = slices[k]!;
    slice.per.forEach((per, j) => {
      if (per === undefined) return;
      load[j] = (load[j] as number) + slice.rate * per;
      visit(k + 1);
      load[j] = (load[j] as number) - slice.rate * per;
    });
  };
  visit(0);
  return best;
}

/** The split model by brute force: count vectors cheapest first, the first whose shares fit (an LP). */
export function bruteSplit(p: PlanProblem, highs: Highs): number | undefined {
  const f = p.gpuFraction ?? 1;
  const rho = p.headroom ?? 1;
  const cells = loads(p);
  // Above what carrying every cell it can serve needs, a type's extra GPUs carry nothing.
  const top = p.types.map((t, j) => {
    const all = cells.reduce((a, c) => a + (c.per[j] === undefined ? 0 : c.rate * (c.per[j] as number)), 0);
    return Math.min(t.max ?? Infinity, Math.max(t.min ?? 0, Math.ceil(all / rho)));
  });
  const vectors: { y: number[]; cost: number }[] = [];
  const y: number[] = [];
  const walk = (j: number): void => {
    if (j === p.types.length) {
      if (y.reduce((a, b) => a + b, 0) <= (p.totalMax ?? Infinity)) vectors.push({ y: [...y], cost: p.types.reduce((a, t, k) => a + (t.cost * (y[k] as number)) / f, 0) });
      return;
    }
    for (let v = p.types[j]!.min ?? 0; v <= (top[j] as number); v++) {
      y.push(v);
      walk(j + 1);
      y.pop();
    }
  };
  walk(0);
  vectors.sort((a, b) => a.cost - b.cost);
  if (cells.some((c) => c.per.every((per) => per === undefined))) return undefined;
  const first = cells[0]?.per.findIndex((per) => per !== undefined);
  for (const { y: counts, cost } of vectors) {
    if (first === undefined) return cost;
    const rows: string[] = [];
    cells.forEach((c, b) => rows.push(` one${b}: ${c.per.flatMap((per, j) => (per === undefined ? [] : [`+ z${b}_${j}`])).join(' ')} = 1`));
    p.types.forEach((_, j) => {
      const terms = cells.flatMap((c, b) => (c.per[j] === undefined ? [] : [`+ ${c.rate * (c.per[j] as number)} z${b}_${j}`]));
      if (terms.length > 0) rows.push(` cap${j}: ${terms.join(' ')} <= ${rho * (counts[j] as number)}`);
    });
    const lp = ['Minimize', ` obj: 0 z0_${first}`, 'Subject To', ...rows, 'End', ''].join('\n');
    if (highs.solve(lp, { output_flag: false }).Status === 'Optimal') return cost;
  }
  return undefined;
}

export interface Exactness {
  readonly instances: number;
  readonly feasible: number;
  readonly differ: number;
}

/** Brute force against the optimizer on `n` small instances, both models. */
export async function exactness(runner: HighsRunner, n: number): Promise<Exactness> {
  const highs = (await (createRequire(import.meta.url)('highs') as () => Promise<Highs>)()) as Highs;
  let feasible = 0;
  let differ = 0;
  for (let seed = 1; seed <= n; seed++) {
    const p = smallInstance(seed);
    for (const model of ['slice', 'split'] as const) {
      const q = { ...p, model };
      const exact = model === 'slice' ? bruteSlice(q) : bruteSplit(q, highs);
      const sol = await solveWith(runner, q);
      const ok = exact === undefined ? sol.status === 'infeasible' : sol.status === 'optimal' && Math.abs(sol.cost - exact) <= 1e-6 * Math.max(1, exact);
      if (exact !== undefined) feasible++;
      if (!ok) {
        differ++;
        console.log(`  brute force differs: ${model} #${seed}: brute ${exact ?? 'infeasible'}, optimizer ${sol.status} ${sol.cost}`);
      }
    }
  }
  return { instances: 2 * n, feasible, differ };
}

/** The cheapest single GPU type that serves every loaded cell, whole GPUs, no caps; undefined if none. */
export function bestSingle(p: PlanProblem): number | undefined {
  const rho = p.headroom ?? 1;
  const cells = loads({ ...p, gpuFraction: 1 });
  let best: number | undefined;
  p.types.forEach((t, j) => {
    if (cells.some((c) => c.per[j] === undefined)) return;
    const y = Math.ceil(cells.reduce((a, c) => a + c.rate * (c.per[j] as number), 0) / rho - 1e-7);
    if (best === undefined || t.cost * y < best) best = t.cost * y;
  });
  return best;
}

export interface CostCase {
  readonly name: string;
  readonly problem: PlanProblem;
}

/** Split and slice plans against AIBrix's pipeline and the best single type; rows and targets. */
export async function costComparisons(runner: HighsRunner, cases: readonly CostCase[]): Promise<{ rows: Row[]; targets: Target[] }> {
  const saving = { splitPipeline: [] as number[], slicePipeline: [] as number[], splitSingle: [] as number[], sliceSingle: [] as number[] };
  let splitAbove = 0;
  let sliceAbove = 0;
  let sliceLimited = 0;
  let pipelineLimited = 0;
  let compared = 0;
  for (const { name, problem } of cases) {
    const split = await solveWith(runner, { ...problem, model: 'split' });
    const slice = await solveWith(runner, { ...problem, model: 'slice', sliceFactor: 4, gpuFraction: 1 });
    const pipeline = await aibrixPipeline(problem, { runner });
    const single = bestSingle(problem);
    if (split.status !== 'optimal' || Object.keys(pipeline.counts).length === 0) {
      console.log(`  cost comparison skipped: ${name}: split ${split.status}, pipeline ${pipeline.status}`);
      continue;
    }
    compared++;
    if (pipeline.status !== 'optimal') pipelineLimited++;
    const pct = (ours: number, theirs: number) => (100 * (theirs - ours)) / theirs;
    saving.splitPipeline.push(pct(split.cost, pipeline.cost));
    if (split.cost > pipeline.cost + 1e-9) splitAbove++;
    if (single !== undefined) saving.splitSingle.push(pct(split.cost, single));
    if (slice.status === 'optimal') {
      saving.slicePipeline.push(pct(slice.cost, pipeline.cost));
      if (slice.cost > pipeline.cost + 1e-9) sliceAbove++;
      if (single !== undefined) saving.sliceSingle.push(pct(slice.cost, single));
    } else sliceLimited++;
  }
  const rows: Row[] = [];
  const add = (label: string, xs: readonly number[]) => {
    if (xs.length > 0) rows.push(row(`${label} (% of its cost; median, min, max over ${xs.length} instances)`, '%', true, xs));
  };
  add('saving of the split plan against AIBrix pipeline', saving.splitPipeline);
  add('saving of the slice plan (s = 4, whole GPUs) against AIBrix pipeline', saving.slicePipeline);
  add('saving of the split plan against the best single GPU type', saving.splitSingle);
  add('saving of the slice plan against the best single GPU type', saving.sliceSingle);
  const note = `${compared} instances${pipelineLimited > 0 ? `, pipeline at its time limit on ${pipelineLimited}` : ''}`;
  const targets = [
    target(`split plan never above AIBrix pipeline's cost (instances above, of ${note})`, 'max', 0, splitAbove),
    target(`slice plan never above AIBrix pipeline's cost (instances above, of ${compared - sliceLimited} solved to optimality)`, 'max', 0, sliceAbove),
  ];
  return { rows, targets };
}
