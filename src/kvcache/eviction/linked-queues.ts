/**
 * Intrusive doubly linked queues over entry ids, in two Int32Arrays shared by every queue (an entry
 * sits in at most one queue at a time). The head holds the newest entry, the tail the oldest; the
 * eviction scans walk from the tail towards the head with `newerOf`. 8 bytes per entry of capacity.
 */

export const NIL = -1;
/** `newer[id]` of an entry in no queue. */
const UNLINKED = -2;

export class LinkedQueues {
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  private readonly heads: Int32Array;
  private readonly tails: Int32Array;
  private readonly sizes: Int32Array;

  constructor(capacity: number, queues: number) {
    this.older = new Int32Array(capacity).fill(NIL);
    this.newer = new Int32Array(capacity).fill(UNLINKED);
    this.heads = new Int32Array(queues).fill(NIL);
    this.tails = new Int32Array(queues).fill(NIL);
    this.sizes = new Int32Array(queues);
  }

  get byteLength(): number {
    return this.older.byteLength + this.newer.byteLength + this.heads.byteLength + this.tails.byteLength + this.sizes.byteLength;
  }

  /** True while `id` is linked into some queue. */
  has(id: number): boolean {
    return this.newer[id] !== UNLINKED;
  }

  size(q: number): number {
    return this.sizes[q] as number;
  }

  /** The oldest entry of queue `q`, or NIL. */
  tail(q: number): number {
    return this.tails[q] as number;
  }

  /** The entry before `id` towards the tail, or NIL at the tail. */
  olderOf(id: number): number {
    return this.older[id] as number;
  }

  /** The entry after `id` towards the head, or NIL at the head. */
  newerOf(id: number): number {
    return this.newer[id] as number;
  }

  pushHead(q: number, id: number): void {
    const head = this.heads[q] as number;
    this.newer[id] = NIL;
    this.older[id] = head;
    if (head !== NIL) this.newer[head] = id;
    else this.tails[q] = id;
    this.heads[q] = id;
    this.sizes[q]!++;
  }

  /** Unlinks `id`, which the caller knows to be in queue `q`. */
  unlink(q: number, id: number): void {
    const o = this.older[id] as number;
    const n = this.newer[id] as number;
    if (n !== NIL) this.older[n] = o;
    else this.heads[q] = o;
    if (o !== NIL) this.newer[o] = n;
    else this.tails[q] = n;
    this.older[id] = NIL;
    this.newer[id] = UNLINKED;
    this.sizes[q]!--;
  }
}
