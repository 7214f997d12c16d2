/**
 * The mock engine's KV memory: `capacity` blocks shared by running sequences and a prefix cache,
 * the way vLLM's automatic prefix caching shares them. A block is private (held by one sequence,
 * no key yet), shared (keyed by its chained prompt hash, referenced by ≥ 1 running sequence) or
 * cached (keyed, unreferenced, evictable in LRU order). Only counts and keyed entries are kept,
 * never physical block ids. Keyed entries live in typed arrays (at most one per block) behind an
 * open-addressing table on the 53-bit hash, so a lookup allocates nothing: the simulator does
 * tens of millions of them.
 */

const NONE = -1;

export class KvBlockPool {
  private readonly hash: Float64Array;
  private readonly refs: Int32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Unused entry ids (a stack). */
  private readonly freeIds: Int32Array;
  private freeTop: number;
  /** Slot → entry id + 1 (0 = empty); linear probing, load ≤ 0.5. */
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly shift: number;
  private keyed = 0;
  /** Unkeyed blocks held by sequences. */
  private privateBlocks = 0;
  /** Keyed blocks with refs > 0. */
  private sharedInUse = 0;
  private lruHead = NONE;
  private lruTail = NONE;
  private lruSize = 0;
  private readonly scratch: number[] = [];
  /** Cached blocks dropped to make room, since start. */
  evictions = 0;
  /** Whether the last register() keyed a new entry (false: it joined an existing one). */
  created = false;

  constructor(
    readonly capacity: number,
    private readonly onEvict?: (hash: number) => void,
  ) {
    if (!(capacity >= 1) || !Number.isInteger(capacity)) throw new RangeError(`KV capacity must be a positive number of blocks, got ${capacity}`);
    this.hash = new Float64Array(capacity);
    this.refs = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.freeIds = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeIds[i] = capacity - 1 - i;
    this.freeTop = capacity;
    let bits = 1;
    while (1 << bits < capacity * 2) bits++;
    this.table = new Int32Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.shift = 32 - bits;
  }

  /** Blocks nobody holds and no cache entry occupies. */
  freeBlocks(): number {
    return this.capacity - this.privateBlocks - this.keyed;
  }

  /** Blocks held by running sequences (vllm:gpu_cache_usage_perc × capacity). */
  usedBlocks(): number {
    return this.privateBlocks + this.sharedInUse;
  }

  /** Unreferenced keyed blocks: the evictable prefix cache. */
  cachedBlocks(): number {
    return this.lruSize;
  }

  /** Leading hashes (at most `max`) whose blocks are resident, referenced or not. */
  matchLength(hashes: readonly number[], max = hashes.length): number {
    const n = Math.min(max, hashes.length);
    let m = 0;
    while (m < n && this.find(hashes[m] as number) !== NONE) m++;
    return m;
  }

  /**
   * Admits a sequence needing `totalBlocks`: references up to `maxMatch` leading cached blocks
   * (their entry ids appended to `into`) and allocates the rest, evicting LRU blocks. Returns the
   * matched count, or -1 (nothing changed) when the blocks cannot be found even after evicting
   * every cached block.
   */
  admit(hashes: readonly number[], maxMatch: number, totalBlocks: number, into: number[]): number {
    const n = Math.min(maxMatch, hashes.length);
    const found = this.scratch;
    found.length = 0;
    let matchedIdle = 0;
    for (let m = 0; m < n; m++) {
      const id = this.find(hashes[m] as number);
      if (id === NONE) break;
      if (this.refs[id] === 0) matchedIdle++;
      found.push(id);
    }
    const m = found.length;
    const need = totalBlocks - m;
    if (this.freeBlocks() + this.lruSize - matchedIdle < need) return -1;
    for (let i = 0; i < m; i++) into.push(this.ref(found[i] as number));
    this.evictFor(need);
    this.privateBlocks += need;
    return m;
  }

  /** One more private block for a growing sequence, evicting if needed; false when none is left. */
  allocate(): boolean {
    if (this.freeBlocks() < 1 && this.lruSize === 0) return false;
    this.evictFor(1);
    this.privateBlocks++;
    return true;
  }

  /**
   * Turns one of a sequence's private blocks, now fully computed, into a keyed entry under `hash`
   * and returns its id. When another sequence keyed the same content first, the private block is
   * freed and the existing entry referenced instead (equal chained hash = equal prefix).
   */
  register(hash: number): number {
    this.privateBlocks--;
    const existing = this.find(hash);
    this.created = existing === NONE;
    if (existing !== NONE) return this.ref(existing);
    const id = this.freeIds[--this.freeTop] as number;
    this.hash[id] = hash;
    this.refs[id] = 1;
    this.insert(hash, id);
    this.keyed++;
    this.sharedInUse++;
    return id;
  }

  /** Drops a sequence's blocks: private ones are freed, shared ones lose a reference, tail first. */
  release(shared: readonly number[], privateCount: number): void {
    this.privateBlocks -= privateCount;
    for (let i = shared.length - 1; i >= 0; i--) this.unref(shared[i] as number);
  }

  /**
   * Drops every cached (unreferenced) block, as vLLM's reset_prefix_cache does; refuses (false, nothing
   * changed) while a running sequence holds a keyed block. No per-block eviction is reported.
   */
  clearCached(): boolean {
    if (this.sharedInUse > 0) return false;
    while (this.lruHead !== NONE) {
      const victim = this.lruHead;
      this.lruRemove(victim);
      this.remove(this.hash[victim] as number);
      this.freeIds[this.freeTop++] = victim;
      this.keyed--;
    }
    return true;
  }

  private ref(id: number): number {
    if (this.refs[id] === 0) {
      this.lruRemove(id);
      this.sharedInUse++;
    }
    (this.refs[id] as number)++;
    return id;
  }

  private unref(id: number): void {
    if (--(this.refs[id] as number) > 0) return;
    this.sharedInUse--;
    this.prev[id] = this.lruTail;
    this.next[id] = NONE;
    if (this.lruTail === NONE) this.lruHead = id;
    else this.next[this.lruTail] = id;
    this.lruTail = id;
    this.lruSize++;
  }

  private lruRemove(id: number): void {
    const p = this.prev[id] as number;
    const n = this.next[id] as number;
    if (p === NONE) this.lruHead = n;
    else this.next[p] = n;
    if (n === NONE) this.lruTail = p;
    else this.prev[n] = p;
    this.lruSize--;
  }

  private evictFor(need: number): void {
    while (this.freeBlocks() < need) {
      const victim = this.lruHead;
      if (victim === NONE) throw new Error('KV pool: eviction past the cache (caller checked capacity)');
      this.lruRemove(victim);
      this.remove(this.hash[victim] as number);
      this.freeIds[this.freeTop++] = victim;
      this.keyed--;
      this.evictions++;
      this.onEvict?.(this.hash[victim] as number);
    }
  }

  private slot(h: number): number {
    const lo = h >>> 0;
    const hi = (h / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  private find(h: number): number {
    for (let i = this.slot(h); ; i = (i + 1) & this.mask) {
      const e = this.table[i] as number;
      if (e === 0) return NONE;
      if (this.hash[e - 1] === h) return e - 1;
    }
  }

  private insert(h: number, id: number): void {
    let i = this.slot(h);
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = id + 1;
  }

  /** Linear-probing delete with backward shift (no tombstones). */
  private remove(h: number): void {
    let i = this.slot(h);
    while (this.hash[(this.table[i] as number) - 1] !== h) i = (i + 1) & this.mask;
    for (let j = (i + 1) & this.mask; ; j = (j + 1) & this.mask) {
      const e = this.table[j] as number;
      if (e === 0) break;
      const home = this.slot(this.hash[e - 1] as number);
      // Move e back to i unless its home lies cyclically in (i, j].
      if (((j - home) & this.mask) >= ((j - i) & this.mask)) {
        this.table[i] = e;
        i = j;
      }
    }
    this.table[i] = 0;
  }
}
