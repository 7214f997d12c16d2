/**
 * S3-FIFO's ghost queue: the fingerprints of entries recently evicted, in exact FIFO order and
 * bounded by entry count. A ring of fingerprints keeps the order (the oldest is forgotten when the
 * ring is full; a ghost hit leaves a hole); an open-addressing Int32Array of ring positions (linear
 * probing, backward-shift deletion, ≤ 2/3 full) answers membership. Exact order matters for block
 * chains: a leaf is evicted before its parent, so it must also be forgotten first, or a re-requested
 * chain would come back with the child in M and its parent on probation in S. Each ghost carries a
 * 1-bit tag (which queue it left) in the ring's sign bit. 10 bytes per ghost slot.
 */

const HOLE = -1;

/** 0x7fffffff with tag 1 would spell HOLE: it shares 0x7ffffffe's slot (one collision in 2^31). */
const normal = (fp: number) => (fp === 0x7fff_ffff ? 0x7fff_fffe : fp);
/** table[i] = ring position + 1; 0 = empty. */
const EMPTY = 0;

export class GhostFifo {
  private readonly ring: Int32Array;
  private readonly table: Int32Array;
  /** Next ring position to write; the oldest ghost sits here once the ring has wrapped. */
  private next = 0;
  private wrapped = false;
  private readonly counts = [0, 0];

  constructor(entries: number) {
    const n = Math.max(1, Math.floor(entries));
    this.ring = new Int32Array(n).fill(HOLE);
    this.table = new Int32Array(Math.ceil(n * 1.25) + 1);
  }

  /** Largest number of ghosts held at once. */
  get capacity(): number {
    return this.ring.length;
  }

  get size(): number {
    return (this.counts[0] as number) + (this.counts[1] as number);
  }

  /** Ghosts held with `tag`. */
  count(tag: 0 | 1): number {
    return this.counts[tag] as number;
  }

  get byteLength(): number {
    return this.ring.byteLength + this.table.byteLength;
  }

  private home(fp: number): number {
    return Math.floor(((Math.imul(fp, 0x9e3779b1) >>> 0) * this.table.length) / 0x1_0000_0000);
  }

  /** The table slot holding `fp`, or -1. */
  private find(fp: number): number {
    const t = this.table;
    for (let i = this.home(fp); ; i = i + 1 === t.length ? 0 : i + 1) {
      const v = t[i] as number;
      if (v === EMPTY) return -1;
      if (((this.ring[v - 1] as number) & 0x7fff_ffff) === fp) return i;
    }
  }

  has(fp: number): boolean {
    return this.find(normal(fp)) >= 0;
  }

  /** Remembers `fp` (a non-negative 31-bit integer), forgetting the oldest ghost when full. */
  add(fingerprint: number, tag: 0 | 1 = 0): void {
    const fp = normal(fingerprint);
    if (this.find(fp) >= 0) return;
    const at = this.next;
    if (this.wrapped && this.ring[at] !== HOLE) this.forget(this.find((this.ring[at] as number) & 0x7fff_ffff));
    this.ring[at] = tag ? fp | 0x8000_0000 : fp;
    this.counts[tag]!++;
    const t = this.table;
    let i = this.home(fp);
    while (t[i] !== EMPTY) i = i + 1 === t.length ? 0 : i + 1;
    t[i] = at + 1;
    this.next = at + 1 === this.ring.length ? 0 : at + 1;
    if (this.next === 0) this.wrapped = true;
  }

  /** Forgets `fp`: its tag (0 or 1) when it was a ghost (a ghost hit), else -1. */
  take(fingerprint: number): number {
    const slot = this.find(normal(fingerprint));
    if (slot < 0) return -1;
    const tag = (this.ring[(this.table[slot] as number) - 1] as number) < 0 ? 1 : 0;
    this.forget(slot);
    return tag;
  }

  /** Drops the ghost at table slot `slot`: a hole in the ring, backward-shift in the table. */
  private forget(slot: number): void {
    const t = this.table;
    const pos = (t[slot] as number) - 1;
    this.counts[(this.ring[pos] as number) < 0 ? 1 : 0]!--;
    this.ring[pos] = HOLE;
    let hole = slot;
    for (let i = hole + 1 === t.length ? 0 : hole + 1; t[i] !== EMPTY; i = i + 1 === t.length ? 0 : i + 1) {
      const home = this.home((this.ring[(t[i] as number) - 1] as number) & 0x7fff_ffff);
      // Move t[i] into the hole unless its home lies cyclically in (hole, i].
      const stays = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (!stays) {
        t[hole] = t[i] as number;
        hole = i;
      }
    }
    t[hole] = EMPTY;
  }
}
