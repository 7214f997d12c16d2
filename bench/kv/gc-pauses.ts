/**
 * Garbage-collection pauses at one million entries, for bench:kv-local. The same churn the unit tests
 * run (test/kvcache/eviction/gc.test.ts, test/kvcache/shard-gc.test.ts), which there assert only that
 * no object is kept per entry: a pause bound depends on the machine, so it is a target here.
 *  - each eviction policy through the chain cache: 1.5 M blocks in chains of 4, every 4th request
 *    re-reads an earlier chain's root;
 *  - the shard (index + ARC policy, no slab mapped): 1.5 M blocks of 4 KiB through 1 M slots in
 *    batches of 256, an EXISTS every 8th batch.
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
import { AllocFlag } from '../../src/kvcache/protocol.js';
import { KvShard } from '../../src/kvcache/shard.js';

export const GC_ENTRIES = 1 << 20;
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
    const chain = new Int32Array(4);
    let next = 0;
    for (let r = 0; r < (N * 1.5) / 4; r++) {
      if (r % 4 === 3) {
        chain[0] = (r * 40503) % next;
        cache.request(chain.subarray(0, 1));
      }
      for (let i = 0; i < 4; i++) chain[i] = next++;
      cache.request(chain);
    }
    if (cache.size !== N) throw new Error(`chain cache holds ${cache.size}, not ${N}`);
  });
}

export function shardPause(): Promise<number> {
  const { config } = loadConfig({ env: {}, flags: {} });
  const options = { ...kvOptionsFromConfig(config.kv), slabSize: 1024 * 1024 * KiB, slabCount: 4, pageSize: 4 * 1024 * KiB, maxEntries: N, policy: 'arc' as const, prefault: false };
  return longestPause(() => {
    const shard = new KvShard(options);
    const ns = shard.hello('big', '', 4 * KiB);
    const batch = 256;
    const keys = Buffer.alloc(batch * 16);
    const lengths = new Uint32Array(batch).fill(4 * KiB);
    const status = new Uint8Array(batch);
    const ids = new Int32Array(batch);
    let next = 0;
    for (let round = 0; round < (N * 1.5) / batch; round++) {
      for (let i = 0; i < batch; i++) {
        keys.writeUInt32LE(next++, i * 16);
        keys.writeUInt32LE((0x9e3779b1 ^ next) >>> 0, i * 16 + 8);
      }
      shard.alloc(ns, { keys, lengths, flags: AllocFlag.INDEPENDENT, parent: undefined }, status, ids);
      for (let i = 0; i < batch; i++) if ((ids[i] as number) >= 0) shard.seal(ids[i] as number);
      if (round % 8 === 0) shard.lookup(ns, keys, 'exists');
    }
    if (shard.index.size !== N) throw new Error(`shard index holds ${shard.index.size}, not ${N}`);
  });
}
