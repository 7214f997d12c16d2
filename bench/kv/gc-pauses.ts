/**
 * Garbage-collection pauses at one million entries, for bench:kv-local: each eviction policy through
 * the chain cache, and the shard (index + ARC). The churn (million-churn.ts) is the one the unit tests
 * run (test/kvcache/eviction/gc.test.ts, test/kvcache/shard-gc.test.ts), which there assert only that
 * no object is kept per entry: a pause bound depends on the machine, so it is a target here.
 * One value per run: the longest GC pause seen while it ran (ms).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { loadConfig } from '../../src/common/config/load-config.js';
import { ArcPolicy } from '../../src/kvcache/eviction/arc.js';
import { ChainCache } from '../../src/kvcache/eviction/chain-cache.js';
import { LruPolicy } from '../../src/kvcache/eviction/lru.js';
import { S3FifoPolicy } from '../../src/kvcache/eviction/s3fifo.js';
import type { EvictionPolicy } from '../../src/kvcache/eviction/types.js';
import { kvOptionsFromConfig } from '../../src/kvcache/options.js';
import { KvShard } from '../../src/kvcache/shard.js';
import { MILLION, churnChainCache, churnShard } from './million-churn.js';

export const GC_ENTRIES = MILLION;
const N = GC_ENTRIES;
const KiB = 1024;

export const GC_POLICIES: Record<string, (capacity: number) => EvictionPolicy> = {
  arc: (capacity) => new ArcPolicy({ capacity }),
  s3fifo: (capacity) => new S3FifoPolicy({ capacity }),
  lru: (capacity) => new LruPolicy({ capacity }),
};

/** The longest GC pause (ms) while `work` runs; the observer is flushed before it is read. */
async function longestPause(work: () => void): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const pauses: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  work();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return Math.max(0, ...pauses);
}

export function chainCachePause(make: (capacity: number) => EvictionPolicy): Promise<number> {
  return longestPause(() => {
    const cache = new ChainCache(N, make(N));
    churnChainCache(cache, N);
    if (cache.size !== N) throw new Error(`chain cache holds ${cache.size}, not ${N}`);
  });
}

export function shardPause(): Promise<number> {
  const { config } = loadConfig({ env: {}, flags: {} });
  const options = { ...kvOptionsFromConfig(config.kv), slabSize: 1024 * 1024 * KiB, slabCount: 4, pageSize: 4 * 1024 * KiB, maxEntries: N, policy: 'arc' as const, prefault: false };
  return longestPause(() => {
    const shard = new KvShard(options);
    churnShard(shard, shard.hello('big', '', 4 * KiB), 4 * KiB, N);
    if (shard.index.size !== N) throw new Error(`shard index holds ${shard.index.size}, not ${N}`);
  });
}
