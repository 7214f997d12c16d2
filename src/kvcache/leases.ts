/**
 * One connection's leases: id → (entry, kind), with expiry in grant order (every lease has the same
 * TTL, so deadlines are monotone and a FIFO of (id, deadline) finds the expired ones in O(1) each).
 */
import type { KvShard } from './shard.js';

export interface LeaseGrant {
  readonly leaseId: number;
  readonly entry: number;
}

export class LeaseTable {
  /** leaseId → entry * 2 + (1 for a write lease). */
  private readonly live = new Map<number, number>();
  private expiryIds: number[] = [];
  private expiryAt: number[] = [];
  private head = 0;
  private nextId = 1;
  private writes = 0;

  constructor(
    private readonly shard: KvShard,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.live.size;
  }

  get writeCount(): number {
    return this.writes;
  }

  grant(entry: number, write: boolean, now: number): number {
    let id = this.nextId;
    while (id === 0 || this.live.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    this.live.set(id, entry * 2 + (write ? 1 : 0));
    if (write) this.writes++;
    this.expiryIds.push(id);
    this.expiryAt.push(now + this.ttlMs);
    return id;
  }

  /** Removes a lease; returns entry * 2 + kind bit, or -1 when unknown. `kind` filters (write/read/any). */
  take(leaseId: number, kind: 'write' | 'any'): number {
    const v = this.live.get(leaseId);
    if (v === undefined || (kind === 'write' && (v & 1) === 0)) return -1;
    this.live.delete(leaseId);
    if ((v & 1) === 1) this.writes--;
    return v;
  }

  /** Ends a lease taken with take(): unpins a read, drops a write with `reason`. */
  end(v: number, dropReason: 'expired' | 'disconnect' | 'dropped' | 'no_parent'): void {
    const entry = Math.floor(v / 2);
    if ((v & 1) === 1) this.shard.abort(entry, dropReason);
    else this.shard.unpin(entry);
  }

  /** Ends every lease whose deadline passed. */
  expire(now: number): number {
    let n = 0;
    while (this.head < this.expiryIds.length && (this.expiryAt[this.head] as number) <= now) {
      const v = this.take(this.expiryIds[this.head] as number, 'any');
      this.head++;
      if (v >= 0) {
        this.end(v, 'expired');
        n++;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.expiryIds.length) {
      this.expiryIds = this.expiryIds.slice(this.head);
      this.expiryAt = this.expiryAt.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  /** Ends every lease (the connection closed). */
  clear(): void {
    for (const [id] of this.live) {
      const v = this.take(id, 'any');
      this.end(v, 'disconnect');
    }
    this.expiryIds = [];
    this.expiryAt = [];
    this.head = 0;
  }
}
