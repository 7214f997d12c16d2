/**
 * The reader's side of one pool's directory (DirectoryLookup, directory-types.ts): a chain's home is
 * the ring member of hash(namespace ‖ first key); when that is this agent the answer comes from its
 * own store, else from one DIRECTORY_LOOKUP to the home within the deadline. It also keeps the
 * store this agent holds as a home: expired entries are swept on a timer, and a membership change
 * drops every entry of a holder that left.
 */
import { type DirectoryAnswer, type DirectoryLookup, NO_HOLDER } from '../directory-types.js';
import type { Membership, MembershipSource } from '../membership.js';
import { PEER_KEY_BYTES } from '../peer/peer-protocol.js';
import type { Ring } from '../ring.js';
import { type DirectoryMetrics, noopDirectoryMetrics } from './directory-metrics.js';
import type { DirectoryStore } from './directory-store.js';

/** How a home that is another agent is asked (PeerClient.directoryLookup). */
export interface DirectoryLookupSender {
  directoryLookup(peer: string, namespace: string, keys: Buffer, opts?: { deadlineMs?: number }): Promise<DirectoryAnswer>;
}

export interface PoolDirectoryOptions {
  readonly membership: MembershipSource;
  readonly ring: (m: Membership) => Ring;
  readonly store: DirectoryStore;
  /** Asks other homes; without one, chains homed elsewhere have no holders. */
  readonly sender?: DirectoryLookupSender;
  readonly clock?: () => number;
  /** Sweep period of the store (default a tenth of its TTL, at most 10 s); 0 = only sweep() (tests). */
  readonly sweepMs?: number;
  readonly metrics?: DirectoryMetrics;
}

export class PoolDirectory implements DirectoryLookup {
  private readonly clock: () => number;
  private readonly metrics: DirectoryMetrics;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: PoolDirectoryOptions) {
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics ?? noopDirectoryMetrics;
    const every = opts.sweepMs ?? Math.min(10_000, opts.store.ttlMs / 10);
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
    this.unsubscribe = opts.membership.onChange((m) => opts.store.retainHolders(new Set(m.members.map((x) => x.node))));
  }

  /** Drops the store's expired entries (also run by the timer). */
  sweep(now = this.clock()): number {
    return this.opts.store.sweep(now);
  }

  async lookup(namespace: string, keys: Buffer, deadlineMs: number): Promise<DirectoryAnswer> {
    const n = keys.length / PEER_KEY_BYTES;
    if (!Number.isInteger(n)) throw new RangeError('keys must be a whole number of 16-byte keys');
    if (n === 0) return { holders: [], holderOf: new Uint16Array(0) };
    const t0 = performance.now();
    const m = this.opts.membership.current();
    const home = this.opts.ring(m).homeOf(namespace, keys.subarray(0, PEER_KEY_BYTES));
    let answer: DirectoryAnswer;
    try {
      if (home === undefined || (home.node !== m.self && this.opts.sender === undefined)) answer = { holders: [], holderOf: new Uint16Array(n).fill(NO_HOLDER) };
      else if (home.node === m.self) answer = this.opts.store.lookup(namespace, keys, this.clock(), m.self);
      else answer = await (this.opts.sender as DirectoryLookupSender).directoryLookup(home.node, namespace, keys, { deadlineMs });
    } catch (err) {
      this.metrics.lookup('error', (performance.now() - t0) / 1000);
      throw err;
    }
    this.metrics.lookup(answer.holders.length > 0 ? 'hit' : 'miss', (performance.now() - t0) / 1000);
    return answer;
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.unsubscribe();
  }
}
