/**
 * S3-FIFO (Yang et al., SOSP'23, with the authors' later notes): a small FIFO S for new entries, a
 * main FIFO M with reinsertion, and a ghost set G of fingerprints recently evicted from S.
 * - insert: into S, or into M when the fingerprint is a ghost (a ghost hit);
 * - touch: frequency + 1, capped at 3 (2 bits; `freqBits: 1` caps at 1);
 * - evict: from S while |S| ≥ ratio × cached entries, else from M. An S tail with frequency ≥ 1 is
 *   promoted to M's head (frequency reset), otherwise evicted and remembered in G; an M tail with
 *   frequency > 0 goes back to M's head with frequency − 1, otherwise it is evicted.
 * Block chains: refused candidates are deferred once (policy-options.ts), then an S entry is promoted
 * and an M entry reinserted. M holds the hot prefixes, mostly parents of the leaves in S, so once M
 * has cost half the scan budget (or one lap) without a victim the scan goes on in S.
 * G holds as many fingerprints as M's target size (capacity − ratio × capacity), as in the paper.
 * Memory: links 8 + fingerprint 4 + state 1 bytes per entry, plus the ghost (10 bytes per slot):
 * 20 bytes per entry of capacity at ratio 0.3.
 */
import { GhostFifo } from './ghost.js';
import { LinkedQueues, NIL } from './linked-queues.js';
import { checkCapacity, checkShare, DEFAULT_MAX_SCAN, MARK_COST, REFUSED } from './policy-options.js';
import type { EvictionCounters, EvictionPolicy, EvictionPolicyOptions } from './types.js';

export interface S3FifoOptions extends EvictionPolicyOptions {
  /** Bits of access frequency: 2 (cap 3, the default) or 1 (an access bit). */
  readonly freqBits?: 1 | 2;
}

const SMALL = 0;
const MAIN = 1;
/** state[id]: bits 0–1 frequency, bit 2 set while in M, bit 3 REFUSED. */
const FREQ = 0b0011;
const IN_MAIN = 0b0100;

export class S3FifoPolicy implements EvictionPolicy {
  readonly name = 's3fifo';
  lastQueue: 'small' | 'main' = 'small';
  readonly smallRatio: number;
  private readonly list: LinkedQueues;
  /** Fingerprints stored at insert, when the owner cannot give them back at eviction. */
  private readonly fingerprints: Int32Array;
  private readonly fingerprintOf: ((id: number) => number) | undefined;
  private readonly state: Uint8Array;
  private readonly ghost: GhostFifo;
  private readonly maxFreq: number;
  private ghostHits = 0;
  private promotions = 0;
  private smallEvictions = 0;
  private mainEvictions = 0;
  /** Per queue, the entry just older than its last victim (see ListPolicy's hint). */
  private hintSmall = NIL;
  private hintMain = NIL;

  constructor(opts: S3FifoOptions) {
    checkCapacity(opts.capacity);
    this.smallRatio = opts.smallRatio ?? 0.3;
    checkShare('S3-FIFO small-queue ratio', this.smallRatio);
    this.list = new LinkedQueues(opts.capacity, 2);
    this.fingerprintOf = opts.fingerprintOf;
    this.fingerprints = new Int32Array(opts.fingerprintOf === undefined ? opts.capacity : 0);
    this.state = new Uint8Array(opts.capacity);
    this.ghost = new GhostFifo(Math.max(1, opts.capacity - Math.floor(this.smallRatio * opts.capacity)));
    this.maxFreq = opts.freqBits === 1 ? 1 : 3;
  }

  get size(): number {
    return this.list.size(SMALL) + this.list.size(MAIN);
  }

  /** Entries in the small and main queues, ghosts remembered and the ghost's bound. */
  get queueSizes(): { readonly small: number; readonly main: number; readonly ghost: number; readonly ghostCapacity: number } {
    return { small: this.list.size(SMALL), main: this.list.size(MAIN), ghost: this.ghost.size, ghostCapacity: this.ghost.capacity };
  }

  get memoryBytes(): number {
    return this.list.byteLength + this.fingerprints.byteLength + this.state.byteLength + this.ghost.byteLength;
  }

  insert(id: number, fingerprint: number): boolean {
    if (this.list.has(id)) throw new Error(`eviction: entry ${id} inserted twice`);
    if (this.fingerprintOf === undefined) this.fingerprints[id] = fingerprint;
    const ghost = this.ghost.take(fingerprint) >= 0;
    if (ghost) this.ghostHits++;
    this.state[id] = ghost ? IN_MAIN : 0;
    this.list.pushHead(ghost ? MAIN : SMALL, id);
    return ghost;
  }

  touch(id: number): void {
    if (!this.list.has(id)) return;
    const st = this.state[id] as number;
    if ((st & FREQ) < this.maxFreq) this.state[id] = st + 1;
  }

  remove(id: number): void {
    this.unhint(id);
    if (this.list.has(id)) this.list.unlink((this.state[id] as number) & IN_MAIN ? MAIN : SMALL, id);
  }

  evict(canEvict: (id: number) => boolean, maxScan = DEFAULT_MAX_SCAN): number {
    const list = this.list;
    if (maxScan > 0) {
      const small = list.size(SMALL) > 0 && (list.size(MAIN) === 0 || list.size(SMALL) >= this.smallRatio * this.size);
      const hint = small ? this.hintSmall : this.hintMain;
      if (small) this.hintSmall = NIL;
      else this.hintMain = NIL;
      if (hint !== NIL && ((this.state[hint] as number) & FREQ) === 0 && canEvict(hint)) return small ? this.evictSmall(hint) : this.evictMain(hint);
    }
    let s = list.tail(SMALL);
    let m = list.tail(MAIN);
    // Refusals in M are counted against one lap of M (a second look at the same entry is its second
    // strike); reinsertions of hit entries are bounded by their frequency, so the loop ends.
    let mainLeft = list.size(MAIN);
    let mainBlocked = false;
    // The budget counts refusals (a first one only marks, 1/8), not S3-FIFO's own promotions and reinsertions.
    for (let cost = 0; cost < maxScan; ) {
      if (mainLeft <= 0) m = NIL;
      if (s === NIL && m === NIL) break;
      if (s !== NIL && (m === NIL || mainBlocked || list.size(SMALL) >= this.smallRatio * this.size)) {
        const id = s;
        s = list.newerOf(id);
        const st = this.state[id] as number;
        if ((st & FREQ) === 0) {
          if (canEvict(id)) return this.evictSmall(id);
          if ((st & REFUSED) === 0) {
            this.state[id] = st | REFUSED;
            cost += MARK_COST;
            continue;
          }
          cost++;
        }
        this.moveToMain(id);
        mainLeft++;
        // With M done (or empty), the entry just promoted, at M's head, is the one left to look at.
        if (m === NIL) m = id;
      } else {
        const id = m;
        const next = list.newerOf(id);
        const st = this.state[id] as number;
        if ((st & FREQ) === 0) {
          if (canEvict(id)) return this.evictMain(id);
          mainLeft--;
          if (cost >= maxScan / 2) mainBlocked = true;
          if ((st & REFUSED) === 0) {
            this.state[id] = st | REFUSED;
            cost += MARK_COST;
            m = next;
            continue;
          }
          cost++;
        }
        this.toMainHead(id, (st & FREQ) === 0 ? 0 : (st & FREQ) - 1);
        m = next !== NIL ? next : id;
      }
    }
    return -1;
  }

  private evictSmall(id: number): number {
    this.hintSmall = this.list.olderOf(id);
    this.list.unlink(SMALL, id);
    this.ghost.add(this.fingerprintOf?.(id) ?? (this.fingerprints[id] as number));
    this.smallEvictions++;
    this.lastQueue = 'small';
    return id;
  }

  private evictMain(id: number): number {
    this.hintMain = this.list.olderOf(id);
    this.list.unlink(MAIN, id);
    this.mainEvictions++;
    this.lastQueue = 'main';
    return id;
  }

  private unhint(id: number): void {
    if (id === this.hintSmall) this.hintSmall = NIL;
    if (id === this.hintMain) this.hintMain = NIL;
  }

  /** Reinserts M entry `id` at M's head with frequency `freq`. */
  private toMainHead(id: number, freq: number): void {
    this.unhint(id);
    this.list.unlink(MAIN, id);
    this.list.pushHead(MAIN, id);
    this.state[id] = IN_MAIN | freq;
  }

  private moveToMain(id: number): void {
    this.unhint(id);
    this.list.unlink(SMALL, id);
    this.list.pushHead(MAIN, id);
    this.state[id] = IN_MAIN;
    this.promotions++;
  }

  counters(): EvictionCounters {
    return {
      ghostHits: this.ghostHits,
      promotions: this.promotions,
      evictions: { small: this.smallEvictions, main: this.mainEvictions },
    };
  }
}
