import { describe, expect, it } from 'vitest';
import { hitRatio, replayBelady, replayPolicy } from '../../../bench/kv/replay.js';
import { packWorkload } from '../../../bench/kv/workload.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';

describe('replay', () => {
  it('computes prefix-hit ratios over all requests and over non-scan ones', () => {
    const w = packWorkload('w', [[1, 2], [1, 2, 3, 4], [7, 8, 9, 10]], Uint8Array.from([0, 0, 1]));
    const r = hitRatio(w, Int32Array.from([0, 2, 1]));
    expect(r.all).toBeCloseTo((100 * 3) / 10);
    expect(r.nonScan).toBeCloseTo((100 * 2) / 6);
  });

  it('replays a policy through the chain cache from a cold cache', () => {
    const w = packWorkload('w', [[1, 2], [1, 2, 3], [1, 2, 3]]);
    const lru = replayPolicy(w, 8, new LruPolicy({ capacity: 8 }));
    expect(lru.all).toBeCloseTo((100 * 5) / 8);
    expect(lru.nonScan).toBe(lru.all);
    expect(lru.dropped).toBe(0);
    expect(replayBelady(w, 8).all).toBeCloseTo(lru.all);
  });
});
