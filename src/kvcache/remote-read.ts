/**
 * The shard side of an engine's one-call remote read (LOOKUP_REMOTE): when a chain continues past the
 * local hit by enough blocks to be worth a network trip, ask the directory who holds the missing
 * blocks, reserve local slots for them (WRITING entries, invisible to lookups, so no engine ever
 * reads half-written bytes), fetch each holder's blocks in one MGET straight into those slots, and
 * seal what arrived in chain order, stopping at the first hole (every cached block's parent stays
 * cached). Slots whose block did not arrive in time are freed. Fetched blocks become ordinary local
 * blocks: the next lookup finds them without a network trip.
 *
 * Everything here is asynchronous: the lease server keeps serving other connections while a fetch
 * waits. The request's budget bounds the directory question and every MGET (the transport rejects at
 * its deadline and never writes into a view after that), so the fetch settles within it.
 */
import { type DirectoryAnswer, type DirectoryLookup, NO_HOLDER } from './directory-types.js';
import { EntryState } from './index.js';
import type { KvMetricsSink } from './metrics.js';
import { PeerItem } from './peer/peer-protocol.js';
import type { MgetResult, Transport } from './peer/transport.js';
import { AllocFlag, ItemStatus, KEY_BYTES } from './protocol.js';
import type { RemoteStats } from './remote-stats.js';
import type { KvShard, Namespace } from './shard.js';

export interface RemoteReadOptions {
  /** Fetch only when at least this many blocks are missing past the local hit (--kv.remote-min-blocks). */
  readonly minBlocks: number;
  /** …and at least this share (0–1) of the chain (--kv.remote-min-percent / 100). */
  readonly minShare: number;
  /** Budget of a request that names none (--kv.remote-budget, ms). */
  readonly budgetMs: number;
  /** The most a request may ask for (--kv.remote-budget-max, ms). */
  readonly maxBudgetMs: number;
}

export const DEFAULT_REMOTE_READ: RemoteReadOptions = { minBlocks: 4, minShare: 0.1, budgetMs: 20, maxBudgetMs: 200 };

export interface RemoteReadDeps {
  readonly transport: Transport;
  readonly directory: DirectoryLookup;
  /** This agent's node name: a stale directory naming it as a holder is a miss, not a fetch. */
  readonly self?: string;
  readonly options?: Partial<RemoteReadOptions>;
}

export interface RemoteFetch {
  /** Blocks fetched and sealed, continuing the local prefix. */
  readonly blocks: number;
  readonly bytes: number;
  readonly budgetExpired: boolean;
  /** Whether the directory was asked (the chain was long enough). */
  readonly asked: boolean;
}

const NOTHING: RemoteFetch = { blocks: 0, bytes: 0, budgetExpired: false, asked: false };

export class RemoteReader {
  readonly options: RemoteReadOptions;

  constructor(
    private readonly shard: KvShard,
    private readonly slab: (index: number) => Uint8Array,
    private readonly deps: RemoteReadDeps,
    private readonly metrics: KvMetricsSink,
    private readonly stats?: RemoteStats,
  ) {
    this.options = { ...DEFAULT_REMOTE_READ, ...deps.options };
  }

  /** The budget of one request: its own (ms, 0 = none named) capped, else the default. */
  budgetOf(requestedMs: number): number {
    return requestedMs === 0 ? this.options.budgetMs : Math.min(requestedMs, this.options.maxBudgetMs);
  }

  /** Sealed blocks at the front of `keys` (no pins, no metrics: the final LOOKUP counts). */
  localPrefix(ns: Namespace, keys: Buffer): number {
    const ix = this.shard.index;
    const n = keys.length / KEY_BYTES;
    let hits = 0;
    for (; hits < n; hits++) {
      const id = ix.find(ns.id, keys, hits * KEY_BYTES);
      if (id < 0 || ix.stateOf(id) !== EntryState.SEALED) break;
    }
    return hits;
  }

  /**
   * The double-get rule: a remote trip pays only for a long enough missing suffix. `fetchAll` (the
   * request's FETCH_ALL flag: a caller that knows recompute costs more) waives the thresholds.
   */
  worthFetching(localHits: number, n: number, fetchAll = false): boolean {
    const missing = n - localHits;
    return missing > 0 && (fetchAll || (missing >= this.options.minBlocks && missing >= this.options.minShare * n));
  }

  /**
   * Fetches `keys[from…)` (the chain past the local hit) from their holders within `budgetMs`; the
   * blocks that arrive intact, in chain order up to the first hole, are sealed in this shard. At most
   * `maxBlocks` are reserved at once (the asking connection's --kv.max-writing-bytes: a remote read
   * may not hold more of the shard in unsealed slots than the engine's own writes could). With
   * `fetchAll` any missing run is fetched, however short.
   */
  async fetch(ns: Namespace, keys: Buffer, from: number, budgetMs: number, opts: { maxBlocks?: number; fetchAll?: boolean } = {}): Promise<RemoteFetch> {
    const n = keys.length / KEY_BYTES;
    const maxBlocks = opts.maxBlocks ?? Infinity;
    if (!this.worthFetching(from, n, opts.fetchAll === true)) return NOTHING;
    const t0 = performance.now();
    const deadline = t0 + budgetMs;
    const left = (): number => Math.max(1, Math.ceil(deadline - performance.now()));
    let answer: DirectoryAnswer;
    let expired = false;
    try {
      // The whole chain: the directory finds a chain's home by its root key.
      answer = await this.deps.directory.lookup(ns.name, keys, left());
    } catch (err) {
      // Timers may fire a little before the clock shows the deadline: a millisecond's slack.
      expired = isDeadline(err) || performance.now() >= deadline - 1;
      this.count(0, 0, t0, expired);
      return { ...NOTHING, asked: true, budgetExpired: expired };
    }
    // The run of blocks with a holder right after the local hit; the chain cannot go past a block nobody holds.
    let end = from;
    while (end < n && end < answer.holderOf.length && end - from < maxBlocks) {
      const h = answer.holderOf[end] as number;
      if (h === NO_HOLDER || h >= answer.holders.length || answer.holders[h] === this.deps.self) break;
      end++;
    }
    const slots = this.reserve(ns, keys, from, end);
    if (slots.length === 0) {
      this.count(0, 0, t0, false);
      return { ...NOTHING, asked: true };
    }
    const got = new Int32Array(slots.length).fill(-1);
    // One MGET per holder, all at once, each into the slots reserved for its keys.
    const byHolder = new Map<number, number[]>();
    for (let i = 0; i < slots.length; i++) {
      const h = answer.holderOf[from + i] as number;
      let list = byHolder.get(h);
      if (list === undefined) byHolder.set(h, (list = []));
      list.push(i);
    }
    const ix = this.shard.index;
    const calls = [...byHolder].map(async ([h, list]) => {
      const ask = Buffer.allocUnsafe(list.length * KEY_BYTES);
      const dests = list.map((i, j) => {
        keys.copy(ask, j * KEY_BYTES, (from + i) * KEY_BYTES, (from + i + 1) * KEY_BYTES);
        const loc = this.shard.allocator.where(ix.slot[slots[i] as number] as number);
        return this.slab(loc.slab).subarray(loc.offset, loc.offset + ns.blockSize);
      });
      const r: MgetResult = await this.deps.transport.mget(answer.holders[h] as string, ns.name, ask, dests, { prefix: true, deadlineMs: left() });
      list.forEach((i, j) => {
        if (r.status[j] === PeerItem.FOUND) got[i] = r.lengths[j] as number;
      });
    });
    const settled = await Promise.allSettled(calls);
    if (settled.some((s) => s.status === 'rejected' && isDeadline(s.reason))) expired = true;
    // Seal in chain order up to the first block that did not arrive; free every slot after it.
    let blocks = 0;
    let bytes = 0;
    let hole = false;
    for (let i = 0; i < slots.length; i++) {
      const id = slots[i] as number;
      if (!hole && (got[i] as number) > 0 && this.shard.sealFetched(id, got[i] as number) === ItemStatus.OK) {
        blocks++;
        bytes += got[i] as number;
        continue;
      }
      hole = true;
      // A block sealed above is SEALED; a failed sealFetched left this one WRITING.
      if (ix.stateOf(id) === EntryState.WRITING) this.shard.abort(id);
    }
    this.count(blocks, bytes, t0, expired);
    return { blocks, bytes, budgetExpired: expired, asked: true };
  }

  private count(blocks: number, bytes: number, t0: number, expired: boolean): void {
    this.metrics.remoteRead(blocks, bytes, (performance.now() - t0) / 1000, expired);
    this.stats?.read(blocks, bytes, expired);
  }

  /**
   * WRITING entries for `keys[from…end)`, chained to the local prefix: the leading run allocated OK.
   * A key another engine is writing (BUSY) or has sealed meanwhile (EXISTS) ends the run; the slots
   * allocated after it are freed at once.
   */
  private reserve(ns: Namespace, keys: Buffer, from: number, end: number): number[] {
    const m = end - from;
    if (m <= 0) return [];
    const status = new Uint8Array(m);
    const ids = new Int32Array(m);
    const parent = from > 0 ? keys.subarray((from - 1) * KEY_BYTES, from * KEY_BYTES) : undefined;
    const lengths = new Uint32Array(m).fill(ns.blockSize);
    this.shard.alloc(ns, { keys: keys.subarray(from * KEY_BYTES, end * KEY_BYTES), lengths, flags: parent === undefined ? 0 : AllocFlag.PARENT, parent }, status, ids);
    const out: number[] = [];
    let run = true;
    for (let i = 0; i < m; i++) {
      if (status[i] !== ItemStatus.OK) {
        run = false;
        continue;
      }
      if (run) out.push(ids[i] as number);
      else this.shard.abort(ids[i] as number);
    }
    return out;
  }
}

/** The transport's (PeerError) and the directory's deadline rejections carry code DEADLINE. */
function isDeadline(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'DEADLINE';
}
