// One million entries per policy with churn through the chain cache: the policies keep typed arrays
// only, so the objects reachable from the cache stay a handful, not one per entry. (GC pauses at this
// size are a benchmark target: `npm run bench:kv-local`, "GC pause … 1 M entries".)
import { describe, expect, it } from 'vitest';
import { countReachableObjects } from '../../helpers/object-graph.js';
import { ArcPolicy } from '../../../src/kvcache/eviction/arc.js';
import { ChainCache } from '../../../src/kvcache/eviction/chain-cache.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';
import { S3FifoPolicy } from '../../../src/kvcache/eviction/s3fifo.js';
import type { EvictionPolicy } from '../../../src/kvcache/eviction/types.js';
import { MILLION, churnChainCache } from '../../../bench/kv/million-churn.js';

const N = MILLION;

describe.each<[string, (capacity: number) => EvictionPolicy]>([
  ['arc', (capacity) => new ArcPolicy({ capacity })],
  ['s3fifo', (capacity) => new S3FifoPolicy({ capacity })],
  ['lru', (capacity) => new LruPolicy({ capacity })],
])('%s at one million entries', (_name, make) => {
  it('fills, hits and churns 1 M blocks holding no object per entry', { timeout: 60_000 }, () => {
    const cache = new ChainCache(N, make(N));
    // 1.5 M blocks in chains of 4, every 4th request re-reads an earlier chain's root.
    churnChainCache(cache, N);
    expect(cache.size).toBe(N);
    expect(cache.counters().evictions).toBeGreaterThan(N / 3);
    // Typed arrays, a few counters and closures: well under one object per thousand entries.
    expect(countReachableObjects(cache, N)).toBeLessThan(1000);
  });
});

describe('countReachableObjects', () => {
  it('sees an object per entry where a structure keeps one', () => {
    const perEntry = new Map(Array.from({ length: 5000 }, (_, i) => [i, { slot: i }]));
    expect(countReachableObjects({ perEntry })).toBeGreaterThan(5000);
    expect(countReachableObjects({ arrays: [new Int32Array(5000), new Float64Array(5000)] })).toBe(4);
  });
});
