/**
 * bench:kv-hitratio's bookkeeping, kept pure for tests: capacities, replaying one cell (a workload
 * family at one capacity) through every policy and Belady, and turning cells into report rows and
 * the targets (in points of prefix-hit ratio against LRU).
 */
import type { EvictionPolicy } from '../../src/kvcache/eviction/types.js';
import { median, row, type Row, target, type Target } from '../lib/report.js';
import { type HitRatio, replayBelady, replayPolicy } from './replay.js';
import type { Workload } from './workload.js';

export type PolicyFactory = (capacity: number) => EvictionPolicy;

/** Blocks of capacity for `pct` % of `unique` blocks (at least 1). */
export function capacityBlocks(unique: number, pct: number): number {
  return Math.max(1, Math.round((unique * pct) / 100));
}

export interface Cell {
  /** e.g. "mooncake-conversation 5%" or "synthetic scan 20% 5%". */
  readonly name: string;
  readonly scans: boolean;
  /** Per policy (and `belady`), one result per run (trace: 1; synthetic: one per seed). */
  readonly runs: Readonly<Record<string, readonly HitRatio[]>>;
}

/** Replays each (workload, capacity) run through every policy and Belady. */
export function runCell(name: string, runs: readonly { readonly workload: Workload; readonly capacity: number }[], policies: Readonly<Record<string, PolicyFactory>>): Cell {
  const out: Record<string, HitRatio[]> = {};
  for (const [p, make] of Object.entries(policies)) out[p] = runs.map((r) => replayPolicy(r.workload, r.capacity, make(r.capacity)));
  out.belady = runs.map((r) => replayBelady(r.workload, r.capacity));
  return { name, scans: runs.some((r) => r.workload.scan?.some((s) => s === 1) === true), runs: out };
}

function series(cell: Cell, policy: string, nonScan: boolean): number[] {
  return (cell.runs[policy] ?? []).map((r) => (nonScan ? r.nonScan : r.all));
}

/** Median over runs of (policy a − policy b), in points. */
export function gap(cell: Cell, a: string, b: string, nonScan = false): number {
  const x = series(cell, a, nonScan);
  const y = series(cell, b, nonScan);
  return median(x.map((v, i) => v - (y[i] as number)));
}

/** Rows of one cell: prefix-hit % of `brixlet` vs the rest, the same over non-scan traffic when the
 * cell has scans, and the points `brixlet` lies below Belady. */
export function cellRows(cell: Cell, brixlet: string): Row[] {
  const rows: Row[] = [];
  for (const nonScan of cell.scans ? [false, true] : [false]) {
    const peers: Record<string, number[]> = {};
    for (const p of Object.keys(cell.runs)) if (p !== brixlet) peers[p] = series(cell, p, nonScan);
    rows.push(row(`${cell.name}${nonScan ? ' non-scan' : ''}`, '%', true, series(cell, brixlet, nonScan), peers));
  }
  const b = series(cell, 'belady', false);
  rows.push(row(`${cell.name} gap to belady`, 'points', false, series(cell, brixlet, false).map((v, i) => (b[i] as number) - v)));
  return rows;
}

/** The targets for the default policy `brixlet` against `lru`. */
export function hitRatioTargets(cells: readonly Cell[], brixlet: string, lru = 'lru'): Target[] {
  const worst = (cs: readonly Cell[], nonScan: boolean) => (cs.length ? Math.min(...cs.map((c) => gap(c, brixlet, lru, nonScan))) : NaN);
  const scanCells = cells.filter((c) => c.scans);
  return [
    target(`${brixlet} − ${lru} ≥ −0.5 points in every cell (worst cell)`, 'min', -0.5, worst(cells, false)),
    target(`${brixlet} − ${lru} ≥ 5 points on the 20 %/40 % scan mixes, all traffic (worst cell)`, 'min', 5, worst(scanCells, false)),
    target(`${brixlet} − ${lru} ≥ 5 points on the 20 %/40 % scan mixes, non-scan traffic (worst cell)`, 'min', 5, worst(scanCells, true)),
  ];
}
