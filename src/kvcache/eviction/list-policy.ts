/**
 * The one-queue policies (LRU, FIFO): one linked list, newest at the head, victims from the tail.
 * They differ only in whether a hit moves the entry to the head. 9 bytes per entry of capacity.
 */
import { LinkedQueues, NIL } from './linked-queues.js';
import { checkCapacity, DEFAULT_MAX_SCAN, MARK_COST, REFUSED } from './policy-options.js';
import type { EvictionCounters, EvictionPolicy, EvictionPolicyOptions, EvictionQueue, PolicyName } from './types.js';

export abstract class ListPolicy implements EvictionPolicy {
  abstract readonly name: PolicyName;
  abstract readonly lastQueue: EvictionQueue;
  protected readonly list: LinkedQueues;
  private readonly state: Uint8Array;
  private evictions = 0;
  /**
   * The entry just older than the last victim. A victim found behind refused entries is typically
   * the leaf of a chain sealed root to leaf, and its older neighbour is its parent, a leaf now:
   * trying it first lets a chain of L blocks leave in O(L) scans instead of O(L²). Cleared whenever
   * that entry moves or leaves.
   */
  private hint = NIL;

  constructor(opts: EvictionPolicyOptions) {
    checkCapacity(opts.capacity);
    this.list = new LinkedQueues(opts.capacity, 1);
    this.state = new Uint8Array(opts.capacity);
  }

  get size(): number {
    return this.list.size(0);
  }

  get memoryBytes(): number {
    return this.list.byteLength + this.state.byteLength;
  }

  insert(id: number, _fingerprint: number): boolean {
    if (this.list.has(id)) throw new Error(`eviction: entry ${id} inserted twice`);
    this.state[id] = 0;
    this.list.pushHead(0, id);
    return false;
  }

  abstract touch(id: number): void;

  remove(id: number): void {
    if (id === this.hint) this.hint = NIL;
    if (this.list.has(id)) this.list.unlink(0, id);
  }

  evict(canEvict: (id: number) => boolean, maxScan = DEFAULT_MAX_SCAN): number {
    const list = this.list;
    const hint = this.hint;
    this.hint = NIL;
    if (hint !== NIL && maxScan > 0 && canEvict(hint)) return this.take(hint);
    let id = list.tail(0);
    // One lap at most; a first refusal only marks (policy-options.ts) and costs 1/8.
    for (let cost = 0, lap = list.size(0); cost < maxScan && id !== NIL && lap > 0; lap--) {
      const next = list.newerOf(id);
      if (canEvict(id)) return this.take(id);
      if (((this.state[id] as number) & REFUSED) === 0) {
        this.state[id] = REFUSED;
        cost += MARK_COST;
      } else {
        cost++;
        this.toHead(id);
      }
      id = next;
    }
    return -1;
  }

  /** Moves `id` to the head (a hit for LRU, a second refusal for both). */
  protected toHead(id: number): void {
    if (id === this.hint) this.hint = NIL;
    this.state[id] = 0;
    this.list.unlink(0, id);
    this.list.pushHead(0, id);
  }

  private take(id: number): number {
    this.hint = this.list.olderOf(id);
    this.list.unlink(0, id);
    this.evictions++;
    return id;
  }

  counters(): EvictionCounters {
    return { ghostHits: 0, promotions: 0, evictions: { [this.lastQueue]: this.evictions } };
  }
}
