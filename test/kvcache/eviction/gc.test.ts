// One million entries per policy with churn through the chain cache: no garbage-collection pause
// over 10 ms (the policies keep typed arrays only, and allocate nothing per call).
import { PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { ArcPolicy } from '../../../src/kvcache/eviction/arc.js';
import { ChainCache } from '../../../src/kvcache/eviction/chain-cache.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';
import { S3FifoPolicy } from '../../../src/kvcache/eviction/s3fifo.js';
import type { EvictionPolicy } from '../../../src/kvcache/eviction/types.js';

const N = 1 << 20;

describe.each<[string, (capacity: number) => EvictionPolicy]>([
  ['arc', (capacity) => new ArcPolicy({ capacity })],
  ['s3fifo', (capacity) => new S3FifoPolicy({ capacity })],
  ['lru', (capacity) => new LruPolicy({ capacity })],
])('%s at one million entries', (_name, make) => {
  it('fills, hits and churns 1 M blocks without a GC pause over 10 ms', { timeout: 20_000 }, async () => {
    const cache = new ChainCache(N, make(N));
    const pauses: number[] = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) pauses.push(e.duration);
    });
    obs.observe({ entryTypes: ['gc'] });
    const chain = new Int32Array(4);
    let next = 0;
    // 1.5 M blocks in chains of 4, every 4th request re-reads an earlier chain's root.
    for (let r = 0; r < (N * 1.5) / 4; r++) {
      if (r % 4 === 3) {
        chain[0] = (r * 40503) % next;
        cache.request(chain.subarray(0, 1));
      }
      for (let i = 0; i < 4; i++) chain[i] = next++;
      cache.request(chain);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    obs.disconnect();
    expect(cache.size).toBe(N);
    expect(cache.counters().evictions).toBeGreaterThan(N / 3);
    expect(Math.max(0, ...pauses)).toBeLessThanOrEqual(10);
  });
});
