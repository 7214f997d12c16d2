// One million blocks in the shard's index and policy, with churn: the index and the policies keep no
// object per entry (counted, not timed; GC pauses at this size are a benchmark target:
// `npm run bench:kv-local`, "GC pause … 1 M entries").
import { describe, expect, it } from 'vitest';
import { countReachableObjects } from '../helpers/object-graph.js';
import { AllocFlag } from '../../src/kvcache/protocol.js';
import { KvShard } from '../../src/kvcache/shard.js';
import { shardOptions } from './shard-fixture.js';

const N = 1 << 20;
const KiB = 1024;

describe('KvShard at one million entries', () => {
  it('inserts, looks up and evicts 1 M blocks holding no object per entry', { timeout: 120_000 }, () => {
    // 4 GiB of 4 KiB slots = 1 M slots, in the index only (no slab is mapped here).
    const shard = new KvShard(shardOptions({ slabSize: 1024 * 1024 * KiB, slabCount: 4, pageSize: 4 * 1024 * KiB, maxEntries: N, policy: 'arc' }));
    const ns = shard.hello('big', '', 4 * KiB);
    const batch = 256;
    const keys = Buffer.alloc(batch * 16);
    const lengths = new Uint32Array(batch).fill(4 * KiB);
    const status = new Uint8Array(batch);
    const ids = new Int32Array(batch);
    let next = 0;
    const fill = () => {
      for (let i = 0; i < batch; i++) {
        keys.writeUInt32LE(next++, i * 16);
        keys.writeUInt32LE((0x9e3779b1 ^ next) >>> 0, i * 16 + 8);
      }
    };
    // 1.5 M blocks through a 1 M-entry shard: the last half million each evict one.
    for (let round = 0; round < (N * 1.5) / batch; round++) {
      fill();
      shard.alloc(ns, { keys, lengths, flags: AllocFlag.INDEPENDENT, parent: undefined }, status, ids);
      for (let i = 0; i < batch; i++) if ((ids[i] as number) >= 0) shard.seal(ids[i] as number);
      if (round % 8 === 0) shard.lookup(ns, keys, 'exists');
    }
    expect(shard.index.size).toBe(N);
    expect(shard.policy.counters().evictions).toBeDefined();
    const evicted = Object.values(shard.policy.counters().evictions).reduce((a, b) => a + (b ?? 0), 0);
    expect(evicted).toBeGreaterThanOrEqual(N / 2 - batch);
    // The whole shard (index, allocator, policy, namespaces): a handful of objects, not one per entry.
    expect(countReachableObjects(shard, N)).toBeLessThan(1000);
    // The per-entry budget: index + policy typed arrays (their byte lengths, fixed by the layout).
    expect((shard.index.memoryBytes + shard.policy.memoryBytes) / N).toBeLessThanOrEqual(64);
  });
});
