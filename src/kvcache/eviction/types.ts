/**
 * Eviction policies work on integer entry ids (0 … capacity−1) owned by the caller (the shard index,
 * or the hit-ratio simulator) and keep their own state in typed arrays: no object per entry.
 */

export const POLICY_NAMES = ['s3fifo', 'lru', 'fifo', 'arc'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Which queue a victim left: `small`/`main` for S3-FIFO, `lru`, `fifo`. Used as a metric label. */
export type EvictionQueue = 'small' | 'main' | 'lru' | 'fifo';

export interface EvictionPolicyOptions {
  /** Largest entry id + 1 (typed arrays are sized to it). */
  readonly capacity: number;
  /** S3-FIFO small-queue share of cached entries (0 < r < 1); default 0.3. */
  readonly smallRatio?: number;
  /**
   * The fingerprint of a cached entry, read when it is evicted (the shard derives it from the key,
   * still in its index then). Without it, ghost-keeping policies store the fingerprint given to
   * insert() (4 bytes per entry).
   */
  readonly fingerprintOf?: (id: number) => number;
}

export interface EvictionCounters {
  readonly ghostHits: number;
  readonly promotions: number;
  readonly evictions: Readonly<Partial<Record<EvictionQueue, number>>>;
}

export interface EvictionPolicy {
  readonly name: PolicyName;
  /** Entries currently tracked (cached). */
  readonly size: number;
  /** The queue the last successful evict() took its victim from. */
  readonly lastQueue: EvictionQueue;
  /** Bytes of typed arrays the policy holds (counts toward the index's per-entry budget). */
  readonly memoryBytes: number;
  /**
   * Entry `id` became cached. `fingerprint` (a non-negative 31-bit integer derived from the key)
   * lets S3-FIFO recognise ghosts. Returns true when the insert was a ghost hit.
   */
  insert(id: number, fingerprint: number): boolean;
  /** A hit on cached entry `id`. */
  touch(id: number): void;
  /** `id` left the cache other than through evict() (dropped, wiped): no ghost is recorded. */
  remove(id: number): void;
  /**
   * Picks a victim, unlinks it and returns its id; -1 when none of the next `maxScan` candidates
   * (default 1024) may be evicted. A candidate for which `canEvict(id)` is false (leased, or a parent of
   * cached blocks) stays cached and is treated as recently used.
   */
  evict(canEvict: (id: number) => boolean, maxScan?: number): number;
  counters(): EvictionCounters;
}
