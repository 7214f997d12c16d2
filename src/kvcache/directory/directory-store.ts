/**
 * The pool directory's home-side store: which member holds which hot block, for the chains this agent
 * is the ring home of. One entry per (namespace, key, holder) with an absolute expiry, refreshed
 * by a re-publish; an evict delta removes that holder's entry; a holder that leaves the membership
 * loses all of its entries. Entries live in struct-of-arrays typed arrays (no object per entry):
 * 16-byte key, namespace and holder ids (u16 each), expiry (f64), links of the age list (oldest
 * first) and of the hash chain: 40 bytes per entry plus 2–4 of buckets. Storage starts small and doubles up
 * to `maxEntries`; a full store forgets its oldest entry for a new one. Expiry is checked on every
 * read and reclaimed by sweep(now): time is always passed in, never read here.
 */
import { randomInt } from 'node:crypto';
import { type DirectoryAnswer, NO_HOLDER } from '../directory-types.js';
import { DeltaKind, DeltaStatus, PEER_KEY_BYTES, PUBLISH_ITEM_BYTES } from '../peer/peer-protocol.js';

const DIRECTORY_KEY_BYTES = PEER_KEY_BYTES;

/** Namespace and holder ids are u16; 0xffff is never used, so a table holds at most this many. */
const MAX_IDS = 0xffff;
const NONE = -1;
const MIN_CAPACITY = 1024;

export interface DirectoryStoreOptions {
  /** How long an entry lives after its last publish (ms). */
  readonly ttlMs: number;
  /** Most entries held; beyond it the oldest is forgotten. */
  readonly maxEntries: number;
}

/** Name ↔ u16 id with reference counts; ids of unreferenced names are reused. */
class NameTable {
  private readonly ids = new Map<string, number>();
  readonly names: (string | undefined)[] = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];

  idOf(name: string): number | undefined {
    return this.ids.get(name);
  }

  /** The id of `name`, made if needed; undefined when the table is full. */
  take(name: string): number | undefined {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.free.pop() ?? (this.names.length < MAX_IDS ? this.names.length : undefined);
      if (id === undefined) return undefined;
      this.ids.set(name, id);
      this.names[id] = name;
      this.refs[id] = 0;
    }
    return id;
  }

  ref(id: number): void {
    this.refs[id] = (this.refs[id] as number) + 1;
  }

  unref(id: number): void {
    const n = (this.refs[id] as number) - 1;
    this.refs[id] = n;
    if (n > 0) return;
    this.ids.delete(this.names[id] as string);
    this.names[id] = undefined;
    this.free.push(id);
  }
}

export class DirectoryStore {
  readonly ttlMs: number;
  readonly maxEntries: number;
  private capacity = 0;
  private keys = new Uint32Array(0);
  private nsId = new Uint16Array(0);
  private holder = new Uint16Array(0);
  private expiry = new Float64Array(0);
  /** Age list: older/newer neighbours; head = oldest (expires first). */
  private older = new Int32Array(0);
  private newer = new Int32Array(0);
  /** Hash chain link while in use; free-list link while free. */
  private next = new Int32Array(0);
  private buckets = new Int32Array(0);
  private mask = 0;
  private freeHead = NONE;
  private oldest = NONE;
  private newest = NONE;
  private used = 0;
  private readonly seed = randomInt(0x7fff_ffff) | 1;
  private readonly namespaces = new NameTable();
  private readonly holders = new NameTable();
  /** Entries forgotten while still live because the store was full. */
  evictedLive = 0;

  constructor(opts: DirectoryStoreOptions) {
    if (!(opts.ttlMs > 0)) throw new RangeError(`directory TTL ${opts.ttlMs} must be positive`);
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) throw new RangeError(`directory size ${opts.maxEntries} must be a positive integer`);
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries;
    this.grow(Math.min(MIN_CAPACITY, opts.maxEntries));
  }

  get size(): number {
    return this.used;
  }

  /**
   * Applies the deltas of `holderNode` in `namespace`, given as PUBLISH items (`items`: n × 24 bytes,
   * key, u32 length, u8 kind, 3 reserved; docs/kv-protocol.md part 2): HOLD adds or refreshes the
   * entry until now + TTL, EVICT removes it. Writes each item's DeltaStatus into `status`; returns how
   * many were applied. A delta is dropped only when the namespace or holder table is full (65535
   * names) or its kind is unknown.
   */
  publish(namespace: string, holderNode: string, items: Uint8Array, now: number, status: Uint8Array): number {
    const count = items.length / PUBLISH_ITEM_BYTES;
    const ns = this.namespaces.take(namespace);
    const h = this.holders.take(holderNode);
    // Held for the batch: an entry removed mid-batch must not free an id the batch still uses.
    if (ns !== undefined) this.namespaces.ref(ns);
    if (h !== undefined) this.holders.ref(h);
    let applied = 0;
    for (let i = 0; i < count; i++) {
      const at = i * PUBLISH_ITEM_BYTES;
      const kind = items[at + DIRECTORY_KEY_BYTES + 4] as number;
      // A name the tables could not take has no entries, so its EVICT has nothing to remove.
      const ok = kind === DeltaKind.EVICT || (kind === DeltaKind.HOLD && ns !== undefined && h !== undefined);
      if (ok && ns !== undefined && h !== undefined) {
        if (kind === DeltaKind.HOLD) this.hold(ns, h, items, at, now);
        else {
          const id = this.find(ns, items, at, h);
          if (id >= 0) this.remove(id);
        }
      }
      status[i] = ok ? DeltaStatus.APPLIED : DeltaStatus.DROPPED;
      if (ok) applied++;
    }
    if (ns !== undefined) this.namespaces.unref(ns);
    if (h !== undefined) this.holders.unref(h);
    return applied;
  }

  /**
   * Holders of each key of a chain in `namespace` (entries not expired at `now`), never `exclude`
   * (the asker: it already missed those blocks). A key keeps the previous key's holder when that
   * one holds it too, so a chain is fetched from as few holders as possible; otherwise the holder
   * published most recently wins.
   */
  lookup(namespace: string, keys: Uint8Array, now: number, exclude?: string): DirectoryAnswer {
    const n = keys.length / DIRECTORY_KEY_BYTES;
    const holderOf = new Uint16Array(n).fill(NO_HOLDER);
    const holders: string[] = [];
    const ns = this.namespaces.idOf(namespace);
    if (ns === undefined || this.used === 0) return { holders, holderOf };
    const skip = exclude === undefined ? -1 : (this.holders.idOf(exclude) ?? -1);
    const answerIndex = new Map<number, number>();
    let prev = -1;
    for (let i = 0; i < n; i++) {
      const at = i * DIRECTORY_KEY_BYTES;
      let best = -1;
      let bestExpiry = -Infinity;
      for (let id = this.buckets[this.bucketOfBytes(keys, at, ns)] as number; id !== NONE; id = this.next[id] as number) {
        if (!this.matches(id, keys, at, ns)) continue;
        const hid = this.holder[id] as number;
        const exp = this.expiry[id] as number;
        if (hid === skip || exp <= now) continue;
        if (hid === prev) {
          best = hid;
          break;
        }
        if (exp > bestExpiry) {
          best = hid;
          bestExpiry = exp;
        }
      }
      prev = best;
      if (best < 0) continue;
      let ix = answerIndex.get(best);
      if (ix === undefined) {
        ix = holders.length;
        answerIndex.set(best, ix);
        holders.push(this.holders.names[best] as string);
      }
      holderOf[i] = ix;
    }
    return { holders, holderOf };
  }

  /** Removes every entry expired at `now` (oldest first: the age list is in expiry order); returns how many. */
  sweep(now: number): number {
    let n = 0;
    while (this.oldest !== NONE && (this.expiry[this.oldest] as number) <= now) {
      this.remove(this.oldest);
      n++;
    }
    return n;
  }

  /** Drops every entry of holders not in `members` (the membership changed); returns how many. */
  retainHolders(members: ReadonlySet<string>): number {
    const gone = new Set<number>();
    for (let id = 0; id < this.holders.names.length; id++) {
      const name = this.holders.names[id];
      if (name !== undefined && !members.has(name)) gone.add(id);
    }
    if (gone.size === 0) return 0;
    let n = 0;
    for (let id = this.oldest; id !== NONE; ) {
      const newer = this.newer[id] as number;
      if (gone.has(this.holder[id] as number)) {
        this.remove(id);
        n++;
      }
      id = newer;
    }
    return n;
  }

  private hold(ns: number, h: number, keys: Uint8Array, at: number, now: number): void {
    let id = this.find(ns, keys, at, h);
    if (id >= 0) {
      this.unlinkAge(id);
    } else {
      id = this.allocate(now);
      const k = id * 4;
      for (let w = 0; w < 4; w++) this.keys[k + w] = readWord(keys, at + w * 4);
      this.nsId[id] = ns;
      this.holder[id] = h;
      this.namespaces.ref(ns);
      this.holders.ref(h);
      const b = this.bucketOf(id);
      this.next[id] = this.buckets[b] as number;
      this.buckets[b] = id;
      this.used++;
    }
    this.expiry[id] = now + this.ttlMs;
    this.pushNewest(id);
  }

  /** A free entry id: from the free list, by growing, else by forgetting the oldest entry. */
  private allocate(now: number): number {
    if (this.freeHead === NONE && this.capacity < this.maxEntries) this.grow(Math.min(this.maxEntries, this.capacity * 2));
    if (this.freeHead === NONE) {
      if ((this.expiry[this.oldest] as number) > now) this.evictedLive++;
      this.remove(this.oldest);
    }
    const id = this.freeHead;
    this.freeHead = this.next[id] as number;
    return id;
  }

  private remove(id: number): void {
    const b = this.bucketOf(id);
    let cur = this.buckets[b] as number;
    if (cur === id) this.buckets[b] = this.next[id] as number;
    else {
      while (cur !== NONE && this.next[cur] !== id) cur = this.next[cur] as number;
      if (cur === NONE) throw new Error(`directory entry ${id} missing from its hash chain`);
      this.next[cur] = this.next[id] as number;
    }
    this.unlinkAge(id);
    this.namespaces.unref(this.nsId[id] as number);
    this.holders.unref(this.holder[id] as number);
    this.next[id] = this.freeHead;
    this.freeHead = id;
    this.used--;
  }

  private pushNewest(id: number): void {
    this.older[id] = this.newest;
    this.newer[id] = NONE;
    if (this.newest !== NONE) this.newer[this.newest] = id;
    else this.oldest = id;
    this.newest = id;
  }

  private unlinkAge(id: number): void {
    const o = this.older[id] as number;
    const n = this.newer[id] as number;
    if (o !== NONE) this.newer[o] = n;
    else this.oldest = n;
    if (n !== NONE) this.older[n] = o;
    else this.newest = o;
  }

  private find(ns: number, keys: Uint8Array, at: number, h: number): number {
    for (let id = this.buckets[this.bucketOfBytes(keys, at, ns)] as number; id !== NONE; id = this.next[id] as number) {
      if (this.holder[id] === h && this.matches(id, keys, at, ns)) return id;
    }
    return NONE;
  }

  private matches(id: number, buf: Uint8Array, at: number, ns: number): boolean {
    if (this.nsId[id] !== ns) return false;
    const k = id * 4;
    for (let w = 0; w < 4; w++) if (this.keys[k + w] !== readWord(buf, at + w * 4) >>> 0) return false;
    return true;
  }

  private bucketOfBytes(buf: Uint8Array, at: number, ns: number): number {
    return this.mix(ns, readWord(buf, at), readWord(buf, at + 4), readWord(buf, at + 8), readWord(buf, at + 12));
  }

  private bucketOf(id: number): number {
    const k = id * 4;
    const w = this.keys;
    return this.mix(this.nsId[id] as number, w[k] as number, w[k + 1] as number, w[k + 2] as number, w[k + 3] as number);
  }

  /** Every holder of a key hashes to one bucket (the holder is not mixed in), so a lookup walks one chain. */
  private mix(ns: number, w0: number, w1: number, w2: number, w3: number): number {
    let h = Math.imul(ns ^ this.seed, 0x9e3779b1);
    h = Math.imul(h ^ w0, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ w1, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ w2, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ w3, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  /** Copies the entries into arrays of `cap` (ids kept, so the age list stays valid) and rebuilds the buckets. */
  private grow(cap: number): void {
    const old = this.capacity;
    const copy = <T extends Uint32Array | Uint16Array | Float64Array | Int32Array>(a: T, make: (n: number) => T, per = 1): T => {
      const out = make(cap * per);
      out.set(a);
      return out;
    };
    this.keys = copy(this.keys, (n) => new Uint32Array(n), 4);
    this.nsId = copy(this.nsId, (n) => new Uint16Array(n));
    this.holder = copy(this.holder, (n) => new Uint16Array(n));
    this.expiry = copy(this.expiry, (n) => new Float64Array(n));
    this.older = copy(this.older, (n) => new Int32Array(n));
    this.newer = copy(this.newer, (n) => new Int32Array(n));
    this.next = copy(this.next, (n) => new Int32Array(n));
    this.capacity = cap;
    // Buckets: a power of two ≥ capacity / 2 (chains average ≤ 2 entries when full).
    let b = 1;
    while (b * 2 < cap) b <<= 1;
    this.buckets = new Int32Array(b).fill(NONE);
    this.mask = b - 1;
    for (let id = this.oldest; id !== NONE; id = this.newer[id] as number) {
      const k = this.bucketOf(id);
      this.next[id] = this.buckets[k] as number;
      this.buckets[k] = id;
    }
    for (let id = cap - 1; id >= old; id--) {
      this.next[id] = this.freeHead;
      this.freeHead = id;
    }
  }
}

function readWord(buf: Uint8Array, o: number): number {
  return (buf[o] as number) | ((buf[o + 1] as number) << 8) | ((buf[o + 2] as number) << 16) | ((buf[o + 3] as number) << 24);
}
