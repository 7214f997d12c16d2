/**
 * A hash map from (53-bit integer key, engine slot) to an entry number, in typed arrays: open
 * addressing with linear probing and backward-shift deletion (no tombstones), grown ×2 past half
 * full. The KV-event index matches prompts with one probe per (engine, block); a JS Map keyed by
 * such keys (heap numbers, not small integers) costs several times more per lookup.
 */

const EMPTY = -1;
const TWO_32 = 4294967296;

export class KeyTable {
  private keys: Float64Array;
  private slots: Int32Array;
  private entries: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initial = 1 << 10) {
    let size = 16;
    while (size < initial * 2) size *= 2;
    this.keys = new Float64Array(size);
    this.slots = new Int32Array(size);
    this.entries = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  get byteLength(): number {
    return this.keys.byteLength + this.slots.byteLength + this.entries.byteLength;
  }

  /** The entry stored for (key, slot), or -1. */
  get(key: number, slot: number): number {
    const keys = this.keys;
    const slots = this.slots;
    const entries = this.entries;
    const mask = this.mask;
    for (let i = home(key, slot, mask); ; i = (i + 1) & mask) {
      const e = entries[i] as number;
      if (e === EMPTY) return EMPTY;
      if (keys[i] === key && slots[i] === slot) return e;
    }
  }

  /** Stores (key, slot) → entry, replacing an entry stored for the same pair. */
  set(key: number, slot: number, entry: number): void {
    if ((this.count + 1) * 2 > this.entries.length) this.grow();
    this.put(key, slot, entry);
  }

  /** Removes (key, slot) when it maps to `entry` (or to anything, when entry is undefined). */
  delete(key: number, slot: number, entry?: number): boolean {
    const keys = this.keys;
    const slots = this.slots;
    const entries = this.entries;
    const mask = this.mask;
    let i = home(key, slot, mask);
    for (; ; i = (i + 1) & mask) {
      const e = entries[i] as number;
      if (e === EMPTY) return false;
      if (keys[i] === key && slots[i] === slot) {
        if (entry !== undefined && e !== entry) return false;
        break;
      }
    }
    // Backward shift: pull later members of the probe run into the hole when their home allows it.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (entries[j] === EMPTY) break;
      const k = home(keys[j] as number, slots[j] as number, mask);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      keys[i] = keys[j] as number;
      slots[i] = slots[j] as number;
      entries[i] = entries[j] as number;
      i = j;
    }
    entries[i] = EMPTY;
    this.count--;
    return true;
  }

  private put(key: number, slot: number, entry: number): void {
    const mask = this.mask;
    for (let i = home(key, slot, mask); ; i = (i + 1) & mask) {
      const e = this.entries[i] as number;
      if (e === EMPTY) {
        this.keys[i] = key;
        this.slots[i] = slot;
        this.entries[i] = entry;
        this.count++;
        return;
      }
      if (this.keys[i] === key && this.slots[i] === slot) {
        this.entries[i] = entry;
        return;
      }
    }
  }

  private grow(): void {
    const keys = this.keys;
    const slots = this.slots;
    const entries = this.entries;
    const size = entries.length * 2;
    this.keys = new Float64Array(size);
    this.slots = new Int32Array(size);
    this.entries = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    this.count = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as number;
      if (e !== EMPTY) this.put(keys[i] as number, slots[i] as number, e);
    }
  }
}

/** Keys are already uniform hashes: their low word, mixed with the slot, picks the bucket. */
function home(key: number, slot: number, mask: number): number {
  const lo = key >>> 0;
  const hi = (key / TWO_32) | 0;
  return (lo ^ Math.imul(hi ^ (slot + 1), 0x9e3779b1)) & mask;
}

/**
 * KeyTable for entries that already carry their key and slot in arrays of their own (the KV-event
 * index's `keys` and `owner`): a bucket keeps only the entry number, 4 bytes instead of 16, and a
 * probe reads the pair through those arrays. Every entry in the table must hold its key and slot
 * there while it is in the table; after the owner reallocates the arrays it calls `rebind`.
 */
export class EntryTable {
  private entries: Int32Array;
  private mask: number;
  private count = 0;

  constructor(
    private keys: Float64Array,
    private slots: Int32Array,
    initial = 1 << 10,
  ) {
    let size = 16;
    while (size < initial * 2) size *= 2;
    this.entries = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  get byteLength(): number {
    return this.entries.byteLength;
  }

  /** The entries' key and slot arrays were replaced (grown): read them from the new ones. */
  rebind(keys: Float64Array, slots: Int32Array): void {
    this.keys = keys;
    this.slots = slots;
  }

  /** The entry stored for (key, slot), or -1. */
  get(key: number, slot: number): number {
    const keys = this.keys;
    const slots = this.slots;
    const entries = this.entries;
    const mask = this.mask;
    for (let i = home(key, slot, mask); ; i = (i + 1) & mask) {
      const e = entries[i] as number;
      if (e === EMPTY) return EMPTY;
      if (keys[e] === key && slots[e] === slot) return e;
    }
  }

  /** Maps (key, slot) — the entry's own key and slot — to `entry`, replacing an entry stored for the pair. */
  set(key: number, slot: number, entry: number): void {
    if ((this.count + 1) * 2 > this.entries.length) this.grow();
    this.put(key, slot, entry);
  }

  /** Removes (key, slot) when it maps to `entry` (or to anything, when entry is undefined). */
  delete(key: number, slot: number, entry?: number): boolean {
    const keys = this.keys;
    const slots = this.slots;
    const entries = this.entries;
    const mask = this.mask;
    let i = home(key, slot, mask);
    for (; ; i = (i + 1) & mask) {
      const e = entries[i] as number;
      if (e === EMPTY) return false;
      if (keys[e] === key && slots[e] === slot) {
        if (entry !== undefined && e !== entry) return false;
        break;
      }
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = entries[j] as number;
      if (e === EMPTY) break;
      const k = home(keys[e] as number, slots[e] as number, mask);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      entries[i] = e;
      i = j;
    }
    entries[i] = EMPTY;
    this.count--;
    return true;
  }

  private put(key: number, slot: number, entry: number): void {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = home(key, slot, mask); ; i = (i + 1) & mask) {
      const e = this.entries[i] as number;
      if (e === EMPTY) {
        this.entries[i] = entry;
        this.count++;
        return;
      }
      if (keys[e] === key && slots[e] === slot) {
        this.entries[i] = entry;
        return;
      }
    }
  }

  private grow(): void {
    const old = this.entries;
    const size = old.length * 2;
    this.entries = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    this.count = 0;
    for (let i = 0; i < old.length; i++) {
      const e = old[i] as number;
      if (e !== EMPTY) this.put(this.keys[e] as number, this.slots[e] as number, e);
    }
  }
}
