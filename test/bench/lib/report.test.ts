import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { benchArgs, median, percentile, row, target, writeReport } from '../../../bench/lib/report.js';

describe('bench report', () => {
  it('computes medians, percentiles and pairwise ratios', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    const r = row('get', 'GB/s', true, [2, 4, 6], { redis: [1, 1, 3] });
    expect(r.brixlet).toEqual({ median: 4, min: 2, max: 6 });
    expect(r.ratio.redis).toBe(2);
  });

  it('computes whether a target is met, never by hand', () => {
    expect(target('p99 ≤ 5 ms', 'max', 5, 4.9).met).toBe(true);
    expect(target('p99 ≤ 5 ms', 'max', 5, 5.1).met).toBe(false);
    expect(target('≥ 3x redis', 'min', 3, 2.9).met).toBe(false);
  });

  it('writes the BENCHMARKS.md JSON shape', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const args = benchArgs(['--quick']);
    expect(args).toEqual({ quick: true, runs: 3 });
    const path = writeReport('demo', args, [row('x', 'ms', false, [1, 2, 3])], [target('x ≤ 2 ms', 'max', 2, 2)], dir);
    log.mockRestore();
    expect(path).toBe(`${dir}/demo.quick.json`);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    expect(json).toMatchObject({ bench: 'demo', quick: true, rows: [{ case: 'x', unit: 'ms', brixlet: { median: 2 } }], targets: [{ met: true }] });
    expect(json.machine.node).toBe(process.version);
  });
});
