/**
 * The directory publisher of one pool's shard: turns the shard's hot/dropped hooks (ShardPublisher in
 * shard.ts) into HOLD/EVICT deltas, queued per home (the ring home of each block's chain: hash of the
 * namespace and the chain's first key), and flushed every `flushMs` (default 25 ms) or as soon as a
 * home has a full batch, as one PUBLISH per namespace batch of up to 4096 deltas. A home that is this
 * agent applies them to its own store. Writes are never published: only hot blocks and the eviction
 * of a hot block. Each home's queue holds at most `queueMax` deltas; a delta beyond it, or one a home
 * refused or never answered, is dropped and counted (publish_deltas_total{state="dropped"}), never
 * retried: the directory is a hint, and a block still hot is announced again on a later hit.
 */
import type { Membership, MembershipSource } from '../membership.js';
import { DeltaKind, DeltaStatus, PUBLISH_ITEM_BYTES } from '../peer/peer-protocol.js';
import type { Ring } from '../ring.js';
import type { KvShard, Namespace, ShardPublisher } from '../shard.js';
import type { DirectoryMetrics } from './directory-metrics.js';
import { noopDirectoryMetrics } from './directory-metrics.js';
import type { DirectoryStore } from './directory-store.js';

/** Deltas in one PUBLISH (the peer protocol's default maxBatch). */
export const PUBLISH_BATCH = 4096;

/** How deltas reach a home that is another agent (PeerClient.publish). */
export interface PublishSender {
  /** Per item: DeltaStatus; rejects when the home cannot be reached in time. */
  publish(peer: string, namespace: string, items: Buffer, opts?: { deadlineMs?: number }): Promise<Uint8Array>;
}

export interface PublisherOptions {
  readonly shard: KvShard;
  readonly membership: MembershipSource;
  /** The ring of a membership (createRingCache()). */
  readonly ring: (m: Membership) => Ring;
  /** This agent's own store, for chains it is the home of. */
  readonly store: DirectoryStore;
  /** Reaches other homes; without one their deltas are dropped (counted). */
  readonly sender?: PublishSender;
  /** Deltas one home's queue holds (--kv.publish-queue). */
  readonly queueMax: number;
  /** The directory TTL: a hot block hit again after half of it is announced again. */
  readonly ttlMs: number;
  readonly clock?: () => number;
  /** Flush period (default 25 ms); 0 = only flush() (tests). */
  readonly flushMs?: number;
  /** Deadline of one PUBLISH (default 2 s). */
  readonly deadlineMs?: number;
  readonly metrics?: DirectoryMetrics;
}

interface Batch {
  readonly namespace: string;
  readonly items: Buffer;
  n: number;
}

interface HomeQueue {
  readonly batches: Batch[];
  count: number;
  /** A PUBLISH round to this home is in flight: the next one waits (the queue fills, then drops). */
  busy: boolean;
}

export class DirectoryPublisher implements ShardPublisher {
  epoch = 1;
  private readonly queues = new Map<string, HomeQueue>();
  /** Per shard entry: the ring slot its chain was homed in when it turned hot (its EVICT goes there). */
  private readonly slotOf: Uint16Array;
  private readonly clock: () => number;
  private readonly metrics: DirectoryMetrics;
  private readonly timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  /** Last (namespace id, root) → slot, so the blocks of one chain hash once. */
  private lastNs = -1;
  private lastRoot = -1;
  private lastRing: Ring | undefined;
  private lastSlot = 0;
  private closed = false;
  private readonly unsubscribe: () => void;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: PublisherOptions) {
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics ?? noopDirectoryMetrics;
    this.slotOf = new Uint16Array(opts.shard.index.capacity);
    this.tick();
    const every = opts.flushMs ?? 25;
    if (every > 0) {
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
    // Deltas queued for a home that left are for a ring that no longer exists.
    this.unsubscribe = opts.membership.onChange((m) => {
      const members = new Set(m.members.map((x) => x.node));
      for (const [home, q] of this.queues) {
        if (members.has(home)) continue;
        this.metrics.deltas('dropped', q.count);
        this.queues.delete(home);
      }
    });
    opts.shard.attachPublisher(this);
  }

  /** Deltas waiting, over every home (tests, metrics). */
  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.count;
    return n;
  }

  hot(ns: Namespace, id: number, root: number): void {
    const ring = this.opts.ring(this.opts.membership.current());
    if (ring !== this.lastRing || ns.id !== this.lastNs || root !== this.lastRoot) {
      this.lastRing = ring;
      this.lastNs = ns.id;
      this.lastRoot = root;
      this.lastSlot = ring.slotOf(ns.name, this.opts.shard.index.keyBytes(root));
    }
    this.slotOf[id] = this.lastSlot;
    this.enqueue(ring, this.lastSlot, ns, id, DeltaKind.HOLD);
  }

  dropped(ns: Namespace, id: number): void {
    this.enqueue(this.opts.ring(this.opts.membership.current()), this.slotOf[id] as number, ns, id, DeltaKind.EVICT);
  }

  private enqueue(ring: Ring, slot: number, ns: Namespace, id: number, kind: number): void {
    if (this.closed) return;
    const m = ring.slots[slot] as number;
    // Alone (no coordinator, or not yet in the ring) nobody could read the block from here.
    if (m < 0) return;
    const home = (ring.members[m] as { node: string }).node;
    let q = this.queues.get(home);
    if (q === undefined) this.queues.set(home, (q = { batches: [], count: 0, busy: false }));
    if (q.count >= this.opts.queueMax) {
      this.metrics.deltas('dropped', 1);
      return;
    }
    // A delta joins its namespace's newest batch: a key's HOLD and EVICT keep their order (batches
    // of one home are sent one after another).
    let b: Batch | undefined;
    for (const x of q.batches) if (x.namespace === ns.name) b = x;
    if (b === undefined || b.n === PUBLISH_BATCH) q.batches.push((b = { namespace: ns.name, items: Buffer.alloc(PUBLISH_BATCH * PUBLISH_ITEM_BYTES), n: 0 }));
    const at = b.n * PUBLISH_ITEM_BYTES;
    const ix = this.opts.shard.index;
    // The index keeps a key as four little-endian words: written back, they are the key's bytes.
    for (let w = 0; w < 4; w++) b.items.writeUInt32LE(ix.keys[id * 4 + w] as number, at + w * 4);
    b.items.writeUInt32LE(ix.length[id] as number, at + 16);
    b.items[at + 20] = kind;
    b.n++;
    q.count++;
    if (b.n === PUBLISH_BATCH && this.soon === undefined && !this.closed) this.soon = setImmediate(() => void this.flush());
  }

  /** The epoch from the clock: it changes every half TTL, so a hot block hit again is re-announced once per half TTL. */
  private tick(): void {
    this.epoch = 1 + (Math.floor(this.clock() / Math.max(1, this.opts.ttlMs / 2)) % 255);
  }

  /** Sends every queued delta (homes with a round still in flight wait); resolves when this round is answered. */
  async flush(): Promise<void> {
    this.soon = undefined;
    this.tick();
    const self = this.opts.membership.current().self;
    const rounds: Promise<void>[] = [];
    for (const [home, q] of this.queues) {
      if (q.count === 0 || q.busy) continue;
      const batches = q.batches.splice(0);
      q.count = 0;
      if (home === self) {
        for (const b of batches) this.applyLocal(self, b);
        continue;
      }
      q.busy = true;
      const round = this.send(home, batches).finally(() => {
        q.busy = false;
        this.inFlight.delete(round);
      });
      this.inFlight.add(round);
      rounds.push(round);
    }
    await Promise.all(rounds);
  }

  private applyLocal(self: string, b: Batch): void {
    const status = new Uint8Array(b.n);
    const applied = this.opts.store.publish(b.namespace, self, b.items.subarray(0, b.n * PUBLISH_ITEM_BYTES), this.clock(), status);
    this.metrics.deltas('sent', b.n);
    this.metrics.deltas('applied', applied);
    this.metrics.deltas('dropped', b.n - applied);
  }

  private async send(home: string, batches: Batch[]): Promise<void> {
    const sender = this.opts.sender;
    for (const b of batches) {
      if (sender === undefined) {
        this.metrics.deltas('dropped', b.n);
        continue;
      }
      this.metrics.deltas('sent', b.n);
      try {
        const status = await sender.publish(home, b.namespace, b.items.subarray(0, b.n * PUBLISH_ITEM_BYTES), { deadlineMs: this.opts.deadlineMs ?? 2_000 });
        let applied = 0;
        for (let i = 0; i < b.n; i++) if (status[i] === DeltaStatus.APPLIED) applied++;
        this.metrics.deltas('applied', applied);
        this.metrics.deltas('dropped', b.n - applied);
      } catch {
        this.metrics.deltas('dropped', b.n);
      }
    }
  }

  /** Stops the timer and waits for PUBLISH rounds in flight; queued deltas are dropped (counted). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.soon !== undefined) clearImmediate(this.soon);
    this.unsubscribe();
    this.metrics.deltas('dropped', this.queued);
    this.queues.clear();
    await Promise.all([...this.inFlight]);
  }
}
