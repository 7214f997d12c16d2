/**
 * AIBrix GPU profiles (the JSON `gen_profile` writes and the GPU optimizer reads) parsed into
 * ServingProfile. Parsing is a pure function of the text: a malformed profile is a
 * BRX_ERR_OPTIMIZER_PROFILE naming the field; a cell that is NaN, null, missing, infinite or negative
 * (AIBrix #1567: Python writes NaN into the JSON) is accepted as infeasible (0) and named in the
 * warnings, so one bad measurement never stops planning.
 */
import { BrixletError } from '../../common/errors.js';
import type { ProfileGrid, ServingProfile } from './types.js';

/** A profile is a small file: at most this many ticks per axis and bytes of JSON. */
export const PROFILE_MAX_TICKS = 64;
export const PROFILE_MAX_BYTES = 1024 * 1024;
const GPU_NAME_MAX = 253;

export interface ParsedProfile {
  readonly profile: ServingProfile;
  /** One line per cell treated as infeasible because its value was unusable, naming the cell. */
  readonly warnings: readonly string[];
}

const fail = (source: string, reason: string) => new BrixletError('BRX_ERR_OPTIMIZER_PROFILE', { source, reason });

/**
 * Python's json module writes NaN, Infinity and -Infinity as bare words, which JSON.parse refuses.
 * They become null (an unusable cell); words inside strings are left alone.
 */
function tolerantJson(text: string, source: string): unknown {
  const cleaned = text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g, (m) => (m.startsWith('"') ? m : 'null'));
  try {
    return JSON.parse(cleaned);
  } catch (err) {
    throw fail(source, `not JSON (${(err as Error).message})`);
  }
}

function ticks(value: unknown, field: string, source: string): number[] {
  if (!Array.isArray(value) || value.length === 0) throw fail(source, `${field} must be a non-empty array of token counts`);
  if (value.length > PROFILE_MAX_TICKS) throw fail(source, `${field} has ${value.length} ticks (at most ${PROFILE_MAX_TICKS})`);
  value.forEach((v, k) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(source, `${field}[${k}] = ${JSON.stringify(v)} is not a positive number`);
    if (k > 0 && v <= (value[k - 1] as number)) throw fail(source, `${field} is not ascending: ${value[k - 1]} then ${v} at [${k}]`);
  });
  return value as number[];
}

export const cellName = (grid: ProfileGrid, cell: number): string => {
  const o = Math.floor(cell / grid.inputs.length);
  return `output ${grid.outputs[o]} × input ${grid.inputs[cell % grid.inputs.length]}`;
};

/** A [outputs][inputs] matrix; `strict` (tputs) fails on shape, unusable cells become 0 with a warning. */
function matrix(value: unknown, field: string, grid: ProfileGrid, source: string, warnings: string[] | undefined): Float64Array {
  const rows = grid.outputs.length;
  const cols = grid.inputs.length;
  if (!Array.isArray(value)) throw fail(source, `${field} must be an array of ${rows} rows (one per output tick)`);
  if (value.length !== rows) throw fail(source, `${field} has ${value.length} rows, indexes has ${rows} output ticks`);
  const out = new Float64Array(rows * cols);
  for (let o = 0; o < rows; o++) {
    const row: unknown = value[o];
    if (!Array.isArray(row)) throw fail(source, `${field}[${o}] must be an array of ${cols} values (one per input tick)`);
    if (row.length > cols) throw fail(source, `${field}[${o}] has ${row.length} values, indexes has ${cols} input ticks`);
    for (let i = 0; i < cols; i++) {
      const v: unknown = row[i];
      const cell = o * cols + i;
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) {
        out[cell] = v;
        continue;
      }
      if (v !== null && v !== undefined && typeof v !== 'number') throw fail(source, `${field}[${o}][${i}] = ${JSON.stringify(v)} is not a number`);
      const what = v === undefined ? 'missing' : v === null ? 'NaN or null' : `${v}`;
      warnings?.push(`${source}: ${field} cell ${cellName(grid, cell)} is ${what}; treated as infeasible (0)`);
      out[cell] = warnings === undefined ? Number.NaN : 0;
    }
  }
  return out;
}

/** Parses one profile (JSON text, or an already-parsed value) named `source` in errors and warnings. */
export function parseProfile(input: string | unknown, source = 'profile'): ParsedProfile {
  if (typeof input === 'string' && Buffer.byteLength(input, 'utf8') > PROFILE_MAX_BYTES) {
    throw fail(source, `larger than ${PROFILE_MAX_BYTES} bytes`);
  }
  const raw = typeof input === 'string' ? tolerantJson(input, source) : input;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail(source, 'must be a JSON object');
  const p = raw as Record<string, unknown>;
  const gpu = p.gpu;
  if (typeof gpu !== 'string' || gpu.length === 0 || gpu.length > GPU_NAME_MAX) throw fail(source, `gpu must be a non-empty string of at most ${GPU_NAME_MAX} characters`);
  const cost = p.cost;
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) throw fail(source, `cost = ${JSON.stringify(cost ?? null)} must be a finite number >= 0`);
  const indexes = p.indexes;
  if (!Array.isArray(indexes) || indexes.length !== 2) throw fail(source, 'indexes must be [[output ticks], [input ticks]]');
  const grid: ProfileGrid = { outputs: ticks(indexes[0], 'indexes[0] (outputs)', source), inputs: ticks(indexes[1], 'indexes[1] (inputs)', source) };
  const warnings: string[] = [];
  const tputs = matrix(p.tputs, 'tputs', grid, source, warnings);
  const latency = (field: 'e2e' | 'ttft' | 'tpot') => (p[field] === undefined || p[field] === null ? undefined : matrix(p[field], field, grid, source, undefined));
  let slos: Record<string, number> | undefined;
  if (p.slos !== undefined && p.slos !== null) {
    if (typeof p.slos !== 'object' || Array.isArray(p.slos)) throw fail(source, 'slos must be an object of numbers');
    slos = {};
    for (const [k, v] of Object.entries(p.slos)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(source, `slos.${k} = ${JSON.stringify(v)} is not a number`);
      slos[k] = v;
    }
  }
  const created = p.created;
  if (created !== undefined && created !== null && (typeof created !== 'number' || !Number.isFinite(created))) throw fail(source, 'created must be a unix time in seconds');
  const model = typeof p.model === 'string' ? p.model : undefined;
  const profile: ServingProfile = {
    gpu,
    cost,
    grid,
    tputs,
    ...(model === undefined ? {} : { model }),
    ...(slos === undefined ? {} : { slos }),
    ...(typeof created === 'number' ? { created } : {}),
    ...optional('e2e', latency('e2e')),
    ...optional('ttft', latency('ttft')),
    ...optional('tpot', latency('tpot')),
  };
  return { profile, warnings };
}

const optional = <K extends string>(key: K, v: Float64Array | undefined) => (v === undefined ? {} : ({ [key]: v } as Record<K, Float64Array>));

const sameTicks = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, k) => v === b[k]);

/** Throws BRX_ERR_OPTIMIZER_GRID_MISMATCH naming the first two profiles whose ticks differ, and how. */
export function checkGridsAgree(profiles: readonly ServingProfile[]): void {
  const first = profiles[0];
  if (first === undefined) return;
  const seen = new Set<string>();
  for (const p of profiles) {
    if (seen.has(p.gpu)) throw new BrixletError('BRX_ERR_OPTIMIZER_PROFILE', { source: p.gpu, reason: 'two profiles have this gpu name; one profile per GPU type' });
    seen.add(p.gpu);
    for (const axis of ['outputs', 'inputs'] as const) {
      if (!sameTicks(first.grid[axis], p.grid[axis])) {
        throw new BrixletError('BRX_ERR_OPTIMIZER_GRID_MISMATCH', {
          first: first.gpu,
          second: p.gpu,
          reason: `${axis} ticks [${first.grid[axis].join(', ')}] vs [${p.grid[axis].join(', ')}]`,
        });
      }
    }
  }
}
