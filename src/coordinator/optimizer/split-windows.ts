/**
 * Count windows for the split model: lower bounds on the cost of every plan with a GPU type's count
 * at y, so that counts (and whole types) no optimal plan needs can be left out of the MIP HiGHS
 * solves.
 *
 * The bound is a Lagrangian relaxation of the rows Σ_j z_bj = 1 with a price u_b per loaded cell
 * (u_b = the cheapest cost of serving that cell's load, min_j c_j·ℓ_bj/ρ with ℓ_bj = λ_b/T_j[b] in
 * GPU units). For any plan (y, z), Σ_j g_j(y_j) = Σ_b u_b + Σ_j [g_j(y_j) − Σ_b u_b·z_bj] ≥ Σ_b u_b +
 * Σ_j h_j, where g_j is type j's cost with the switching and add costs against `current`, and
 * h_j = min over whole y ∈ [min_j, max_j] of g_j(y) − KS_j(ρ·y): KS_j(C) is the fractional knapsack
 * (cells of weight ℓ_bj and value u_b in capacity C), solved exactly by the greedy on value/weight.
 * The total cap is dropped (a relaxation). h_j⁺ takes the same minimum over y ≥ min_j + 1, so
 * `plus[j]` = base − h_j + h_j⁺ bounds every plan with y_j > min_j, and `at[j](y)` = base − h_j +
 * g_j(y) − KS_j(ρ·y) every plan with y_j = y: when it is above the cost of a plan already found, no
 * cheaper plan has that count. g_j − KS_j(ρ·) is convex in y, so a binary search over y finds each
 * minimum and each window's ends.
 *
 * For few GPUs of a type, `below[j](k)` bounds every plan with y_j ≤ k by the LP relaxation with
 * only that cap (no integrality, other caps, minimums, total or switching cost: each only adds
 * cost): every cell on its cheapest type, except that type j holds at most ρ·k of load, so the
 * cells it gives up move to their next cheapest type — the cheapest moves per unit of load first
 * (a fractional knapsack, exact for this LP).
 *
 * solveSplit (solver.ts) holds each type's count in the window whose bound is within a slack of
 * the base (`windows`), so every plan outside costs more than base + slack; a plan found inside
 * that costs no more is the optimum, and otherwise its cost sets the slack of a second solve.
 */
import { loadedCells } from './model.js';
import type { PlanProblem } from './types.js';

export interface TypeBounds {
  /** Lower bound on every plan's cost (switching and add costs included). */
  readonly base: number;
  /** Per type: lower bound on every plan with y_j ≥ min_j + 1; Infinity when min_j = max_j. */
  readonly plus: readonly number[];
  /** Per type: lower bound on every plan with y_j = y (Infinity outside [min_j, max_j]). */
  readonly at: readonly ((y: number) => number)[];
  /** Per type: the y of its term's minimum. */
  readonly argmin: readonly number[];
  /** Per type: lower bound on every plan with y_j ≤ k (the relaxation below). */
  readonly below: readonly ((k: number) => number)[];
}

/** Largest count range searched per type (the bound is not computed past it). */
const MAX_Y = 1e9;

/** The Lagrangian bounds, or undefined when they do not apply (a cell no type can serve). */
export function typeBounds(p: PlanProblem): TypeBounds | undefined {
  const f = p.gpuFraction ?? 1;
  const rho = p.headroom ?? 1;
  const mu = (p.switchingCost ?? 0) / f;
  const add = (p.addCost ?? 0) / f;
  const cells = loadedCells(p);
  const K = p.types.length;
  // ℓ_bj per cell and type (NaN: the type cannot serve the cell or is capped at 0).
  const load = cells.map((b) => {
    const rate = (p.load.shares[b] as number) * p.load.rate * f;
    return p.types.map((t) => ((t.tputs[b] as number) > 0 && t.max !== 0 ? rate / (t.tputs[b] as number) : NaN));
  });
  const price: number[] = [];
  for (const row of load) {
    let u = Infinity;
    row.forEach((l, j) => {
      if (!Number.isNaN(l)) u = Math.min(u, ((p.types[j]?.cost ?? 0) / f) * (l / rho));
    });
    if (!Number.isFinite(u)) return undefined;
    price.push(u);
  }
  let base = price.reduce((a, b) => a + b, 0);
  const h: number[] = [];
  const hPlus: number[] = [];
  const terms: ((y: number) => number)[] = [];
  const argmin: number[] = [];
  const below: ((k: number) => number)[] = [];
  for (let j = 0; j < K; j++) {
    const t = p.types[j];
    if (t === undefined) return undefined;
    const c = t.cost / f;
    const cur = t.current ?? 0;
    const lo = t.min ?? 0;
    const hi = t.max ?? Infinity;
    const g = (y: number) => c * y + mu * Math.abs(y - cur) + add * Math.max(0, y - cur);
    const items = load
      .map((row, i) => ({ w: row[j] as number, v: price[i] as number }))
      .filter((it) => !Number.isNaN(it.w) && it.v > 0)
      .sort((a, b) => b.v / b.w - a.v / a.w);
    const knapsack = (cap: number) => {
      let value = 0;
      let left = cap;
      for (const it of items) {
        if (left <= 0) break;
        if (it.w <= left) {
          value += it.v;
          left -= it.w;
        } else {
          value += (it.v * left) / it.w;
          left = 0;
        }
      }
      return value;
    };
    const at = (y: number) => g(y) - knapsack(rho * y);
    // Past top the knapsack holds every cell and g only rises: the minimum lies in [lo, top].
    const weight = items.reduce((a, it) => a + it.w, 0);
    const top = Math.min(hi, Math.max(lo, cur, Math.ceil(weight / rho)) + 1);
    if (!Number.isFinite(top) || top - lo > MAX_Y) return undefined;
    // Convex: the minimum is at the first y whose step to y + 1 does not fall.
    let a = lo;
    let b = top;
    while (a < b) {
      const mid = Math.floor((a + b) / 2);
      if (at(mid + 1) - at(mid) >= 0) b = mid;
      else a = mid + 1;
    }
    const best = at(a);
    const bestPlus = lo + 1 > hi ? Infinity : at(Math.max(a, lo + 1));
    h.push(best);
    hPlus.push(bestPlus);
    terms.push((y) => (y < lo || y > hi ? Infinity : at(y)));
    argmin.push(a);
    below.push(capped(load, p, j, rho, f));
    base += best;
  }
  return {
    base,
    plus: h.map((v, j) => base - v + (hPlus[j] as number)),
    at: terms.map((term, j) => (y: number) => base - (h[j] as number) + term(y)),
    argmin,
    below,
  };
}

/** The relaxation's cost with type j's load capped at ρ·k, as a function of k (see the header). */
function capped(load: readonly (readonly number[])[], p: PlanProblem, j: number, rho: number, f: number): (k: number) => number {
  const cost = (i: number, l: number) => ((p.types[i]?.cost ?? 0) / f) * (l / rho);
  let fixed = 0;
  let mustWeight = 0;
  const items: { w: number; v: number }[] = [];
  for (const row of load) {
    const own = row[j] as number;
    let other = Infinity;
    row.forEach((l, i) => {
      if (i !== j && !Number.isNaN(l)) other = Math.min(other, cost(i, l));
    });
    if (Number.isNaN(own)) fixed += other;
    else if (!Number.isFinite(other)) {
      fixed += cost(j, own);
      mustWeight += own;
    } else {
      fixed += other;
      const save = other - cost(j, own);
      if (save > 0) items.push({ w: own, v: save });
    }
  }
  items.sort((a, b) => b.v / b.w - a.v / a.w);
  return (k: number) => {
    let left = rho * k - mustWeight;
    if (left < -1e-9 * Math.max(1, mustWeight)) return Infinity;
    let saved = 0;
    for (const it of items) {
      if (left <= 0) break;
      const take = Math.min(it.w, left);
      saved += (it.v * take) / it.w;
      left -= take;
    }
    return fixed - saved;
  };
}

/** A range of counts per type for a restricted solve, and the bound on every plan outside it. */
export interface Window {
  readonly min: number;
  readonly max: number | undefined;
  /** Lower bound on every plan with this type's count outside [min, max]; Infinity when the window is the type's whole range. */
  readonly outside: number;
}

/**
 * Per type: the counts y whose bound is within `slack` of the base (an interval: the bound is
 * convex in y), and the bound on the counts outside it.
 */
export function windows(p: PlanProblem, bounds: TypeBounds, slack: number): Window[] {
  const limit = bounds.base + slack;
  return p.types.map((t, j) => {
    const at = bounds.at[j] as (y: number) => number;
    const a = bounds.argmin[j] as number;
    const lo = t.min ?? 0;
    const hi = t.max ?? Infinity;
    const down = bounds.below[j] as (k: number) => number;
    const bound = (y: number) => Math.max(at(y), down(y));
    // Left end: the first y in [lo, a] within the limit (both bounds fall as y rises to a).
    let l = lo;
    let r = a;
    while (l < r) {
      const mid = Math.floor((l + r) / 2);
      if (bound(mid) <= limit) r = mid;
      else l = mid + 1;
    }
    const left = l;
    // Right end: the last y ≥ a within the limit (doubling to find one past it when max is open).
    let step = 1;
    while (a + step <= hi && at(a + step) <= limit && step < 1e9) step *= 2;
    l = a;
    r = Math.min(hi, a + step);
    while (l < r) {
      const mid = Math.ceil((l + r) / 2);
      if (at(mid) <= limit) l = mid;
      else r = mid - 1;
    }
    const right = l;
    // Every plan below the window costs at least bound(left − 1): down holds for all y ≤ left − 1, at is convex.
    const under = left > lo ? bound(left - 1) : Infinity;
    const over = right < hi ? at(right + 1) : Infinity;
    return { min: left, max: right >= hi ? t.max : right, outside: Math.min(under, over) };
  });
}

/** The problem with each type's count held in its window. */
export function withWindows(p: PlanProblem, w: readonly Window[]): PlanProblem {
  return {
    ...p,
    types: p.types.map((t, j) => {
      const win = w[j] as Window;
      const { max: _max, ...rest } = t;
      return { ...rest, min: win.min, ...(win.max === undefined ? {} : { max: win.max }) };
    }),
  };
}

/** A plan's objective as the model counts it: GPU costs plus the switching and add costs. */
export function planObjective(p: PlanProblem, counts: Readonly<Record<string, number>>): number {
  const f = p.gpuFraction ?? 1;
  const mu = p.switchingCost ?? 0;
  const add = p.addCost ?? 0;
  let total = 0;
  for (const t of p.types) {
    const y = counts[t.name] ?? 0;
    const d = y - (t.current ?? 0);
    total += (t.cost * y + mu * Math.abs(d) + add * Math.max(0, d)) / f;
  }
  return total;
}
