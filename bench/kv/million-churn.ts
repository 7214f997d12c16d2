/**
 * The one-million-entry churn workloads shared by the GC tests (which count the objects kept) and
 * bench:kv-local (which times the GC pauses): the same work on both sides.
 *  - chain cache: 1.5 M blocks in chains of 4, every 4th request re-reads an earlier chain's root;
 *  - shard (index + policy, no slab mapped): 1.5 M blocks of 4 KiB through 1 M slots in batches of
 *    256, an EXISTS every 8th batch.
 */
import type { ChainCache } from '../../src/kvcache/eviction/chain-cache.js';
import { AllocFlag } from '../../src/kvcache/protocol.js';
import type { KvShard, Namespace } from '../../src/kvcache/shard.js';

export const MILLION = 1 << 20;
/** Keys per ALLOC batch in the shard churn. */
export const SHARD_BATCH = 256;

export function churnChainCache(cache: ChainCache, n = MILLION): void {
  const chain = new Int32Array(4);
  let next = 0;
  for (let r = 0; r < (n * 1.5) / 4; r++) {
    if (r % 4 === 3) {
      chain[0] = (r * 40503) % next;
      cache.request(chain.subarray(0, 1));
    }
    for (let i = 0; i < 4; i++) chain[i] = next++;
    cache.request(chain);
  }
}

export function churnShard(shard: KvShard, ns: Namespace, blockSize: number, n = MILLION): void {
  const batch = SHARD_BATCH;
  const keys = Buffer.alloc(batch * 16);
  const lengths = new Uint32Array(batch).fill(blockSize);
  const status = new Uint8Array(batch);
  const ids = new Int32Array(batch);
  let next = 0;
  for (let round = 0; round < (n * 1.5) / batch; round++) {
    for (let i = 0; i < batch; i++) {
      keys.writeUInt32LE(next++, i * 16);
      keys.writeUInt32LE((0x9e3779b1 ^ next) >>> 0, i * 16 + 8);
    }
    shard.alloc(ns, { keys, lengths, flags: AllocFlag.INDEPENDENT, parent: undefined }, status, ids);
    for (let i = 0; i < batch; i++) if ((ids[i] as number) >= 0) shard.seal(ids[i] as number);
    if (round % 8 === 0) shard.lookup(ns, keys, 'exists');
  }
}
