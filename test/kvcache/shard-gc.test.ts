// One million blocks in the shard's index and policy, with churn: the index and the policies keep no
// object per entry (counted, not timed; GC pauses at this size are a benchmark target:
// `npm run bench:kv-local`, "GC pause … 1 M entries").
import { describe, expect, it } from 'vitest';
import { countReachableObjects } from '../helpers/object-graph.js';
import { KvShard } from '../../src/kvcache/shard.js';
import { shardOptions } from './shard-fixture.js';
import { MILLION, SHARD_BATCH, churnShard } from '../../bench/kv/million-churn.js';

const N = MILLION;
const KiB = 1024;

describe('KvShard at one million entries', () => {
  it('inserts, looks up and evicts 1 M blocks holding no object per entry', { timeout: 120_000 }, () => {
    // 4 GiB of 4 KiB slots = 1 M slots, in the index only (no slab is mapped here).
    const shard = new KvShard(shardOptions({ slabSize: 1024 * 1024 * KiB, slabCount: 4, pageSize: 4 * 1024 * KiB, maxEntries: N, policy: 'arc' }));
    // 1.5 M blocks through a 1 M-entry shard: the last half million each evict one.
    churnShard(shard, shard.hello('big', '', 4 * KiB), 4 * KiB, N);
    expect(shard.index.size).toBe(N);
    expect(shard.policy.counters().evictions).toBeDefined();
    const evicted = Object.values(shard.policy.counters().evictions).reduce((a, b) => a + (b ?? 0), 0);
    expect(evicted).toBeGreaterThanOrEqual(N / 2 - SHARD_BATCH);
    // The whole shard (index, allocator, policy, namespaces): a handful of objects, not one per entry.
    expect(countReachableObjects(shard, N)).toBeLessThan(1000);
    // The per-entry budget: index + policy typed arrays (their byte lengths, fixed by the layout).
    expect((shard.index.memoryBytes + shard.policy.memoryBytes) / N).toBeLessThanOrEqual(64);
  });
});
