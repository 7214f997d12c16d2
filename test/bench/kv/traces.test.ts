import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTraces, parseTrace, testdataDir } from '../../../bench/kv/traces.js';

describe('traces', () => {
  it('parses Mooncake JSONL and renumbers block ids densely in order of first appearance', () => {
    const w = parseTrace('t', '{"timestamp": 0, "input_length": 1024, "output_length": 5, "hash_ids": [40, 7]}\n\n{"timestamp": 3, "hash_ids": [40, 7, 1000]}\n');
    expect(Array.from(w.blocks)).toEqual([0, 1, 0, 1, 2]);
    expect(Array.from(w.starts)).toEqual([0, 2, 5]);
  });

  it('names the line of a malformed record', () => {
    expect(() => parseTrace('t', '{"hash_ids": [1]}\n{"hash_ids": [1, "x"]}')).toThrow('t:2: hash_ids[1] is not an integer');
    expect(() => parseTrace('t', '{"nope": 1}')).toThrow('t:1: no hash_ids array');
  });

  it('loads every trace under <dir>/traces, and nothing when the folder is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-traces-'));
    try {
      expect(loadTraces(dir)).toEqual([]);
      mkdirSync(join(dir, 'traces'));
      writeFileSync(join(dir, 'traces', 'b_trace.jsonl'), '{"hash_ids": [1, 2]}\n');
      writeFileSync(join(dir, 'traces', 'a.jsonl'), '{"hash_ids": [5]}\n');
      writeFileSync(join(dir, 'traces', 'notes.md'), 'x');
      expect(loadTraces(dir).map((w) => w.name)).toEqual(['a', 'b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the test data through BRIXLET_TESTDATA or next to the repository', () => {
    expect(testdataDir({ BRIXLET_TESTDATA: '/data/x' }, '/repo')).toBe('/data/x');
    expect(testdataDir({}, '/work/main')).toBe('/work/shared/testdata');
  });
});
