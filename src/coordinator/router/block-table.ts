/**
 * Storage of the prefix index in one typed array: a 64-byte record (one cache line) per (engine,
 * block hash) pair, threaded on three intrusive lists and two chained hash tables, so a lookup, a
 * recency refresh, an insert and an eviction each touch a few cache lines — no Map of 53-bit keys
 * (boxed doubles) and no per-block objects on the routing path.
 *
 * - pair table (hash, engine slot) → node: does this engine hold this block?
 * - head table hash → the first node of the hash's holder list; the head keeps the holder count;
 * - per-engine LRU list, oldest first (eviction takes the head, a hit moves a node to the tail).
 *
 * Null is -1. Freed nodes go on a free list (threaded through LNEXT) and have ENG = -1. The array
 * doubles when full and both tables are rebuilt then, keeping ≤ 1 node per bucket on average.
 */

const NIL = -1;
const TWO_32 = 4294967296;

// Record layout (int32 fields); the stride keeps a record in one 64-byte line.
const STRIDE = 16;
const KEY_LO = 0;
const KEY_HI = 1;
const ENG = 2;
const LPREV = 3;
const LNEXT = 4;
const HPREV = 5;
const HNEXT = 6;
/** Holder count, valid on head nodes. */
const HCOUNT = 7;
/** Pair-table chain. */
const PNEXT = 8;
/** Head-table chain, valid on head nodes. */
const QNEXT = 9;

function lo32(hash: number): number {
  return hash | 0;
}

function hi32(hash: number): number {
  return (hash / TWO_32) | 0;
}

function headIndex(lo: number, hi: number, mask: number): number {
  return (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
}

function pairIndex(lo: number, hi: number, slot: number, mask: number): number {
  return (lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(slot + 1, 0x85ebca6b)) & mask;
}

export class BlockTable {
  /** Records: node n occupies rec[n*STRIDE, n*STRIDE + STRIDE). */
  private rec: Int32Array = new Int32Array(0);
  private cap = 0;
  private pairBuckets: Int32Array = new Int32Array(0);
  private headBuckets: Int32Array = new Int32Array(0);
  private mask = 0;
  private used = 0;
  private freeHead = NIL;
  private live = 0;

  // Engine slots.
  private readonly slotOf = new Map<string, number>();
  private readonly uids: (string | undefined)[] = [];
  private readonly lruHead: number[] = [];
  private readonly lruTail: number[] = [];
  private readonly counts: number[] = [];
  private readonly freeSlots: number[] = [];

  constructor(initialNodes = 1024) {
    this.grow(Math.max(16, initialNodes));
  }

  /** Live nodes (blocks held across engines). */
  get size(): number {
    return this.live;
  }

  slot(uid: string): number {
    return this.slotOf.get(uid) ?? NIL;
  }

  /** The engine's slot, created when missing. */
  ensureSlot(uid: string): number {
    const s = this.slotOf.get(uid);
    if (s !== undefined) return s;
    const slot = this.freeSlots.pop() ?? this.uids.length;
    this.uids[slot] = uid;
    this.lruHead[slot] = NIL;
    this.lruTail[slot] = NIL;
    this.counts[slot] = 0;
    this.slotOf.set(uid, slot);
    return slot;
  }

  uidOf(slot: number): string {
    return this.uids[slot] as string;
  }

  engineCount(): number {
    return this.slotOf.size;
  }

  engineUids(): IterableIterator<string> {
    return this.slotOf.keys();
  }

  count(slot: number): number {
    return this.counts[slot] ?? 0;
  }

  /** The node of (slot, hash), or -1. */
  find(slot: number, hash: number): number {
    const lo = lo32(hash);
    const hi = hi32(hash);
    const rec = this.rec;
    for (let n = this.pairBuckets[pairIndex(lo, hi, slot, this.mask)] as number; n !== NIL; n = rec[n * STRIDE + PNEXT] as number) {
      const o = n * STRIDE;
      if (rec[o + KEY_LO] === lo && rec[o + KEY_HI] === hi && rec[o + ENG] === slot) return n;
    }
    return NIL;
  }

  /** First holder node of a hash, or -1. */
  head(hash: number): number {
    return this.headOf(lo32(hash), hi32(hash));
  }

  /** Engines holding a hash (0 when none). */
  holderCount(hash: number): number {
    const h = this.head(hash);
    return h === NIL ? 0 : (this.rec[h * STRIDE + HCOUNT] as number);
  }

  nextHolder(node: number): number {
    return this.rec[node * STRIDE + HNEXT] as number;
  }

  slotOfNode(node: number): number {
    return this.rec[node * STRIDE + ENG] as number;
  }

  /** Oldest node of an engine's LRU, or -1. */
  oldest(slot: number): number {
    return this.lruHead[slot] ?? NIL;
  }

  /** Marks a node most recently used. */
  touch(node: number): void {
    const slot = this.rec[node * STRIDE + ENG] as number;
    if (this.lruTail[slot] === node) return;
    this.unlinkLru(node, slot);
    this.appendLru(node, slot);
  }

  /** Adds (slot, hash) as the engine's most recent block; the caller checked it is absent. */
  add(slot: number, hash: number): number {
    if (this.freeHead === NIL && this.used === this.cap) this.grow(this.cap * 2);
    const rec = this.rec;
    let n: number;
    if (this.freeHead !== NIL) {
      n = this.freeHead;
      this.freeHead = rec[n * STRIDE + LNEXT] as number;
    } else {
      n = this.used++;
    }
    const o = n * STRIDE;
    const lo = lo32(hash);
    const hi = hi32(hash);
    rec[o + KEY_LO] = lo;
    rec[o + KEY_HI] = hi;
    rec[o + ENG] = slot;
    const pi = pairIndex(lo, hi, slot, this.mask);
    rec[o + PNEXT] = this.pairBuckets[pi] as number;
    this.pairBuckets[pi] = n;
    const h = this.headOf(lo, hi);
    if (h === NIL) {
      const qi = headIndex(lo, hi, this.mask);
      rec[o + QNEXT] = this.headBuckets[qi] as number;
      this.headBuckets[qi] = n;
      rec[o + HPREV] = NIL;
      rec[o + HNEXT] = NIL;
      rec[o + HCOUNT] = 1;
    } else {
      const ho = h * STRIDE;
      const after = rec[ho + HNEXT] as number;
      rec[o + HNEXT] = after;
      rec[o + HPREV] = h;
      if (after !== NIL) rec[after * STRIDE + HPREV] = n;
      rec[ho + HNEXT] = n;
      rec[ho + HCOUNT] = (rec[ho + HCOUNT] as number) + 1;
    }
    this.appendLru(n, slot);
    this.counts[slot] = (this.counts[slot] as number) + 1;
    this.live++;
    return n;
  }

  remove(n: number): void {
    const rec = this.rec;
    const o = n * STRIDE;
    const slot = rec[o + ENG] as number;
    const lo = rec[o + KEY_LO] as number;
    const hi = rec[o + KEY_HI] as number;
    // Pair table.
    const pi = pairIndex(lo, hi, slot, this.mask);
    let p = this.pairBuckets[pi] as number;
    if (p === n) this.pairBuckets[pi] = rec[o + PNEXT] as number;
    else {
      while (p !== NIL && rec[p * STRIDE + PNEXT] !== n) p = rec[p * STRIDE + PNEXT] as number;
      if (p !== NIL) rec[p * STRIDE + PNEXT] = rec[o + PNEXT] as number;
    }
    // Holder list; a removed head hands its place in the head table and its count to the next holder.
    const prev = rec[o + HPREV] as number;
    const next = rec[o + HNEXT] as number;
    if (prev !== NIL) {
      rec[prev * STRIDE + HNEXT] = next;
      if (next !== NIL) rec[next * STRIDE + HPREV] = prev;
      const h = this.headOf(lo, hi);
      rec[h * STRIDE + HCOUNT] = (rec[h * STRIDE + HCOUNT] as number) - 1;
    } else {
      const replacement = next !== NIL ? next : (rec[o + QNEXT] as number);
      if (next !== NIL) {
        const no = next * STRIDE;
        rec[no + HPREV] = NIL;
        rec[no + QNEXT] = rec[o + QNEXT] as number;
        rec[no + HCOUNT] = (rec[o + HCOUNT] as number) - 1;
      }
      const qi = headIndex(lo, hi, this.mask);
      let q = this.headBuckets[qi] as number;
      if (q === n) this.headBuckets[qi] = replacement;
      else {
        while (q !== NIL && rec[q * STRIDE + QNEXT] !== n) q = rec[q * STRIDE + QNEXT] as number;
        if (q !== NIL) rec[q * STRIDE + QNEXT] = replacement;
      }
    }
    this.unlinkLru(n, slot);
    this.counts[slot] = (this.counts[slot] as number) - 1;
    rec[o + ENG] = NIL;
    rec[o + LNEXT] = this.freeHead;
    this.freeHead = n;
    this.live--;
  }

  /** Drops every node of an engine and frees its slot. */
  removeSlot(slot: number): void {
    for (let n = this.lruHead[slot] as number; n !== NIL; n = this.lruHead[slot] as number) this.remove(n);
    const uid = this.uids[slot];
    if (uid !== undefined) this.slotOf.delete(uid);
    this.uids[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private headOf(lo: number, hi: number): number {
    const rec = this.rec;
    for (let n = this.headBuckets[headIndex(lo, hi, this.mask)] as number; n !== NIL; n = rec[n * STRIDE + QNEXT] as number) {
      const o = n * STRIDE;
      if (rec[o + KEY_LO] === lo && rec[o + KEY_HI] === hi) return n;
    }
    return NIL;
  }

  private appendLru(n: number, slot: number): void {
    const rec = this.rec;
    const tail = this.lruTail[slot] as number;
    rec[n * STRIDE + LPREV] = tail;
    rec[n * STRIDE + LNEXT] = NIL;
    if (tail === NIL) this.lruHead[slot] = n;
    else rec[tail * STRIDE + LNEXT] = n;
    this.lruTail[slot] = n;
  }

  private unlinkLru(n: number, slot: number): void {
    const rec = this.rec;
    const prev = rec[n * STRIDE + LPREV] as number;
    const next = rec[n * STRIDE + LNEXT] as number;
    if (prev === NIL) this.lruHead[slot] = next;
    else rec[prev * STRIDE + LNEXT] = next;
    if (next === NIL) this.lruTail[slot] = prev;
    else rec[next * STRIDE + LPREV] = prev;
  }

  private grow(cap: number): void {
    const rec = new Int32Array(cap * STRIDE);
    rec.set(this.rec);
    this.rec = rec;
    this.cap = cap;
    let buckets = 16;
    while (buckets < cap) buckets *= 2;
    this.mask = buckets - 1;
    this.pairBuckets = new Int32Array(buckets).fill(NIL);
    this.headBuckets = new Int32Array(buckets).fill(NIL);
    for (let n = 0; n < this.used; n++) {
      const o = n * STRIDE;
      if (rec[o + ENG] === NIL) continue;
      const lo = rec[o + KEY_LO] as number;
      const hi = rec[o + KEY_HI] as number;
      const pi = pairIndex(lo, hi, rec[o + ENG] as number, this.mask);
      rec[o + PNEXT] = this.pairBuckets[pi] as number;
      this.pairBuckets[pi] = n;
      if (rec[o + HPREV] === NIL) {
        const qi = headIndex(lo, hi, this.mask);
        rec[o + QNEXT] = this.headBuckets[qi] as number;
        this.headBuckets[qi] = n;
      }
    }
  }
}
