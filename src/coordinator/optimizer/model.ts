/**
 * Builds a PlanProblem as CPLEX LP text (what HiGHS reads) and reads a solution back.
 *
 * slice (Melange / AIBrix): every loaded cell b is cut into s slices of rate w_b·Λ'/s (Λ' = f·Λ);
 * binary x_bkj puts slice k on type j; Σ_bk ℓ_bkj·x_bkj ≤ ρ·y_j with ℓ = λ/T_j[b]. Melange also makes
 * slices for zero-share cells: their load is 0 on every type, so they change no constraint and no
 * cost, and they are left out. Melange gives a slice on a type with T = 0 the load 10^6·λ; here that
 * pairing has no variable at all (forbidden) — the same plan whenever 10^6·λ exceeds the spare
 * capacity a plan can have (one unit per type), i.e. for any slice of at least 10^-6 units of rate.
 * split: continuous z_bj ∈ [0,1], Σ_j z_bj = 1, Σ_b (w_b·Λ'/T_j[b])·z_bj ≤ ρ·y_j, z = 0 where T = 0.
 * Both: min_j ≤ y_j ≤ max_j, Σ_j y_j ≤ totalMax, objective Σ_j (c_j/f)·y_j + (μ/f)·Σ_j |y_j − current_j|
 * with |·| as u_j + d_j, y_j − u_j + d_j = current_j, plus (a/f)·Σ_j u_j for an add cost a (GPUs added
 * only). Column names are generated (y0, x3_1_0, …), so
 * no GPU name ever reaches the LP text.
 */
import { BrixletError } from '../../common/errors.js';
import { cellName } from './profiles.js';
import type { PlanModel, PlanProblem, PlanSolution } from './types.js';

export const DEFAULT_SLICE_FACTOR = 4;
const MAX_SLICE_FACTOR = 256;
const MAX_GPU_FRACTION = 10_000;
const MAX_TYPES = 64;
const MAX_CELLS = 64 * 64;

/** Per loaded cell: the columns that carry its requests to each type (undefined: the type cannot serve it). */
export interface CellColumns {
  readonly cell: number;
  /** slice: [slice][type]; split: one row, [0][type]. */
  readonly columns: readonly (readonly (string | undefined)[])[];
}

export interface BuiltModel {
  readonly lp: string;
  readonly model: PlanModel;
  readonly names: readonly string[];
  readonly fraction: number;
  readonly cells: readonly CellColumns[];
}

/** A model to solve, or the answer known without solving (a loaded cell nothing can serve). */
export type Prepared = { readonly built: BuiltModel } | { readonly solution: PlanSolution };

const bad = (reason: string) => new BrixletError('BRX_ERR_OPTIMIZER_PROBLEM', { reason });

const isCount = (v: number | undefined) => v === undefined || (Number.isInteger(v) && v >= 0);

/** Throws BRX_ERR_OPTIMIZER_PROBLEM naming the first bad setting. */
export function validateProblem(p: PlanProblem): void {
  const cells = p.grid.outputs.length * p.grid.inputs.length;
  if (cells === 0 || cells > MAX_CELLS) throw bad(`the grid has ${cells} cells (1 to ${MAX_CELLS})`);
  if (p.types.length === 0) throw bad('no GPU types');
  if (p.types.length > MAX_TYPES) throw bad(`${p.types.length} GPU types (at most ${MAX_TYPES})`);
  if (p.model !== 'slice' && p.model !== 'split') throw bad(`model '${String(p.model)}' is not slice or split`);
  const seen = new Set<string>();
  for (const t of p.types) {
    if (seen.has(t.name)) throw bad(`GPU type ${t.name} appears twice`);
    seen.add(t.name);
    if (!Number.isFinite(t.cost) || t.cost < 0) throw bad(`${t.name}: cost ${t.cost} is not a finite number >= 0`);
    if (t.tputs.length !== cells) throw bad(`${t.name}: ${t.tputs.length} throughput cells, the grid has ${cells}`);
    if (t.tputs.some((v) => !Number.isFinite(v) || v < 0)) throw bad(`${t.name}: a throughput is not a finite number >= 0`);
    for (const k of ['min', 'max', 'current'] as const) if (!isCount(t[k])) throw bad(`${t.name}: ${k} ${t[k]} is not a whole number >= 0`);
    if ((t.min ?? 0) > (t.max ?? Infinity)) throw bad(`${t.name}: min ${t.min} is above max ${t.max}`);
  }
  if (!Number.isFinite(p.load.rate) || p.load.rate < 0) throw bad(`rate ${p.load.rate} is not a finite number >= 0`);
  if (p.load.shares.length !== cells) throw bad(`${p.load.shares.length} load shares, the grid has ${cells} cells`);
  if (p.load.shares.some((v) => !Number.isFinite(v) || v < 0)) throw bad('a load share is not a finite number >= 0');
  const s = p.sliceFactor ?? DEFAULT_SLICE_FACTOR;
  if (!Number.isInteger(s) || s < 1 || s > MAX_SLICE_FACTOR) throw bad(`sliceFactor ${s} is not a whole number in [1, ${MAX_SLICE_FACTOR}]`);
  const f = p.gpuFraction ?? 1;
  if (!Number.isInteger(f) || f < 1 || f > MAX_GPU_FRACTION) throw bad(`gpuFraction ${f} is not a whole number in [1, ${MAX_GPU_FRACTION}]`);
  const rho = p.headroom ?? 1;
  if (!(rho > 0 && rho <= 1)) throw bad(`headroom ${rho} is not in (0, 1]`);
  if (!isCount(p.totalMax)) throw bad(`totalMax ${p.totalMax} is not a whole number >= 0`);
  const mu = p.switchingCost ?? 0;
  if (!Number.isFinite(mu) || mu < 0) throw bad(`switchingCost ${mu} is not a finite number >= 0`);
  const add = p.addCost ?? 0;
  if (!Number.isFinite(add) || add < 0) throw bad(`addCost ${add} is not a finite number >= 0`);
  if (p.timeLimitMs !== undefined && !(p.timeLimitMs > 0 && Number.isFinite(p.timeLimitMs))) throw bad(`timeLimitMs ${p.timeLimitMs} is not a positive number`);
}

/** `v`, checked finite (the arrays take it as is; the LP text writes String(v)). */
const finite = (v: number) => {
  if (!Number.isFinite(v)) throw bad(`a coefficient ${v} is not finite (rates or throughputs out of range)`);
  return v;
};
const num = (v: number) => String(finite(v));

/** `+ 2.5 x - 1 y` from [coefficient, column] pairs; zero coefficients are dropped. */
function sum(terms: readonly (readonly [number, string])[]): string {
  const parts: string[] = [];
  for (const [c, col] of terms) {
    if (c === 0) continue;
    parts.push(`${c < 0 ? '-' : '+'} ${num(Math.abs(c))} ${col}`);
  }
  return parts.length === 0 ? '0 y0' : parts.join(' ');
}

/** Cells with load, in index order. */
export const loadedCells = (p: Pick<PlanProblem, 'load'>): number[] => {
  const out: number[] = [];
  if (p.load.rate <= 0) return out;
  p.load.shares.forEach((w, b) => {
    if (w > 0) out.push(b);
  });
  return out;
};

const infeasible = (message: string): PlanSolution => ({ status: 'infeasible', counts: {}, cost: 0, split: [], solveMs: 0, message });

/** Validates; answers `infeasible` for what is plain without a solver (a loaded cell nothing can serve, minimums above the total). */
function plainlyInfeasible(p: PlanProblem): PlanSolution | undefined {
  validateProblem(p);
  const types = p.types;
  for (const b of loadedCells(p)) {
    const able = types.filter((t) => (t.tputs[b] as number) > 0);
    if (able.length === 0) return infeasible(`no GPU type can serve ${cellName(p.grid, b)}: every profile has throughput 0 there`);
    if (able.every((t) => t.max === 0)) {
      return infeasible(`no GPU type can serve ${cellName(p.grid, b)}: the types that can (${able.map((t) => t.name).join(', ')}) are capped at 0`);
    }
  }
  const minSum = types.reduce((a, t) => a + (t.min ?? 0), 0);
  if (p.totalMax !== undefined && minSum > p.totalMax) return infeasible(`the minimums add up to ${minSum}, above totalMax ${p.totalMax}`);
  return undefined;
}

/** Validates and builds the LP, or answers `infeasible` for what is plain without a solver. */
export function buildModel(p: PlanProblem): Prepared {
  const plain = plainlyInfeasible(p);
  if (plain !== undefined) return { solution: plain };
  const f = p.gpuFraction ?? 1;
  const s = p.model === 'slice' ? (p.sliceFactor ?? DEFAULT_SLICE_FACTOR) : 1;
  const rho = p.headroom ?? 1;
  const mu = p.switchingCost ?? 0;
  const add = p.addCost ?? 0;
  const types = p.types;
  const loaded = loadedCells(p);

  const objective: [number, string][] = types.map((t, j) => [t.cost / f, `y${j}`]);
  const rows: string[] = [];
  const binaries: string[] = [];
  const capacity: [number, string][][] = types.map(() => []);
  const cells: CellColumns[] = [];
  for (const b of loaded) {
    const rate = ((p.load.shares[b] as number) * p.load.rate * f) / s;
    const columns: (string | undefined)[][] = [];
    for (let k = 0; k < s; k++) {
      const row: (string | undefined)[] = [];
      const one: [number, string][] = [];
      types.forEach((t, j) => {
        const tput = t.tputs[b] as number;
        if (tput <= 0 || t.max === 0) return row.push(undefined);
        const col = p.model === 'slice' ? `x${b}_${k}_${j}` : `z${b}_${j}`;
        row.push(col);
        one.push([1, col]);
        capacity[j]?.push([rate / tput, col]);
        if (p.model === 'slice') binaries.push(col);
      });
      rows.push(` one${b}_${k}: ${sum(one)} = 1`);
      columns.push(row);
    }
    cells.push({ cell: b, columns });
  }
  types.forEach((_, j) => rows.push(` cap${j}: ${sum([...(capacity[j] ?? []), [-rho, `y${j}`]])} <= 0`));
  const ys = types.map((_, j): [number, string] => [1, `y${j}`]);
  rows.push(` tot: ${sum(ys)} ${p.totalMax === undefined ? '>= 0' : `<= ${p.totalMax}`}`);
  const generals = ys.map(([, y]) => y);
  const bounds: string[] = [];
  types.forEach((t, j) => bounds.push(` ${t.min ?? 0} <= y${j}${t.max === undefined ? '' : ` <= ${t.max}`}`));
  if (mu > 0 || add > 0) {
    types.forEach((t, j) => {
      objective.push([(mu + add) / f, `u${j}`], [mu / f, `d${j}`]);
      rows.push(` sw${j}: y${j} - u${j} + d${j} = ${t.current ?? 0}`);
    });
  }
  const lp = [
    'Minimize',
    ` obj: ${sum(objective)}`,
    'Subject To',
    ...rows,
    'Bounds',
    ...bounds,
    'Generals',
    ` ${generals.join(' ')}`,
    ...(binaries.length > 0 ? ['Binaries', ...chunk(binaries)] : []),
    'End',
    '',
  ].join('\n');
  return { built: { lp, model: p.model, names: types.map((t) => t.name), fraction: f, cells } };
}

/** LP readers limit line length; keep column lists to a few hundred characters a line. */
function chunk(cols: readonly string[]): string[] {
  const lines: string[] = [];
  for (let k = 0; k < cols.length; k += 20) lines.push(` ${cols.slice(k, k + 20).join(' ')}`);
  return lines;
}

/**
 * The split model as HiGHS's in-memory model arrays (CSC), the same rows, columns, bounds and
 * objective as buildModel's LP text, with no text to write or parse. Columns: y_j, then z_bj per
 * loaded cell and able type, then u_j, d_j when there is a switching or add cost; rows: one_b,
 * cap_j, tot (with totalMax), sw_j. `columns` names each column as the LP text does.
 */
export interface SplitArrays {
  readonly numCols: number;
  readonly numRows: number;
  readonly colCost: Float64Array;
  readonly colLower: Float64Array;
  readonly colUpper: Float64Array;
  readonly rowLower: Float64Array;
  readonly rowUpper: Float64Array;
  readonly matrix: { readonly format: 'csc'; readonly numRows: number; readonly numCols: number; readonly starts: Int32Array; readonly indices: Int32Array; readonly values: Float64Array };
  readonly integrality: Int32Array;
}

export type SplitBuilt = Omit<BuiltModel, 'lp'> & { readonly arrays: SplitArrays; readonly columns: readonly string[] };

/** Validates and builds the split model's arrays, or answers `infeasible` as buildModel does. */
export function buildSplitArrays(p: PlanProblem): { readonly built: SplitBuilt } | { readonly solution: PlanSolution } {
  const plain = plainlyInfeasible(p);
  if (plain !== undefined) return { solution: plain };
  const f = p.gpuFraction ?? 1;
  const rho = p.headroom ?? 1;
  const mu = p.switchingCost ?? 0;
  const add = p.addCost ?? 0;
  const types = p.types;
  const K = types.length;
  const loaded = loadedCells(p);
  const B = loaded.length;
  const switching = mu > 0 || add > 0;
  const totRow = B + K;
  const swRow = totRow + (p.totalMax === undefined ? 0 : 1);
  const numRows = swRow + (switching ? K : 0);
  const columns: string[] = [];
  const cost: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  const integer: number[] = [];
  const starts: number[] = [];
  const indices: number[] = [];
  const values: number[] = [];
  const column = (name: string, c: number, lo: number, hi: number, isInt: boolean, entries: readonly (readonly [number, number])[]) => {
    columns.push(name);
    cost.push(c);
    lower.push(lo);
    upper.push(hi);
    integer.push(isInt ? 1 : 0);
    starts.push(indices.length);
    for (const [row, v] of entries) {
      if (v === 0) continue;
      indices.push(row);
      values.push(finite(v));
    }
  };
  types.forEach((t, j) => {
    const entries: [number, number][] = [[B + j, -rho]];
    if (p.totalMax !== undefined) entries.push([totRow, 1]);
    if (switching) entries.push([swRow + j, 1]);
    column(`y${j}`, finite(t.cost / f), t.min ?? 0, t.max ?? Infinity, true, entries);
  });
  const cells: CellColumns[] = [];
  loaded.forEach((b, i) => {
    const rate = (p.load.shares[b] as number) * p.load.rate * f;
    const row: (string | undefined)[] = [];
    types.forEach((t, j) => {
      const tput = t.tputs[b] as number;
      if (tput <= 0 || t.max === 0) return row.push(undefined);
      const name = `z${b}_${j}`;
      row.push(name);
      column(name, 0, 0, 1, false, [[i, 1], [B + j, rate / tput]]);
    });
    cells.push({ cell: b, columns: [row] });
  });
  if (switching) {
    types.forEach((_, j) => {
      column(`u${j}`, finite((mu + add) / f), 0, Infinity, false, [[swRow + j, -1]]);
      column(`d${j}`, finite(mu / f), 0, Infinity, false, [[swRow + j, 1]]);
    });
  }
  starts.push(indices.length);
  const rowLower = new Float64Array(numRows);
  const rowUpper = new Float64Array(numRows);
  const rowBounds = (row: number, lo: number, hi: number) => {
    rowLower[row] = lo;
    rowUpper[row] = hi;
  };
  for (let i = 0; i < B; i++) rowBounds(i, 1, 1);
  for (let j = 0; j < K; j++) rowBounds(B + j, -Infinity, 0);
  if (p.totalMax !== undefined) rowBounds(totRow, -Infinity, p.totalMax);
  if (switching) types.forEach((t, j) => rowBounds(swRow + j, t.current ?? 0, t.current ?? 0));
  const n = columns.length;
  const arrays: SplitArrays = {
    numCols: n,
    numRows,
    colCost: Float64Array.from(cost),
    colLower: Float64Array.from(lower),
    colUpper: Float64Array.from(upper),
    rowLower,
    rowUpper,
    matrix: { format: 'csc', numRows, numCols: n, starts: Int32Array.from(starts), indices: Int32Array.from(indices), values: Float64Array.from(values) },
    integrality: Int32Array.from(integer),
  };
  return { built: { arrays, columns, model: 'split', names: types.map((t) => t.name), fraction: f, cells } };
}

/** Counts, cost and split from the solver's column values (absent columns read as 0). */
export function readSolution(
  built: Omit<BuiltModel, 'lp'>,
  costs: readonly number[],
  value: (col: string) => number,
): Pick<PlanSolution, 'counts' | 'cost' | 'split'> {
  const counts: Record<string, number> = {};
  let cost = 0;
  built.names.forEach((name, j) => {
    const y = Math.max(0, Math.round(value(`y${j}`)));
    counts[name] = y;
    cost += ((costs[j] as number) * y) / built.fraction;
  });
  const split = built.cells.map(({ cell, columns }) => {
    const shares: Record<string, number> = {};
    built.names.forEach((name, j) => {
      let v = 0;
      for (const row of columns) {
        const col = row[j];
        if (col !== undefined) v += Math.min(1, Math.max(0, value(col)));
      }
      v /= columns.length;
      if (v > 1e-9) shares[name] = built.model === 'slice' ? Math.round(v * columns.length) / columns.length : v;
    });
    return { cell, shares };
  });
  return { counts, cost: round9(cost), split };
}

const round9 = (v: number) => Math.round(v * 1e9) / 1e9;
