import { describe, expect, it } from 'vitest';
import { capacityBlocks, type Cell, cellRows, gap, hitRatioTargets, runCell } from '../../../bench/kv/cells.js';
import { packWorkload } from '../../../bench/kv/workload.js';
import { FifoPolicy } from '../../../src/kvcache/eviction/fifo.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';

const hr = (all: number, nonScan = all) => ({ all, nonScan, ms: 0 });

describe('hit-ratio cells', () => {
  it('sizes capacities as a share of unique blocks, at least one block', () => {
    expect(capacityBlocks(182_790, 2)).toBe(3656);
    expect(capacityBlocks(10, 1)).toBe(1);
  });

  it('replays every policy and Belady per run, and knows whether the cell has scans', () => {
    const w = packWorkload('w', [[1, 2], [1, 2, 3]], Uint8Array.from([0, 1]));
    const cell = runCell('w 50%', [{ workload: w, capacity: 3 }], { lru: (c) => new LruPolicy({ capacity: c }), fifo: (c) => new FifoPolicy({ capacity: c }) });
    expect(Object.keys(cell.runs).sort()).toEqual(['belady', 'fifo', 'lru']);
    expect(cell.scans).toBe(true);
    expect(cell.runs.lru?.[0]?.all).toBeCloseTo(40);
  });

  it('turns cells into rows and computes the targets in points against LRU', () => {
    const plain: Cell = { name: 'trace 2%', scans: false, runs: { arc: [hr(30)], lru: [hr(30.4)], belady: [hr(40)] } };
    const scan: Cell = {
      name: 'scan 20% 2%',
      scans: true,
      runs: { arc: [hr(20, 60), hr(22, 62), hr(21, 61)], lru: [hr(14, 40), hr(15, 41), hr(17, 44)], belady: [hr(30, 80), hr(30, 80), hr(30, 80)] },
    };
    expect(gap(scan, 'arc', 'lru')).toBe(6);
    expect(gap(scan, 'arc', 'lru', true)).toBe(20);
    const rows = cellRows(scan, 'arc');
    expect(rows.map((r) => r.case)).toEqual(['scan 20% 2%', 'scan 20% 2% non-scan', 'scan 20% 2% gap to belady']);
    expect(rows[0]?.brixlet.median).toBe(21);
    expect(rows[0]?.peers.lru?.median).toBe(15);
    expect(rows[2]?.brixlet.median).toBe(9);
    expect(cellRows(plain, 'arc')).toHaveLength(2);
    const [every, scanAll, scanNon] = hitRatioTargets([plain, scan], 'arc');
    expect(every).toMatchObject({ value: expect.closeTo(-0.4, 5), met: true, threshold: -0.5 });
    expect(scanAll).toMatchObject({ value: 6, met: true });
    expect(scanNon).toMatchObject({ value: 20, met: true });
    const [worse] = hitRatioTargets([{ ...plain, runs: { ...plain.runs, arc: [hr(29.8)] } }], 'arc');
    expect(worse?.met).toBe(false);
  });
});
