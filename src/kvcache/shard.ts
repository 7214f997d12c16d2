/**
 * The shard's semantics, independent of sockets: namespaces, longest-prefix lookup, slot allocation
 * with eviction (leaf first, leased blocks never), seal/abort, quotas and the summary. The lease
 * server owns leases and calls in here; every method runs synchronously on the event loop, so one
 * request is atomic with respect to every other.
 */
import { SlotAllocator, slotSizeFor } from './allocator.js';
import { createPolicy } from './eviction/create-policy.js';
import type { EvictionPolicy } from './eviction/types.js';
import { EntryState, KvIndex, MAX_REFS, ORPHAN } from './index.js';
import { type DropReason, type KvMetricsSink, type NamespaceMetrics, noopKvMetrics } from './metrics.js';
import { SLOT_ALIGN } from './options.js';
import { AllocFlag, type AllocRequest, ItemStatus, KEY_BYTES, ProtocolError, Status, layoutText } from './protocol.js';
import type { KvNamespaceSummary, KvShardOptions } from './types.js';

export interface Namespace {
  readonly id: number;
  readonly name: string;
  /** The layout signature for people (text, or `hex:…` when not UTF-8). */
  readonly layout: string;
  /** The signature as sent: namespaces compare it byte for byte. */
  readonly layoutBytes: Buffer;
  readonly blockSize: number;
  readonly slotSize: number;
  readonly classId: number;
  readonly quota: number | undefined;
  readonly metrics: NamespaceMetrics;
  /** uid of the peer whose HELLO created it (-1 = not known); counted by --kv.max-namespaces-per-uid. */
  readonly ownerUid: number;
  bytes: number;
  entries: number;
  connections: number;
  lookups: number;
  hitBlocks: number;
  requestedBlocks: number;
}

/** Evictions one allocation may cause before it gives up with FULL. */
const EVICTION_BUDGET = 4096;

/**
 * What the pool directory's publisher (directory/publisher.ts) is told. A block is *hot* from its
 * first hit after it was sealed (a LOOKUP pin or a peer's MGET; EXISTS is no access): the reuse
 * S3-FIFO promotes to its main queue and ARC moves to T2, taken at the hit so that it is the same
 * under every --kv.policy. A hot block hit again in a later epoch is announced again (a refresh).
 */
export interface ShardPublisher {
  /** Small non-zero number that changes every half directory TTL; a hit re-announces blocks stamped with another. */
  readonly epoch: number;
  /** `id` (sealed, in `ns`) is hot; `root` is the first block of its chain (parent links followed up). */
  hot(ns: Namespace, id: number, root: number): void;
  /** Hot block `id` leaves the shard (evicted or wiped); its key is still readable. */
  dropped(ns: Namespace, id: number): void;
}

export class KvShard {
  readonly index: KvIndex;
  readonly allocator: SlotAllocator;
  readonly policy: EvictionPolicy;
  private readonly namespaces: (Namespace | undefined)[] = [];
  private readonly byName = new Map<string, Namespace>();
  private writingBytes = 0;
  private sealedBytes = 0;
  private readLeases = 0;
  private writeLeases = 0;
  /** Namespace filter for canEvict (-1 = any) and class filter (-1 = any). */
  private evictNs = -1;
  private evictClass = -1;
  private publisher: ShardPublisher | undefined;
  /** Per entry: the publisher's epoch when it was last announced hot; 0 = not hot (made with the publisher). */
  private hotEpoch = new Uint8Array(0);
  private readonly canEvict = (id: number): boolean => {
    const ix = this.index;
    if (ix.refs[id] !== 0 || !ix.isLeaf(id)) return false;
    if (this.evictNs >= 0 && ix.nsOf(id) !== this.evictNs) return false;
    if (this.evictClass >= 0 && (this.namespaces[ix.nsOf(id)] as Namespace).classId !== this.evictClass) return false;
    return true;
  };

  constructor(
    readonly options: KvShardOptions,
    private readonly metrics: KvMetricsSink = noopKvMetrics,
    policy?: EvictionPolicy,
  ) {
    this.index = new KvIndex(options.maxEntries);
    this.allocator = new SlotAllocator(options.slabSize, options.slabCount, options.pageSize);
    const index = this.index;
    this.policy = policy ?? createPolicy(options.policy, { capacity: options.maxEntries, smallRatio: options.smallRatio, fingerprintOf: (id) => index.fingerprint(id) });
  }

  // ───────────── namespaces ─────────────

  /** Binds a connection to a namespace, creating it on first use (`uid`: the peer's, for the per-uid cap). */
  hello(name: string, layoutSig: Uint8Array | string, blockSize: number, uid = -1): Namespace {
    const layout = typeof layoutSig === 'string' ? Buffer.from(layoutSig, 'utf8') : Buffer.from(layoutSig);
    if (name === '') throw new ProtocolError(Status.BAD_HELLO, 'namespace must not be empty');
    if (!Number.isInteger(blockSize) || blockSize < SLOT_ALIGN || blockSize > this.options.pageSize) {
      throw new ProtocolError(Status.BAD_HELLO, `block size ${blockSize} out of range ${SLOT_ALIGN}–${this.options.pageSize} (--kv.page-size)`);
    }
    let ns = this.byName.get(name);
    if (ns !== undefined) {
      if (ns.blockSize !== blockSize || !ns.layoutBytes.equals(layout)) {
        throw new ProtocolError(Status.LAYOUT_MISMATCH, `namespace ${name} holds blocks of ${ns.blockSize} bytes, layout "${ns.layout}"; this engine sent ${blockSize} bytes, layout "${layoutText(layout)}"`);
      }
    } else {
      this.checkUidNamespaces(uid);
      const id = this.freeNamespaceId();
      const slotSize = slotSizeFor(blockSize);
      ns = {
        id,
        name,
        layout: layoutText(layout),
        layoutBytes: layout,
        blockSize,
        slotSize,
        classId: this.allocator.classFor(slotSize),
        quota: this.options.quotas.get(name),
        metrics: this.metrics.namespace(name),
        ownerUid: uid,
        bytes: 0,
        entries: 0,
        connections: 0,
        lookups: 0,
        hitBlocks: 0,
        requestedBlocks: 0,
      };
      this.namespaces[id] = ns;
      this.byName.set(name, ns);
    }
    ns.connections++;
    return ns;
  }

  /**
   * One uid may create at most --kv.max-namespaces-per-uid namespaces that hold blocks or have a
   * connection (empty idle ones are reclaimable and do not count), so one tenant cannot take every
   * slot. Runs only when a HELLO creates a namespace.
   */
  private checkUidNamespaces(uid: number): void {
    const max = this.options.maxNamespacesPerUid;
    if (uid < 0 || max <= 0 || max >= this.options.maxNamespaces) return;
    let held = 0;
    for (const ns of this.byName.values()) if (ns.ownerUid === uid && (ns.entries > 0 || ns.connections > 0)) held++;
    if (held >= max) {
      throw new ProtocolError(Status.TOO_MANY_NAMESPACES, `uid ${uid} already created ${held} namespaces that hold blocks or connections (--kv.max-namespaces-per-uid ${max}); reuse one`);
    }
  }

  goodbye(ns: Namespace): void {
    ns.connections--;
  }

  private freeNamespaceId(): number {
    for (let i = 0; i < this.options.maxNamespaces; i++) if (this.namespaces[i] === undefined) return i;
    for (let i = 0; i < this.options.maxNamespaces; i++) {
      const old = this.namespaces[i] as Namespace;
      if (old.entries === 0 && old.connections === 0) {
        this.byName.delete(old.name);
        old.metrics.forget();
        return i;
      }
    }
    // An idle namespace holding little (at most capacity / --kv.max-namespaces) is wiped to make room,
    // the one with the fewest bytes first: a block left in each of many namespaces must not lock every
    // newcomer out. A namespace with a connection, or holding more than that, is kept.
    const little = this.allocator.capacityBytes / this.options.maxNamespaces;
    let victim: Namespace | undefined;
    for (let i = 0; i < this.options.maxNamespaces; i++) {
      const old = this.namespaces[i] as Namespace;
      if (old.connections === 0 && old.bytes <= little && (victim === undefined || old.bytes < victim.bytes)) victim = old;
    }
    if (victim !== undefined && this.wipe(victim)) {
      this.byName.delete(victim.name);
      victim.metrics.forget();
      return victim.id;
    }
    throw new ProtocolError(Status.TOO_MANY_NAMESPACES, `${this.options.maxNamespaces} namespaces in use (--kv.max-namespaces), none idle with at most ${little} bytes`);
  }

  /**
   * Drops every block of an idle namespace; false when one is still leased or being written (then
   * nothing more is dropped). One pass over the index: only run when the namespace table is full.
   */
  private wipe(ns: Namespace): boolean {
    const ix = this.index;
    // Check every block first: stopping half way would leave children whose parents are gone.
    for (let id = 0, seen = 0; id < ix.capacity && seen < ns.entries; id++) {
      const st = ix.stateOf(id);
      if (st === EntryState.FREE || ix.nsOf(id) !== ns.id) continue;
      if (st !== EntryState.SEALED || ix.refs[id] !== 0) return false;
      seen++;
    }
    for (let id = 0; id < ix.capacity && ns.entries > 0; id++) {
      if (ix.stateOf(id) === EntryState.FREE || ix.nsOf(id) !== ns.id) continue;
      this.policy.remove(id);
      this.release(id);
    }
    return ns.entries === 0;
  }

  // ───────────── reads ─────────────

  /**
   * Longest sealed prefix of `keys` (n × 16 bytes). With `pinned`, each hit gets a read pin and its
   * entry id is written to `pinned[i]`. Touches the hit chain from the deepest block to the root.
   */
  lookup(ns: Namespace, keys: Buffer, op: 'lookup' | 'exists', pinned?: Int32Array): number {
    const t0 = performance.now();
    const ix = this.index;
    const n = keys.length / KEY_BYTES;
    let hits = 0;
    let hitBytes = 0;
    for (; hits < n; hits++) {
      const id = ix.find(ns.id, keys, hits * KEY_BYTES);
      if (id < 0 || ix.stateOf(id) !== EntryState.SEALED) break;
      if (pinned !== undefined) {
        if (ix.refs[id] === MAX_REFS) break;
        pinned[hits] = id;
      }
      hitBytes += ix.length[id] as number;
    }
    if (pinned !== undefined) {
      for (let i = 0; i < hits; i++) ix.refs[pinned[i] as number]!++;
      this.readLeases += hits;
      ns.metrics.get(hitBytes);
    }
    // A LOOKUP is an access (EXISTS, a scheduler probe, is not). Deepest first, so that on recency
    // the root of a chain is the most recently used block.
    if (pinned !== undefined) for (let i = hits - 1; i >= 0; i--) this.policy.touch(pinned[i] as number);
    if (pinned !== undefined && this.publisher !== undefined && hits > 0) this.announce(ns, pinned, hits);
    ns.lookups++;
    ns.hitBlocks += hits;
    ns.requestedBlocks += n;
    ns.metrics.lookup(op, n, hits, n * ns.blockSize, hitBytes, (performance.now() - t0) / 1000);
    return hits;
  }

  /** The namespace of that name, if it exists (peers read namespaces; they never create one). */
  namespaceNamed(name: string): Namespace | undefined {
    return this.byName.get(name);
  }

  /**
   * Each key on its own (a peer's MEXISTS/MGET): `ids[i]` = the sealed entry, or -1. With `prefix`,
   * stops at the first miss (later ids stay -1). With `pin`, every hit gets a read pin (unpin() each),
   * counts as an access and as a LOOKUP in the metrics; without, as an EXISTS. Returns the hits.
   */
  findEach(ns: Namespace, keys: Buffer, ids: Int32Array, prefix: boolean, pin: boolean): number {
    const t0 = performance.now();
    const ix = this.index;
    const n = keys.length / KEY_BYTES;
    ids.fill(-1, 0, n);
    let hits = 0;
    let hitBytes = 0;
    for (let i = 0; i < n; i++) {
      const id = ix.find(ns.id, keys, i * KEY_BYTES);
      const ok = id >= 0 && ix.stateOf(id) === EntryState.SEALED && (!pin || (ix.refs[id] as number) < MAX_REFS);
      if (!ok) {
        if (prefix) break;
        continue;
      }
      if (pin) {
        ix.refs[id]!++;
        this.readLeases++;
        this.policy.touch(id);
      }
      ids[i] = id;
      hits++;
      hitBytes += ix.length[id] as number;
    }
    if (pin) ns.metrics.get(hitBytes);
    if (pin && this.publisher !== undefined && hits > 0) this.announce(ns, ids, n);
    ns.lookups++;
    ns.hitBlocks += hits;
    ns.requestedBlocks += n;
    ns.metrics.lookup(pin ? 'lookup' : 'exists', n, hits, n * ns.blockSize, hitBytes, (performance.now() - t0) / 1000);
    return hits;
  }

  /** Attaches the directory's publisher (one per shard): hits and drops of hot blocks are told from now on. */
  attachPublisher(p: ShardPublisher): void {
    if (this.publisher !== undefined) throw new Error('the shard already has a publisher');
    this.publisher = p;
    this.hotEpoch = new Uint8Array(this.index.capacity);
  }

  /**
   * Tells the publisher of the hits in `ids[0..n)` (-1 = none) not yet announced in this epoch. The
   * chain's root is found once per run of linked hits by following parent links (a chain's blocks come
   * root first in a request, so this is one walk per request).
   */
  private announce(ns: Namespace, ids: Int32Array, n: number): void {
    const pub = this.publisher as ShardPublisher;
    const epoch = pub.epoch;
    const ix = this.index;
    let root = -1;
    let prev = -1;
    for (let i = 0; i < n; i++) {
      const id = ids[i] as number;
      if (id < 0) continue;
      if (this.hotEpoch[id] !== epoch) {
        if (root < 0 || ix.parent[id] !== prev) root = this.rootOf(id);
        this.hotEpoch[id] = epoch;
        pub.hot(ns, id, root);
      }
      prev = id;
    }
  }

  /** The first block of `id`'s chain: parent links followed up (a parent is always cached). */
  rootOf(id: number): number {
    const parent = this.index.parent;
    let r = id;
    for (let p = parent[r] as number; p >= 0; p = parent[r] as number) r = p;
    return r;
  }

  /** Ends one read pin. */
  unpin(id: number): void {
    const ix = this.index;
    if (ix.refs[id] === 0) throw new Error(`unpin of entry ${id} without a pin`);
    ix.refs[id]!--;
    this.readLeases--;
  }

  // ───────────── writes ─────────────

  /**
   * Reserves slots for an ALLOC request. Fills `status[i]` and, for OK items, `ids[i]` with the new
   * WRITING entry (the caller turns it into a write lease).
   */
  alloc(ns: Namespace, req: AllocRequest, status: Uint8Array, ids: Int32Array): void {
    const ix = this.index;
    const n = req.lengths.length;
    const chained = (req.flags & AllocFlag.INDEPENDENT) === 0;
    let parent = -1;
    // Every cached block's parent is cached: a block whose parent is missing could never be reached
    // by a lookup, so once a chain fails, every later item of it fails too (`stop`): FULL and QUOTA
    // as themselves, any other failure (or a PARENT key not in the index) as NO_PARENT.
    let stop = 0;
    if (req.parent !== undefined) {
      parent = ix.find(ns.id, req.parent, 0);
      if (parent < 0) stop = ItemStatus.NO_PARENT;
    }
    const created = n > 1 ? new Set<number>() : undefined;
    for (let i = 0; i < n; i++) {
      const at = i * KEY_BYTES;
      const len = req.lengths[i] as number;
      let id = stop === 0 ? ix.find(ns.id, req.keys, at) : -1;
      let st: number = ItemStatus.OK;
      if (stop !== 0) {
        st = stop;
        this.metrics.droppedWrite(stop === ItemStatus.QUOTA ? 'quota' : stop === ItemStatus.FULL ? 'full' : 'no_parent');
      } else if (id >= 0) {
        st = created?.has(id) === true ? ItemStatus.DUPLICATE : ix.stateOf(id) === EntryState.SEALED ? ItemStatus.EXISTS : ItemStatus.BUSY;
      } else if (len === 0 || len > ns.blockSize) {
        st = ItemStatus.BAD_LENGTH;
      } else {
        // The parent is pinned while room is made: evicting it for its own child would cut the chain.
        const pin = parent >= 0 && (ix.refs[parent] as number) < MAX_REFS;
        if (pin) ix.refs[parent]!++;
        const slot = this.takeSlot(ns);
        if (pin) ix.refs[parent]!--;
        if (slot < 0) {
          st = slot === -2 ? ItemStatus.QUOTA : ItemStatus.FULL;
          this.metrics.droppedWrite(st === ItemStatus.QUOTA ? 'quota' : 'full');
        } else {
          id = ix.insert(ns.id, req.keys, at, slot, len, parent);
          ns.bytes += ns.slotSize;
          ns.entries++;
          this.writingBytes += ns.slotSize;
          this.writeLeases++;
          created?.add(id);
        }
      }
      status[i] = st;
      ids[i] = st === ItemStatus.OK ? id : -1;
      if (st !== ItemStatus.OK && st !== ItemStatus.EXISTS && st !== ItemStatus.BUSY) {
        // Independent keys fail one by one; in a chain the rest of it cannot be cached.
        if (chained && stop === 0) stop = st === ItemStatus.FULL || st === ItemStatus.QUOTA ? st : ItemStatus.NO_PARENT;
      } else if (chained) parent = id;
    }
  }

  /**
   * Bytes the namespace may hold: its --kv.quotas entry, else --kv.namespace-share of the shard while
   * another namespace holds blocks (one tenant cannot evict every other), else no limit (a namespace
   * alone on the shard, the one-model node, keeps the whole capacity).
   */
  private limitOf(ns: Namespace): number | undefined {
    if (ns.quota !== undefined) return ns.quota;
    const share = this.options.namespaceShare;
    if (share >= 1 || this.writingBytes + this.sealedBytes === ns.bytes) return undefined;
    return Math.floor(this.allocator.capacityBytes * share);
  }

  /** A free slot for the namespace, evicting as needed: ≥ 0, -1 (FULL) or -2 (QUOTA). */
  private takeSlot(ns: Namespace): number {
    const limit = this.limitOf(ns);
    if (limit !== undefined && ns.bytes + ns.slotSize > limit) {
      this.evictNs = ns.id;
      try {
        let budget = 64;
        while (ns.bytes + ns.slotSize > limit && budget-- > 0 && this.evictOne()) {
          /* evicting the namespace's own blocks */
        }
      } finally {
        this.evictNs = -1;
      }
      if (ns.bytes + ns.slotSize > limit) return -2;
    }
    if (this.index.full && !this.evictOne()) return -1;
    let slot = this.allocator.take(ns.classId);
    if (slot >= 0) return slot;
    // In policy order first (a victim of the same block size frees a usable slot at once); then only
    // blocks of this size, which skips (and so re-queues) others; then anything, until a page empties.
    for (let tries = 0; tries < 4 && slot < 0 && this.evictOne(); tries++) slot = this.allocator.take(ns.classId);
    if (slot < 0) {
      this.evictClass = ns.classId;
      try {
        for (let tries = 0; tries < 8 && slot < 0 && this.evictOne(); tries++) slot = this.allocator.take(ns.classId);
      } finally {
        this.evictClass = -1;
      }
    }
    for (let budget = EVICTION_BUDGET; slot < 0 && budget > 0 && this.evictOne(); budget--) slot = this.allocator.take(ns.classId);
    return slot;
  }

  private evictOne(): boolean {
    const id = this.policy.evict(this.canEvict);
    if (id < 0) return false;
    this.metrics.eviction(this.policy.lastQueue);
    this.release(id);
    return true;
  }

  /**
   * WRITING → SEALED: visible to lookups, handed to the eviction policy. NO_PARENT (nothing changes)
   * when the block continues a chain whose parent is not sealed: still being written, or dropped.
   */
  seal(id: number): number {
    const ix = this.index;
    if (ix.stateOf(id) !== EntryState.WRITING) throw new Error(`seal of entry ${id} in state ${ix.stateOf(id)}`);
    const p = ix.parent[id] as number;
    if (p === ORPHAN || (p >= 0 && ix.stateOf(p) !== EntryState.SEALED)) return ItemStatus.NO_PARENT;
    const ns = this.namespaces[ix.nsOf(id)] as Namespace;
    ix.setSealed(id);
    this.writingBytes -= ns.slotSize;
    this.sealedBytes += ns.slotSize;
    this.writeLeases--;
    ns.metrics.put(ix.length[id] as number);
    if (this.policy.insert(id, ix.fingerprint(id))) this.metrics.ghostHit();
    return ItemStatus.OK;
  }

  /**
   * Drops a WRITING entry: nothing becomes visible, the slot is free again. Without a reason it is not
   * counted as a dropped write (a remote read's slot whose block did not arrive: no engine wrote it).
   */
  abort(id: number, reason?: DropReason): void {
    if (this.index.stateOf(id) !== EntryState.WRITING) throw new Error(`abort of entry ${id} in state ${this.index.stateOf(id)}`);
    this.writeLeases--;
    if (reason !== undefined) this.metrics.droppedWrite(reason);
    this.release(id);
  }

  /** Seals a block fetched from a peer into a slot allocated for a full block: its length is known only now. */
  sealFetched(id: number, length: number): number {
    const ix = this.index;
    if (ix.stateOf(id) !== EntryState.WRITING) throw new Error(`seal of entry ${id} in state ${ix.stateOf(id)}`);
    if (length <= 0 || length > this.namespaceOf(id).blockSize) return ItemStatus.BAD_LENGTH;
    ix.length[id] = length;
    return this.seal(id);
  }

  /** Frees an entry's slot and id (WRITING, or SEALED already unlinked from the policy by evict()). */
  private release(id: number): void {
    const ix = this.index;
    const ns = this.namespaces[ix.nsOf(id)] as Namespace;
    if (ix.stateOf(id) === EntryState.WRITING) this.writingBytes -= ns.slotSize;
    else this.sealedBytes -= ns.slotSize;
    ns.bytes -= ns.slotSize;
    ns.entries--;
    if (this.hotEpoch[id] !== undefined && this.hotEpoch[id] !== 0) {
      this.hotEpoch[id] = 0;
      this.publisher?.dropped(ns, id);
    }
    this.allocator.free(ix.slot[id] as number);
    ix.remove(id);
  }

  // ───────────── views ─────────────

  namespaceOf(id: number): Namespace {
    return this.namespaces[this.index.nsOf(id)] as Namespace;
  }

  bytesByState(): { free: number; writing: number; sealed: number } {
    return { free: this.allocator.capacityBytes - this.writingBytes - this.sealedBytes, writing: this.writingBytes, sealed: this.sealedBytes };
  }

  leases(): { read: number; write: number } {
    return { read: this.readLeases, write: this.writeLeases };
  }

  namespaceSummaries(): KvNamespaceSummary[] {
    const out: KvNamespaceSummary[] = [];
    for (const ns of this.namespaces) {
      if (ns === undefined) continue;
      out.push({
        name: ns.name,
        blockSize: ns.blockSize,
        layout: ns.layout,
        entries: ns.entries,
        bytes: ns.bytes,
        quotaBytes: ns.quota ?? null,
        connections: ns.connections,
        lookups: ns.lookups,
        hitBlocks: ns.hitBlocks,
        requestedBlocks: ns.requestedBlocks,
        hitRatio: ns.requestedBlocks === 0 ? null : ns.hitBlocks / ns.requestedBlocks,
      });
    }
    return out;
  }
}
