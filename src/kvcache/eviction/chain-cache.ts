/**
 * A block cache over integer block ids that drives an EvictionPolicy exactly as the shard does, for
 * the hit-ratio simulator and as a reference model in tests. A request is a chain of block ids
 * (block i's parent is block i − 1). `request(chain)`:
 * 1. looks up the longest cached prefix (h blocks) and touches it deepest first (h − 1 … 0), pinning
 *    those blocks for the rest of the request as the engine's read leases do;
 * 2. allocates the missing blocks h … n − 1 in order, evicting one victim per block when full; a block
 *    links to its parent at once, so a parent with allocated or cached children is never a victim
 *    (leaf first). When nothing may be evicted the rest of the chain is dropped (the shard's FULL);
 * 3. hands the new blocks to the policy root to leaf (SEAL order), then ends the pins.
 * So every cached block's parent is cached. Block ids are non-negative integers below 2^31; the
 * id → slot map grows with the largest id seen.
 */
import { checkCapacity } from './policy-options.js';
import type { EvictionPolicy } from './types.js';

const NONE = -1;

export interface ChainCacheStats {
  readonly requests: number;
  readonly requestedBlocks: number;
  /** Blocks served from the cache: the contiguous prefix hits of every request. */
  readonly hitBlocks: number;
  readonly insertedBlocks: number;
  readonly evictions: number;
  /** Missing blocks not cached because nothing could be evicted. */
  readonly droppedBlocks: number;
  readonly ghostHits: number;
}

/** A non-negative 31-bit fingerprint of a block id (what the shard derives from the key). */
export function blockFingerprint(block: number): number {
  let h = Math.imul(block ^ 0x5bd1e995, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 1;
}

export class ChainCache {
  private slotOf: Int32Array;
  private readonly blockOf: Int32Array;
  private readonly parent: Int32Array;
  private readonly children: Int32Array;
  private readonly pins: Int32Array;
  private readonly free: Int32Array;
  private freeTop: number;
  private scratch = new Int32Array(256);
  private readonly stats = { requests: 0, requestedBlocks: 0, hitBlocks: 0, insertedBlocks: 0, evictions: 0, droppedBlocks: 0, ghostHits: 0 };
  readonly canEvict = (slot: number): boolean => this.pins[slot] === 0 && this.children[slot] === 0;

  /** `policy` must have been created for at least `capacity` entries. */
  constructor(
    readonly capacity: number,
    readonly policy: EvictionPolicy,
  ) {
    checkCapacity(capacity);
    this.slotOf = new Int32Array(1024).fill(NONE);
    this.blockOf = new Int32Array(capacity).fill(NONE);
    this.parent = new Int32Array(capacity).fill(NONE);
    this.children = new Int32Array(capacity);
    this.pins = new Int32Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  /** Blocks cached now. */
  get size(): number {
    return this.capacity - this.freeTop;
  }

  counters(): ChainCacheStats {
    return { ...this.stats };
  }

  has(block: number): boolean {
    return this.slot(block) !== NONE;
  }

  /** The cached parent of a cached block; NONE (-1) for a root or a block not cached. */
  parentOf(block: number): number {
    const s = this.slot(block);
    const p = s === NONE ? NONE : (this.parent[s] as number);
    return p === NONE ? NONE : (this.blockOf[p] as number);
  }

  /** Calls `fn` for every cached block. */
  forEach(fn: (block: number) => void): void {
    for (let s = 0; s < this.capacity; s++) if (this.blockOf[s] !== NONE) fn(this.blockOf[s] as number);
  }

  /** Holds a lease on a cached block (it cannot be evicted until `unpin`). */
  pin(block: number): void {
    const s = this.slot(block);
    if (s === NONE) throw new Error(`chain cache: block ${block} is not cached`);
    this.pins[s]!++;
  }

  unpin(block: number): void {
    const s = this.slot(block);
    if (s === NONE || this.pins[s] === 0) throw new Error(`chain cache: block ${block} is not pinned`);
    this.pins[s]!--;
  }

  /** Serves one request; returns its prefix hits (blocks 0 … h − 1 were cached). */
  request(chain: ArrayLike<number>): number {
    const n = chain.length;
    const st = this.stats;
    st.requests++;
    st.requestedBlocks += n;
    if (this.scratch.length < n) this.scratch = new Int32Array(Math.max(n, this.scratch.length * 2));
    const slots = this.scratch;
    let h = 0;
    for (; h < n; h++) {
      const s = this.slot(chain[h] as number);
      if (s === NONE) break;
      slots[h] = s;
    }
    for (let i = h - 1; i >= 0; i--) {
      const s = slots[i] as number;
      this.policy.touch(s);
      this.pins[s]!++;
    }
    st.hitBlocks += h;

    let end = h;
    let parent = h > 0 ? (slots[h - 1] as number) : NONE;
    for (; end < n; end++) {
      const block = chain[end] as number;
      if (this.slot(block) !== NONE) throw new Error(`chain cache: block ${block} cached without its parent ${chain[end - 1]}`);
      if (this.freeTop === 0) {
        const victim = this.policy.evict(this.canEvict);
        if (victim < 0) break;
        this.release(victim);
        st.evictions++;
      }
      const s = this.free[--this.freeTop] as number;
      this.map(block, s);
      this.parent[s] = parent;
      if (parent !== NONE) this.children[parent]!++;
      this.pins[s] = 1;
      slots[end] = s;
      parent = s;
    }
    st.droppedBlocks += n - end;
    st.insertedBlocks += end - h;
    for (let i = h; i < end; i++) {
      const s = slots[i] as number;
      this.pins[s] = 0;
      if (this.policy.insert(s, blockFingerprint(chain[i] as number))) st.ghostHits++;
    }
    for (let i = 0; i < h; i++) this.pins[slots[i] as number]!--;
    return h;
  }

  private slot(block: number): number {
    return block >= 0 && block < this.slotOf.length ? (this.slotOf[block] as number) : NONE;
  }

  private map(block: number, s: number): void {
    if (!Number.isInteger(block) || block < 0 || block > 0x7fff_ffff) throw new Error(`chain cache: block id ${block} is not a 31-bit integer`);
    if (block >= this.slotOf.length) {
      const grown = new Int32Array(Math.max(block + 1, this.slotOf.length * 2)).fill(NONE);
      grown.set(this.slotOf);
      this.slotOf = grown;
    }
    this.slotOf[block] = s;
    this.blockOf[s] = block;
  }

  private release(s: number): void {
    const p = this.parent[s] as number;
    if (p !== NONE) this.children[p]!--;
    this.slotOf[this.blockOf[s] as number] = NONE;
    this.blockOf[s] = NONE;
    this.parent[s] = NONE;
    this.free[this.freeTop++] = s;
  }
}

