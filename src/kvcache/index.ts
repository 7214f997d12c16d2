/**
 * The shard's block index: a chained hash table over struct-of-arrays typed arrays. One entry per
 * block (writing or sealed): 16-byte key, namespace and state (one u16), read-lease count, slot,
 * length, parent and first-child/next-sibling links (leaf-first eviction). No object per entry; 44
 * bytes per entry plus ≤ 1 byte of buckets. Entry ids are reused through a free list.
 */
import { randomInt } from 'node:crypto';
import { KEY_BYTES } from './protocol.js';

export const EntryState = { FREE: 0, WRITING: 1, SEALED: 2 } as const;

/** Namespace ids fit the low 14 bits of an entry's meta word; the state takes the top 2. */
export const MAX_NAMESPACE_ID = 0x3fff;
const NS_MASK = 0x3fff;
const STATE_SHIFT = 14;

const NONE = -1;
/**
 * Parent link of a WRITING block whose parent was removed (dropped, expired) while it was written: its
 * SEAL must fail, else a cached block would continue a chain with a hole in it.
 */
export const ORPHAN = -2;
/** Read leases one block can carry (u16 counter). */
export const MAX_REFS = 0xffff;

export class KvIndex {
  readonly capacity: number;
  /** Key words, 4 per entry. */
  readonly keys: Uint32Array;
  /** Namespace id (low 14 bits) and state (top 2 bits). */
  private readonly meta: Uint16Array;
  readonly refs: Uint16Array;
  readonly slot: Int32Array;
  readonly length: Uint32Array;
  readonly parent: Int32Array;
  readonly firstChild: Int32Array;
  readonly nextSibling: Int32Array;
  /** Hash chain link while in use; free-list link while free. */
  private readonly next: Int32Array;
  private readonly buckets: Int32Array;
  private readonly mask: number;
  private readonly seed: number;
  private freeHead: number;
  private used = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x7fff_ffff) throw new RangeError(`index capacity ${capacity} out of range`);
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * 4);
    this.meta = new Uint16Array(capacity);
    this.refs = new Uint16Array(capacity);
    this.slot = new Int32Array(capacity).fill(NONE);
    this.length = new Uint32Array(capacity);
    this.parent = new Int32Array(capacity).fill(NONE);
    this.firstChild = new Int32Array(capacity).fill(NONE);
    this.nextSibling = new Int32Array(capacity).fill(NONE);
    this.next = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.next[i] = i + 1 < capacity ? i + 1 : NONE;
    this.freeHead = 0;
    // Buckets: a power of two ≥ capacity / 4 (chains average ≤ 4 entries when full).
    let b = 1;
    while (b * 4 < capacity) b <<= 1;
    this.buckets = new Int32Array(b).fill(NONE);
    this.mask = b - 1;
    // A per-process seed: clients choose keys, so bucket placement must not be predictable.
    this.seed = randomInt(0x7fff_ffff) | 1;
  }

  get size(): number {
    return this.used;
  }

  get full(): boolean {
    return this.freeHead === NONE;
  }

  nsOf(id: number): number {
    return (this.meta[id] as number) & NS_MASK;
  }

  stateOf(id: number): number {
    return (this.meta[id] as number) >>> STATE_SHIFT;
  }

  /** WRITING → SEALED (the only state change an entry makes in place). */
  setSealed(id: number): void {
    this.meta[id] = (EntryState.SEALED << STATE_SHIFT) | this.nsOf(id);
  }

  /** Typed-array bytes held, for the per-entry budget. */
  get memoryBytes(): number {
    return (
      this.keys.byteLength +
      this.meta.byteLength +
      this.refs.byteLength +
      this.slot.byteLength +
      this.length.byteLength +
      this.parent.byteLength +
      this.firstChild.byteLength +
      this.nextSibling.byteLength +
      this.next.byteLength +
      this.buckets.byteLength
    );
  }

  /** The bucket of a key given as bytes (a request). */
  private bucketOfBytes(buf: Uint8Array, at: number, ns: number): number {
    return this.mix(ns, readWord(buf, at), readWord(buf, at + 4), readWord(buf, at + 8), readWord(buf, at + 12)) & this.mask;
  }

  /** The bucket of a stored entry's key. */
  private bucketOf(id: number): number {
    const k = id * 4;
    const w = this.keys;
    return this.mix(this.nsOf(id), w[k] as number, w[k + 1] as number, w[k + 2] as number, w[k + 3] as number) & this.mask;
  }

  private mix(ns: number, w0: number, w1: number, w2: number, w3: number): number {
    let h = Math.imul(ns ^ this.seed, 0x9e3779b1);
    h = Math.imul(h ^ w0, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ w1, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ w2, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ w3, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** A non-negative 31-bit fingerprint of (namespace, key), for the eviction policy's ghost queue. */
  fingerprint(id: number): number {
    const k = id * 4;
    let h = Math.imul(this.nsOf(id) ^ 0x27d4eb2f, 0x9e3779b1);
    for (let w = 0; w < 4; w++) h = Math.imul(h ^ (this.keys[k + w] as number), 0x85ebca6b) ^ (h >>> 15);
    return (h ^ (h >>> 16)) >>> 1;
  }

  private matches(id: number, buf: Uint8Array, at: number, ns: number): boolean {
    if (this.nsOf(id) !== ns) return false;
    const k = id * 4;
    for (let w = 0; w < 4; w++) if (this.keys[k + w] !== readWord(buf, at + w * 4) >>> 0) return false;
    return true;
  }

  /** The entry for the key at `buf[at..at+16)` in namespace `ns`, or -1. */
  find(ns: number, buf: Uint8Array, at = 0): number {
    let id = this.buckets[this.bucketOfBytes(buf, at, ns)] as number;
    while (id !== NONE) {
      if (this.matches(id, buf, at, ns)) return id;
      id = this.next[id] as number;
    }
    return NONE;
  }

  /** Adds a WRITING entry (the key must not be present); -1 when the index is full. */
  insert(ns: number, buf: Uint8Array, at: number, slot: number, length: number, parent: number): number {
    if (ns > MAX_NAMESPACE_ID) throw new RangeError(`namespace id ${ns} above ${MAX_NAMESPACE_ID}`);
    const id = this.freeHead;
    if (id === NONE) return NONE;
    this.freeHead = this.next[id] as number;
    const k = id * 4;
    for (let w = 0; w < 4; w++) this.keys[k + w] = readWord(buf, at + w * 4);
    this.meta[id] = (EntryState.WRITING << STATE_SHIFT) | ns;
    this.refs[id] = 0;
    this.slot[id] = slot;
    this.length[id] = length;
    this.parent[id] = NONE;
    this.firstChild[id] = NONE;
    this.nextSibling[id] = NONE;
    const b = this.bucketOf(id);
    this.next[id] = this.buckets[b] as number;
    this.buckets[b] = id;
    this.used++;
    if (parent !== NONE) this.link(id, parent);
    return id;
  }

  /** Makes `parent` the parent of `id` (prepends to its child list). */
  private link(id: number, parent: number): void {
    this.parent[id] = parent;
    this.nextSibling[id] = this.firstChild[parent] as number;
    this.firstChild[parent] = id;
  }

  private unlinkFromParent(id: number): void {
    const p = this.parent[id] as number;
    if (p < 0) {
      this.parent[id] = NONE;
      return;
    }
    let c = this.firstChild[p] as number;
    if (c === id) this.firstChild[p] = this.nextSibling[id] as number;
    else {
      while (c !== NONE && this.nextSibling[c] !== id) c = this.nextSibling[c] as number;
      if (c !== NONE) this.nextSibling[c] = this.nextSibling[id] as number;
    }
    this.parent[id] = NONE;
    this.nextSibling[id] = NONE;
  }

  /** True when no cached block names this one as its parent. */
  isLeaf(id: number): boolean {
    return this.firstChild[id] === NONE;
  }

  /**
   * Removes an entry: detaches it from its parent, orphans its children (sealed ones become roots,
   * writing ones are marked ORPHAN), frees the id.
   */
  remove(id: number): void {
    if (this.stateOf(id) === EntryState.FREE) throw new Error(`index entry ${id} is already free`);
    this.unlinkFromParent(id);
    let c = this.firstChild[id] as number;
    while (c !== NONE) {
      const n = this.nextSibling[c] as number;
      this.parent[c] = this.stateOf(c) === EntryState.WRITING ? ORPHAN : NONE;
      this.nextSibling[c] = NONE;
      c = n;
    }
    this.firstChild[id] = NONE;
    // Unlink from the hash chain: find the bucket from the stored key.
    const b = this.bucketOf(id);
    let cur = this.buckets[b] as number;
    if (cur === id) this.buckets[b] = this.next[id] as number;
    else {
      while (cur !== NONE && this.next[cur] !== id) cur = this.next[cur] as number;
      if (cur === NONE) throw new Error(`index entry ${id} missing from its hash chain`);
      this.next[cur] = this.next[id] as number;
    }
    this.meta[id] = EntryState.FREE << STATE_SHIFT;
    this.slot[id] = NONE;
    this.refs[id] = 0;
    this.next[id] = this.freeHead;
    this.freeHead = id;
    this.used--;
  }

  /** The 16 key bytes of an entry (a view; valid until the entry is reused). */
  keyBytes(id: number): Uint8Array {
    return new Uint8Array(this.keys.buffer, id * 16, KEY_BYTES);
  }
}

/** A little-endian 32-bit word of a key (as int32: hashing and storing both take the bits). */
function readWord(buf: Uint8Array, o: number): number {
  return (buf[o] as number) | ((buf[o + 1] as number) << 8) | ((buf[o + 2] as number) << 16) | ((buf[o + 3] as number) << 24);
}
