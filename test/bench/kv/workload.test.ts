import { describe, expect, it } from 'vitest';
import { packWorkload, requestCount, uniqueBlocks } from '../../../bench/kv/workload.js';

describe('workload', () => {
  it('packs chains back to back and counts unique blocks, optionally without scans', () => {
    const w = packWorkload('w', [[1, 2], [1, 2, 3], [9, 8, 7]], Uint8Array.from([0, 0, 1]));
    expect(Array.from(w.blocks)).toEqual([1, 2, 1, 2, 3, 9, 8, 7]);
    expect(Array.from(w.starts)).toEqual([0, 2, 5, 8]);
    expect(requestCount(w)).toBe(3);
    expect(uniqueBlocks(w)).toBe(6);
    expect(uniqueBlocks(w, true)).toBe(3);
  });
});
