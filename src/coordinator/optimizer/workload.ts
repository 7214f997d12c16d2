/**
 * The workload file of `brixlet optimize`: a rate and the request shapes behind it,
 *   {"rate": 20, "cells": [{"output": 8, "input": 256, "share": 0.5}, ...]}
 * Each (output, input) is snapped to the nearest grid tick in log2 space (the load monitor's rule);
 * a shape beyond the grid's first or last tick is clamped to the edge and reported, never dropped.
 * Shares are relative weights: they are normalised to sum to 1.
 */
import { BrixletError } from '../../common/errors.js';
import type { ProfileGrid } from './types.js';

export const WORKLOAD_MAX_BYTES = 1024 * 1024;
const MAX_CELLS = 10_000;

export interface Workload {
  readonly rate: number;
  /** Per grid cell, summing to 1 (all 0 when no cell has a share). */
  readonly shares: Float64Array;
  /** One line per entry that lay outside the grid and was clamped to its edge. */
  readonly clamped: readonly string[];
}

/** Index of the tick nearest to `v` in log2 space; `clamped` when v lies beyond the first or last tick. */
export function snapTick(ticks: readonly number[], v: number): { readonly index: number; readonly clamped: boolean } {
  const last = ticks.length - 1;
  if (v < (ticks[0] as number)) return { index: 0, clamped: true };
  if (v > (ticks[last] as number)) return { index: last, clamped: true };
  let best = 0;
  let bestDist = Infinity;
  const lv = Math.log2(v);
  ticks.forEach((t, k) => {
    const d = Math.abs(Math.log2(t) - lv);
    if (d < bestDist) {
      bestDist = d;
      best = k;
    }
  });
  return { index: best, clamped: false };
}

export function parseWorkload(text: string, grid: ProfileGrid, source = 'workload'): Workload {
  const fail = (reason: string) => new BrixletError('BRX_ERR_OPTIMIZER_WORKLOAD', { source, reason });
  if (Buffer.byteLength(text, 'utf8') > WORKLOAD_MAX_BYTES) throw fail(`larger than ${WORKLOAD_MAX_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail(`not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('must be a JSON object {"rate": ..., "cells": [...]}');
  const { rate, cells } = raw as Record<string, unknown>;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) throw fail(`rate = ${JSON.stringify(rate ?? null)} must be a finite number >= 0 (requests per second)`);
  if (!Array.isArray(cells)) throw fail('cells must be an array of {"output", "input", "share"}');
  if (cells.length > MAX_CELLS) throw fail(`${cells.length} cells (at most ${MAX_CELLS})`);
  const shares = new Float64Array(grid.outputs.length * grid.inputs.length);
  const clamped: string[] = [];
  let total = 0;
  cells.forEach((c: unknown, k) => {
    if (typeof c !== 'object' || c === null) throw fail(`cells[${k}] must be an object`);
    const { output, input, share } = c as Record<string, unknown>;
    for (const [name, v] of [['output', output], ['input', input]] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(`cells[${k}].${name} = ${JSON.stringify(v ?? null)} must be a positive token count`);
    }
    if (typeof share !== 'number' || !Number.isFinite(share) || share < 0) throw fail(`cells[${k}].share = ${JSON.stringify(share ?? null)} must be a finite number >= 0`);
    const o = snapTick(grid.outputs, output as number);
    const i = snapTick(grid.inputs, input as number);
    if (o.clamped || i.clamped) {
      clamped.push(`cells[${k}] output ${output} × input ${input} is outside the grid; counted at output ${grid.outputs[o.index]} × input ${grid.inputs[i.index]}`);
    }
    const cell = o.index * grid.inputs.length + i.index;
    shares[cell] = (shares[cell] as number) + share;
    total += share;
  });
  if (rate > 0 && total <= 0) throw fail('rate is above 0 but no cell has a share above 0');
  if (total > 0) for (let b = 0; b < shares.length; b++) shares[b] = (shares[b] as number) / total;
  return { rate, shares, clamped };
}
