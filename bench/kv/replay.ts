/**
 * Replays a Workload through a ChainCache driving one eviction policy (or through Belady), and
 * reports the prefix-hit ratio: Σ contiguous hits from block 0 / Σ blocks requested, over every
 * request from a cold cache (no warm-up), and the same over non-scan requests only.
 */
import { ChainCache } from '../../src/kvcache/eviction/chain-cache.js';
import type { EvictionPolicy } from '../../src/kvcache/eviction/types.js';
import { belady } from './belady.js';
import { requestCount, type Workload } from './workload.js';

export interface HitRatio {
  /** Prefix-hit ratio over all requests, in percent. */
  readonly all: number;
  /** Over non-scan requests (= all when the workload has no scans), in percent. */
  readonly nonScan: number;
  readonly ms: number;
  /** Blocks not cached because the policy found no victim (the shard's FULL). */
  readonly dropped?: number;
}

/** Percent hit ratios from per-request prefix hits. */
export function hitRatio(w: Workload, hits: Int32Array, ms = 0): HitRatio {
  let hit = 0;
  let req = 0;
  let hitN = 0;
  let reqN = 0;
  for (let r = 0; r < requestCount(w); r++) {
    const n = (w.starts[r + 1] as number) - (w.starts[r] as number);
    hit += hits[r] as number;
    req += n;
    if (w.scan?.[r] !== 1) {
      hitN += hits[r] as number;
      reqN += n;
    }
  }
  return { all: req ? (100 * hit) / req : 0, nonScan: reqN ? (100 * hitN) / reqN : 0, ms };
}

export function replayPolicy(w: Workload, capacity: number, policy: EvictionPolicy): HitRatio {
  const t0 = performance.now();
  const cache = new ChainCache(capacity, policy);
  const hits = new Int32Array(requestCount(w));
  for (let r = 0; r < hits.length; r++) hits[r] = cache.request(w.blocks.subarray(w.starts[r], w.starts[r + 1]));
  return { ...hitRatio(w, hits, performance.now() - t0), dropped: cache.counters().droppedBlocks };
}

export function replayBelady(w: Workload, capacity: number): HitRatio {
  const t0 = performance.now();
  const { hits } = belady(w, capacity);
  return hitRatio(w, hits, performance.now() - t0);
}
