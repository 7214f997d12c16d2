/**
 * Reads the Mooncake FAST'25 request traces (JSONL: {"timestamp","input_length","output_length",
 * "hash_ids":[…]}, 512-token blocks whose ids are chained: an id names its whole prefix). The ids
 * are remapped to dense 0 … n − 1 in order of first appearance so the simulator's maps stay small.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packWorkload, type Workload } from './workload.js';

/** BRIXLET_TESTDATA, or ../shared/testdata relative to the repository root (the working directory). */
export function testdataDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env.BRIXLET_TESTDATA ?? '../shared/testdata');
}

/** Parses one trace; throws on a line that is not a request with integer hash_ids. */
export function parseTrace(name: string, text: string): Workload {
  const dense = new Map<number, number>();
  const chains: Int32Array[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    const rec = JSON.parse(line) as { hash_ids?: unknown };
    const ids = rec.hash_ids;
    if (!Array.isArray(ids)) throw new Error(`${name}:${lineNo}: no hash_ids array`);
    const chain = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id: unknown = ids[i];
      if (typeof id !== 'number' || !Number.isInteger(id)) throw new Error(`${name}:${lineNo}: hash_ids[${i}] is not an integer`);
      let d = dense.get(id);
      if (d === undefined) dense.set(id, (d = dense.size));
      chain[i] = d;
    }
    chains.push(chain);
  }
  return packWorkload(name, chains);
}

/** Every `*.jsonl` under `<dir>/traces`, sorted by name; [] when the folder is missing. */
export function loadTraces(dir: string): Workload[] {
  const traces = join(dir, 'traces');
  if (!existsSync(traces)) return [];
  return readdirSync(traces)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => parseTrace(f.replace(/\.jsonl$/, '').replace(/_trace$/, ''), readFileSync(join(traces, f), 'utf8')));
}
