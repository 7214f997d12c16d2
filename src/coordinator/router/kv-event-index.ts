/**
 * The exact prefix index fed by engines' KV events (vLLM's BlockStored / BlockRemoved /
 * AllBlocksCleared): which blocks each engine holds right now, as the engine itself reports them.
 *
 * Dual keys: an event names blocks by the engine's hashes (strings, see common/kv-events), which the
 * gateway cannot compute from a prompt. BlockStored also carries the blocks' token ids and the parent
 * block's engine hash, so the index computes the gateway's own chained key of every stored block —
 * hashTokenBlock over the ids, chained from the parent's gateway key (the seed at a chain start),
 * exactly what chainedBlockHashes gives for the engine tokenizer's prompt text at the engine's block
 * size — and keeps both: engine hash → entry (for removals) and gateway key → entry (for matching).
 *
 * Each (engine, block) entry records the media holding it (GPU, BRIXLET pool tier, others) as a bit
 * set; a match weighs a GPU block 1 and a block only in another tier `tierWeight` (0.5 by default),
 * since loading it back costs time the GPU cache does not.
 *
 * Storage: entries live in typed arrays (key, engine slot, media, insertion-order links) with a free
 * list; a typed-array hash table (EntryTable: its buckets hold only entry numbers, the pair is read
 * from the entry) maps (gateway key, engine) to entries, a Map per engine its engine hashes. The
 * index is bounded by `capacity` entries across engines; storing past it evicts the oldest stored
 * entry (insertion order, refreshed when a block is stored again).
 *
 * Holder rows, for matching every live engine at once: a second KeyTable maps (gateway key, block
 * size) to a row of two bitsets over engine slots — which engines hold the key, and which of them on
 * the GPU — kept equal to what the (key, engine) table says on every store, medium change, removal,
 * eviction and clear. A row exists only while some engine holds its key, so rows ≤ entries.
 * `matchLive` walks the prompt's chained keys once per block size, narrowing the set of engines
 * still matching (a few word operations per block); each engine's longest prefix is the depth where
 * it drops out, and blocks it holds only in a tier are counted as they pass.
 *
 * Liveness: an engine is live while its subscription is connected and its last batch is at most
 * `staleMs` old. `sweep(now)` (the gateway runs it every second; tests pass a clock value) marks
 * engines stale; the router then uses the approximate index for them until batches flow again.
 *
 * Batches must arrive in sequence order per engine: a sequence number not above the last applied
 * one is counted and skipped, except 0 after a higher one, a restarted publisher, which drops the
 * engine's blocks (the subscriber delivers replayed batches before newer ones); a jump is
 * counted as a gap (and the batch applied). A batch with any malformed event is counted and skipped
 * whole.
 */
import { BrixletError } from '../../common/errors.js';
import { BRIXLET_MEDIUM, GPU_MEDIUM, type KvEvent, type KvEventBatch, type ReceivedKvEventBatch } from '../../common/kv-events/types.js';
import { chainedBlockHashes, hashTokenBlock } from './block-hash.js';
import { EntryTable, KeyTable } from './key-table.js';
import { loraSeed } from './lora-seed.js';
import type { PromptBlocks } from './types.js';

export interface KvEventIndexOptions {
  /** Entries (engine, block) kept across engines; the oldest is evicted past it. */
  readonly capacity: number;
  /** h_{-1} of the gateway's chained keys: the prefix index's seed. Default 0. */
  readonly seed?: number;
  /** An engine with no batch for this long is stale (approximate index). Default 10 000 ms. */
  readonly staleMs?: number;
  /** Weight of a block held only outside the GPU (pool tier, CPU offload). Default 0.5. */
  readonly tierWeight?: number;
  /** Largest block size accepted from an event. Default 4096. */
  readonly maxBlockSize?: number;
}

/** Counters of one engine's stream (brixlet_router_kv_events_* metrics). */
export interface KvEngineStats {
  readonly uid: string;
  readonly live: boolean;
  readonly connected: boolean;
  readonly batches: number;
  readonly events: number;
  readonly blocks: number;
  /** Batches skipped: sequence number not above the last applied one. */
  readonly outOfOrder: number;
  /** Batches skipped: a malformed event. */
  readonly malformed: number;
  /** Sequence jumps seen, and the batches they skipped over. */
  readonly gaps: number;
  readonly missedBatches: number;
  /** Stored blocks not indexed: parent unknown, no token ids for a new block, or an adapter named only by lora_id. */
  readonly unkeyed: number;
  /** Sequence restarts at 0 (a restarted publisher): the engine's blocks were dropped. */
  readonly restarts: number;
  /** Seconds between the engine's stamp on its latest batch and its arrival. */
  readonly lagSeconds: number;
  readonly blockSize: number;
}

export type IngestOutcome = 'applied' | 'out-of-order' | 'malformed';

const NIL = -1;
const M_GPU = 1;
const M_POOL = 2;
const M_OTHER = 4;

interface EngineRec {
  readonly uid: string;
  readonly slot: number;
  byHash: Map<string, number>;
  blockSize: number;
  lastSeq: bigint;
  lastBatchAt: number;
  connected: boolean;
  live: boolean;
  batches: number;
  events: number;
  outOfOrder: number;
  malformed: number;
  gaps: number;
  missedBatches: number;
  unkeyed: number;
  restarts: number;
  lagSeconds: number;
}

/**
 * Per prompt, the gateway keys at block sizes other than the prefix index's, hashed once and only as
 * far as a match has needed (chained keys extend from the last one hashed).
 */
const rehashed = new WeakMap<PromptBlocks, Map<number, number[]>>();
/** Keys hashed at least at a time when matchLive extends a prompt's keys. */
const MIN_REHASH = 32;

export class KvEventIndex {
  readonly capacity: number;
  readonly seed: number;
  readonly staleMs: number;
  readonly tierWeight: number;
  private readonly maxBlockSize: number;
  private keys: Float64Array;
  private owner: Int32Array;
  private media: Uint8Array;
  private prev: Int32Array;
  private next: Int32Array;
  private hashes: (string | undefined)[] = [];
  private freeHead = NIL;
  private used = 0;
  private oldest = NIL;
  private newest = NIL;
  private evictions = 0;
  /** (gateway key, engine slot) → entry: one probe per block when matching (4-byte buckets read through keys and owner). */
  private readonly byKey: EntryTable;
  /** Entry → its holder row (valid while the entry is the one byKey maps its pair to). */
  private entryRow: Int32Array;
  /** (gateway key, block size) → holder row. */
  private readonly rowOf: KeyTable;
  /** 32-bit words per holder row (grows with the engine slots). */
  private words = 1;
  /** Rows × words: engine slots holding the row's key, and those holding it on the GPU. */
  private holders: Uint32Array;
  private gpuHolders: Uint32Array;
  /** Engines holding each row's key; a row is freed at 0. */
  private rowFill: Int32Array;
  private rowTop = 0;
  private readonly rowFree: number[] = [];
  /** Scratch of matchLive: engines still matching, tier-only blocks and matched depth per slot. */
  private cur = new Uint32Array(1);
  private tierCount = new Int32Array(32);
  private depth = new Int32Array(32);
  private readonly bySlot: (EngineRec | undefined)[] = [];
  private readonly byUid = new Map<string, EngineRec>();
  private readonly freeSlots: number[] = [];
  private readonly live = new Set<string>();

  constructor(opts: KvEventIndexOptions) {
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) {
      throw new BrixletError('BRX_ERR_ENGINE_CONFIG', { reason: `kv-events index capacity must be a positive integer, got ${opts.capacity}` });
    }
    this.capacity = opts.capacity;
    this.seed = opts.seed ?? 0;
    this.staleMs = opts.staleMs ?? 10_000;
    this.tierWeight = opts.tierWeight ?? 0.5;
    this.maxBlockSize = opts.maxBlockSize ?? 4096;
    const initial = Math.min(opts.capacity, 1 << 14);
    this.keys = new Float64Array(initial);
    this.owner = new Int32Array(initial);
    this.byKey = new EntryTable(this.keys, this.owner, initial);
    this.media = new Uint8Array(initial);
    this.prev = new Int32Array(initial);
    this.next = new Int32Array(initial);
    this.entryRow = new Int32Array(initial);
    const rows = Math.min(opts.capacity, 1 << 12);
    this.rowOf = new KeyTable(rows);
    this.holders = new Uint32Array(rows);
    this.gpuHolders = new Uint32Array(rows);
    this.rowFill = new Int32Array(rows);
    this.linkFree(0, initial);
  }

  /** Entries held across engines. */
  get size(): number {
    return this.used;
  }

  /** Entries evicted by the capacity bound since start. */
  get evicted(): number {
    return this.evictions;
  }

  /** Engines whose events are live now (the router's fast path skips the exact index at 0). */
  get liveEngines(): number {
    return this.live.size;
  }

  /** Uids of the engines whose events are live. */
  liveUids(): IterableIterator<string> {
    return this.live.values();
  }

  /**
   * Applies one batch of an engine's events received at `now` (ms). Returns what was done; every
   * outcome is counted in the engine's stats.
   */
  ingest(uid: string, received: ReceivedKvEventBatch, now: number): IngestOutcome {
    const e = this.engine(uid);
    // vLLM numbers batches from 0 per publisher: the engine restarted, its old cache is gone.
    if (received.seq === 0n && e.lastSeq > 0n) this.restart(e);
    if (e.lastSeq >= 0n && received.seq <= e.lastSeq) {
      e.outOfOrder++;
      return 'out-of-order';
    }
    const batch = received.batch;
    if (!this.valid(batch)) {
      e.malformed++;
      return 'malformed';
    }
    if (e.lastSeq >= 0n && received.seq > e.lastSeq + 1n) {
      e.gaps++;
      e.missedBatches += Number(received.seq - e.lastSeq - 1n);
    }
    e.lastSeq = received.seq;
    e.lastBatchAt = now;
    e.batches++;
    e.events += batch.events.length;
    e.lagSeconds = Number.isFinite(batch.ts) ? Math.max(0, now / 1000 - batch.ts) : 0;
    for (const ev of batch.events) this.apply(e, ev);
    if (e.connected) this.setLive(e, true);
    return 'applied';
  }

  /** The engine's publisher restarted (its subscription saw the sequence go back): drop its blocks. */
  restartEngine(uid: string): void {
    this.restart(this.engine(uid));
  }

  /** The engine's subscription connected or dropped; a dropped one is stale at once. */
  setConnected(uid: string, connected: boolean, now: number): void {
    const e = this.engine(uid);
    e.connected = connected;
    this.setLive(e, connected && e.lastBatchAt >= 0 && now - e.lastBatchAt <= this.staleMs);
  }

  /** Marks engines without a batch for staleMs stale; returns the uids that turned stale. */
  sweep(now: number): string[] {
    const out: string[] = [];
    for (const e of this.byUid.values()) {
      if (e.live && now - e.lastBatchAt > this.staleMs) {
        this.setLive(e, false);
        out.push(e.uid);
      }
    }
    return out;
  }

  isLive(uid: string): boolean {
    return this.byUid.get(uid)?.live === true;
  }

  /**
   * The prompt's leading tokens `uid` holds by its events, each block weighted by its medium (a
   * GPU block counts its full size, a tier-only block `tierWeight` of it); 0 for an unknown engine.
   * `blocks.text` (the engine tokenizer's prompt) is needed when the engine's block size differs
   * from the prefix index's.
   */
  matchedTokens(uid: string, blocks: PromptBlocks): number {
    const e = this.byUid.get(uid);
    if (e === undefined || e.byHash.size === 0 || e.blockSize === 0) return 0;
    const keys = this.promptKeys(blocks, e.blockSize);
    const byKey = this.byKey;
    const slot = e.slot;
    let weighted = 0;
    for (let k = 0; k < keys.length; k++) {
      const entry = byKey.get(keys[k] as number, slot);
      if (entry === NIL) break;
      weighted += (this.media[entry] as number) & M_GPU ? 1 : this.tierWeight;
    }
    return weighted * e.blockSize;
  }

  /**
   * matchedTokens of every live engine at once, walking the prompt's keys once per engine block size
   * over the holder rows: calls `report(uid, tokens)` in liveUids() order for each live engine that
   * holds at least the prompt's first block, with the value matchedTokens(uid, blocks) gives.
   */
  matchLive(blocks: PromptBlocks, report: (uid: string, tokens: number) => void): void {
    if (this.live.size === 0) return;
    const W = this.words;
    const cur = this.cur;
    const depth = this.depth;
    const tierCount = this.tierCount;
    const holders = this.holders;
    const gpu = this.gpuHolders;
    const rowOf = this.rowOf;
    let sizes = 0;
    let otherSize = 0;
    // Engine block sizes among live engines: nearly always one; others are walked in turn.
    for (const e of this.byUid.values()) {
      depth[e.slot] = 0;
      if (!e.live || e.blockSize === 0 || e.byHash.size === 0) continue;
      if (sizes === 0) sizes = e.blockSize;
      else if (e.blockSize !== sizes && otherSize === 0) otherSize = e.blockSize;
    }
    const done = otherSize === 0 ? undefined : new Set<number>();
    for (let bs = sizes; bs !== 0; ) {
      cur.fill(0);
      let any = 0;
      for (const e of this.byUid.values()) {
        if (!e.live || e.blockSize !== bs || e.byHash.size === 0) continue;
        cur[e.slot >>> 5] = (cur[e.slot >>> 5] as number) | (1 << (e.slot & 31));
        tierCount[e.slot] = 0;
        any = 1;
      }
      const total = any === 0 ? 0 : this.promptBlockCount(blocks, bs);
      let keys = total === 0 ? [] : this.promptKeys(blocks, bs, MIN_REHASH);
      let k = 0;
      for (; k < total; k++) {
        // Keys past the longest match so far are hashed only when some engine is still matching.
        if (k === keys.length) keys = this.promptKeys(blocks, bs, k * 2);
        const row = rowOf.get(keys[k] as number, bs);
        if (row === NIL) break;
        const base = row * W;
        let left = 0;
        for (let w = 0; w < W; w++) {
          const c = cur[w] as number;
          if (c === 0) continue;
          const h = holders[base + w] as number;
          let drop = c & ~h;
          while (drop !== 0) {
            const low = drop & -drop;
            depth[(w << 5) | (31 - Math.clz32(low))] = k;
            drop ^= low;
          }
          const n = c & h;
          let tier = n & ~(gpu[base + w] as number);
          while (tier !== 0) {
            const low = tier & -tier;
            const s = (w << 5) | (31 - Math.clz32(low));
            tierCount[s] = (tierCount[s] as number) + 1;
            tier ^= low;
          }
          cur[w] = n;
          left |= n;
        }
        if (left === 0) break;
      }
      for (let w = 0; w < W; w++) {
        let c = cur[w] as number;
        while (c !== 0) {
          const low = c & -c;
          depth[(w << 5) | (31 - Math.clz32(low))] = k;
          c ^= low;
        }
      }
      done?.add(bs);
      bs = 0;
      if (done !== undefined) {
        for (const e of this.byUid.values()) {
          if (e.live && e.blockSize !== 0 && e.byHash.size !== 0 && !done.has(e.blockSize)) {
            bs = e.blockSize;
            break;
          }
        }
      }
    }
    for (const uid of this.live) {
      const e = this.byUid.get(uid) as EngineRec;
      const d = depth[e.slot] as number;
      if (d === 0) continue;
      const t = tierCount[e.slot] as number;
      report(uid, (d - t + t * this.tierWeight) * e.blockSize);
    }
  }

  /** Whether `uid` holds a block under the gateway key `key`, and in which media (GPU, pool, other). */
  mediaOf(uid: string, key: number): { gpu: boolean; tier: boolean } | undefined {
    const e = this.byUid.get(uid);
    const entry = e === undefined ? NIL : this.byKey.get(key, e.slot);
    if (entry === NIL) return undefined;
    const m = this.media[entry] as number;
    return { gpu: (m & M_GPU) !== 0, tier: (m & ~M_GPU) !== 0 };
  }

  /** The gateway key of an engine block hash, when indexed. */
  keyOf(uid: string, engineHash: string): number | undefined {
    const entry = this.byUid.get(uid)?.byHash.get(engineHash);
    return entry === undefined ? undefined : this.keys[entry];
  }

  engineBlocks(uid: string): number {
    return this.byUid.get(uid)?.byHash.size ?? 0;
  }

  /** Forgets an engine (it left the engine set). */
  removeEngine(uid: string): void {
    const e = this.byUid.get(uid);
    if (e === undefined) return;
    this.clearEngine(e);
    this.setLive(e, false);
    this.byUid.delete(uid);
    this.bySlot[e.slot] = undefined;
    this.freeSlots.push(e.slot);
  }

  stats(): KvEngineStats[] {
    const out: KvEngineStats[] = [];
    for (const e of this.byUid.values()) {
      out.push({
        uid: e.uid,
        live: e.live,
        connected: e.connected,
        batches: e.batches,
        events: e.events,
        blocks: e.byHash.size,
        outOfOrder: e.outOfOrder,
        malformed: e.malformed,
        gaps: e.gaps,
        missedBatches: e.missedBatches,
        unkeyed: e.unkeyed,
        restarts: e.restarts,
        lagSeconds: e.lagSeconds,
        blockSize: e.blockSize,
      });
    }
    return out;
  }

  /** Bytes of the typed-array storage (the hash map and strings come on top; see bench:kv-events). */
  get arrayBytes(): number {
    return (
      this.keys.byteLength +
      this.owner.byteLength +
      this.media.byteLength +
      this.prev.byteLength +
      this.next.byteLength +
      this.entryRow.byteLength +
      this.byKey.byteLength +
      this.rowOf.byteLength +
      this.holders.byteLength +
      this.gpuHolders.byteLength +
      this.rowFill.byteLength
    );
  }

  /** Blocks of the prompt at `blockSize` (0 without its text when the size is not the prefix index's). */
  private promptBlockCount(blocks: PromptBlocks, blockSize: number): number {
    if (blockSize === blocks.blockTokens) return blocks.hashes.length;
    return blocks.text === undefined ? 0 : Math.floor(blocks.text.length / blockSize);
  }

  /** The prompt's keys at `blockSize`: at least the first `upTo` (all of them by default) where it has so many. */
  private promptKeys(blocks: PromptBlocks, blockSize: number, upTo = Infinity): readonly number[] {
    if (blockSize === blocks.blockTokens) return blocks.hashes;
    const text = blocks.text;
    if (text === undefined) return [];
    let bySize = rehashed.get(blocks);
    if (bySize === undefined) rehashed.set(blocks, (bySize = new Map()));
    let keys = bySize.get(blockSize);
    if (keys === undefined) bySize.set(blockSize, (keys = []));
    const total = Math.floor(text.length / blockSize);
    const want = Math.min(total, upTo);
    if (keys.length < want) {
      const from = keys.length;
      const to = Math.min(total, Math.max(want, from * 2));
      const prev = from === 0 ? (blocks.seed ?? this.seed) : (keys[from - 1] as number);
      const text0 = from === 0 && to === total ? text : text.substring(from * blockSize, to * blockSize);
      for (const key of chainedBlockHashes(text0, blockSize, prev)) keys.push(key);
    }
    return keys;
  }

  private restart(e: EngineRec): void {
    this.clearEngine(e);
    e.lastSeq = -1n;
    e.restarts++;
  }

  private engine(uid: string): EngineRec {
    let e = this.byUid.get(uid);
    if (e === undefined) {
      const slot = this.freeSlots.pop() ?? this.bySlot.length;
      e = {
        uid,
        slot,
        byHash: new Map(),
        blockSize: 0,
        lastSeq: -1n,
        lastBatchAt: -1,
        connected: true,
        live: false,
        batches: 0,
        events: 0,
        outOfOrder: 0,
        malformed: 0,
        gaps: 0,
        missedBatches: 0,
        unkeyed: 0,
        restarts: 0,
        lagSeconds: 0,
      };
      this.bySlot[slot] = e;
      this.byUid.set(uid, e);
      if (slot >= this.words * 32) this.widen();
      if (slot >= this.depth.length) {
        const n = this.words * 32;
        this.depth = new Int32Array(n);
        this.tierCount = new Int32Array(n);
      }
    }
    return e;
  }

  private setLive(e: EngineRec, live: boolean): void {
    if (e.live === live) return;
    e.live = live;
    if (live) this.live.add(e.uid);
    else this.live.delete(e.uid);
  }

  private valid(batch: KvEventBatch): boolean {
    if (!Array.isArray(batch.events)) return false;
    for (const ev of batch.events) {
      if (ev.type === 'AllBlocksCleared') continue;
      if (ev.type === 'BlockRemoved') {
        if (!Array.isArray(ev.blockHashes)) return false;
        continue;
      }
      if (ev.type !== 'BlockStored') return false;
      const n = ev.blockHashes.length;
      const bs = ev.blockSize;
      if (!Number.isInteger(bs) || bs < 1 || bs > this.maxBlockSize) return false;
      const t = ev.tokenIds.length;
      // Offload tiers send no token ids; a GPU store sends a full block of ids per hash.
      if (t !== 0 && t !== n * bs) return false;
    }
    return true;
  }

  private apply(e: EngineRec, ev: KvEvent): void {
    switch (ev.type) {
      case 'BlockStored': {
        if (e.blockSize !== ev.blockSize) {
          // A new block size means a restarted engine with another configuration: nothing old applies.
          if (e.blockSize !== 0) this.clearEngine(e);
          e.blockSize = ev.blockSize;
        }
        const bit = mediumBit(ev.medium);
        const hashes = ev.blockHashes;
        const ids = ev.tokenIds;
        const bs = ev.blockSize;
        if (ev.loraName === null && ev.loraId !== null) {
          // An adapter known only by vLLM's lora_int_id, a number each engine process assigns as it
          // loads adapters: no name to seed its keys with, and the same id on two engines may name
          // different adapters. Not indexed (adapter blocks never serve the base model's prefix).
          e.unkeyed += hashes.length;
          return;
        }
        let prevKey: number | undefined;
        // An adapter's chain starts from its own seed (lora-seed.ts), the one its requests' keys use.
        if (ev.parentBlockHash === null) prevKey = ev.loraName === null ? this.seed : loraSeed(ev.loraName);
        else {
          const p = e.byHash.get(ev.parentBlockHash);
          if (p !== undefined) prevKey = this.keys[p];
        }
        for (let k = 0; k < hashes.length; k++) {
          const h = hashes[k] as string;
          const have = e.byHash.get(h);
          if (have !== undefined) {
            this.media[have] = (this.media[have] as number) | bit;
            this.syncGpu(e, have);
            this.toNewest(have);
            prevKey = this.keys[have];
            continue;
          }
          if (prevKey === undefined || ids.length === 0) {
            // Parent unknown, or a tier store of a block the index never saw stored with its ids.
            e.unkeyed += hashes.length - k;
            return;
          }
          prevKey = hashTokenBlock(prevKey, ids, k * bs, bs);
          this.store(e, h, prevKey, bit);
        }
        return;
      }
      case 'BlockRemoved': {
        const bit = mediumBit(ev.medium);
        for (const h of ev.blockHashes) {
          const entry = e.byHash.get(h);
          if (entry === undefined) continue;
          const m = (this.media[entry] as number) & ~bit;
          if (m === 0) this.drop(entry);
          else {
            this.media[entry] = m;
            this.syncGpu(e, entry);
          }
        }
        return;
      }
      case 'AllBlocksCleared':
        this.clearEngine(e);
        return;
    }
  }

  private store(e: EngineRec, hash: string, key: number, bit: number): void {
    if (this.used >= this.capacity) {
      this.evictions++;
      this.drop(this.oldest);
    }
    if (this.freeHead === NIL) this.grow();
    const entry = this.freeHead;
    this.freeHead = this.next[entry] as number;
    this.keys[entry] = key;
    this.owner[entry] = e.slot;
    this.media[entry] = bit;
    this.hashes[entry] = hash;
    this.appendNewest(entry);
    this.used++;
    e.byHash.set(hash, entry);
    const shadowed = this.byKey.get(key, e.slot);
    this.byKey.set(key, e.slot, entry);
    this.hold(e, entry, key, shadowed === NIL);
  }

  private drop(entry: number): void {
    if (entry === NIL) return;
    const e = this.bySlot[this.owner[entry] as number] as EngineRec;
    const hash = this.hashes[entry] as string;
    e.byHash.delete(hash);
    this.free(e, entry);
  }

  /** Unindexes the entry (its key row, the age list) and puts its slot on the free list. */
  private free(e: EngineRec, entry: number): void {
    if (this.byKey.delete(this.keys[entry] as number, e.slot, entry)) this.release(e, entry);
    this.unlink(entry);
    this.hashes[entry] = undefined;
    this.owner[entry] = NIL;
    this.next[entry] = this.freeHead;
    this.freeHead = entry;
    this.used--;
  }

  private clearEngine(e: EngineRec): void {
    for (const entry of e.byHash.values()) this.free(e, entry);
    e.byHash = new Map();
  }

  /** Marks the engine a holder of the entry's key (`added`: it held no entry under it before). */
  private hold(e: EngineRec, entry: number, key: number, added: boolean): void {
    let row = this.rowOf.get(key, e.blockSize);
    if (row === NIL) {
      row = this.rowFree.pop() ?? this.rowTop++;
      if (row >= this.rowFill.length) this.growRows();
      this.rowOf.set(key, e.blockSize, row);
    }
    this.entryRow[entry] = row;
    const i = row * this.words + (e.slot >>> 5);
    const b = 1 << (e.slot & 31);
    if (added) {
      this.holders[i] = (this.holders[i] as number) | b;
      this.rowFill[row] = (this.rowFill[row] as number) + 1;
    }
    if ((this.media[entry] as number) & M_GPU) this.gpuHolders[i] = (this.gpuHolders[i] as number) | b;
    else this.gpuHolders[i] = (this.gpuHolders[i] as number) & ~b;
  }

  /** The engine no longer holds the entry's key (its (key, engine) pair was deleted). */
  private release(e: EngineRec, entry: number): void {
    const row = this.entryRow[entry] as number;
    const i = row * this.words + (e.slot >>> 5);
    const b = ~(1 << (e.slot & 31));
    this.holders[i] = (this.holders[i] as number) & b;
    this.gpuHolders[i] = (this.gpuHolders[i] as number) & b;
    const fill = (this.rowFill[row] as number) - 1;
    this.rowFill[row] = fill;
    if (fill === 0) {
      this.rowOf.delete(this.keys[entry] as number, e.blockSize, row);
      this.rowFree.push(row);
    }
  }

  /** The entry's media changed: mirror its GPU bit into its row when it is the entry matched. */
  private syncGpu(e: EngineRec, entry: number): void {
    if (this.byKey.get(this.keys[entry] as number, e.slot) !== entry) return;
    const i = (this.entryRow[entry] as number) * this.words + (e.slot >>> 5);
    const b = 1 << (e.slot & 31);
    if ((this.media[entry] as number) & M_GPU) this.gpuHolders[i] = (this.gpuHolders[i] as number) | b;
    else this.gpuHolders[i] = (this.gpuHolders[i] as number) & ~b;
  }

  private growRows(): void {
    const rows = this.rowFill.length * 2;
    this.rowFill = widened(this.rowFill, rows);
    const h = new Uint32Array(rows * this.words);
    h.set(this.holders);
    this.holders = h;
    const g = new Uint32Array(rows * this.words);
    g.set(this.gpuHolders);
    this.gpuHolders = g;
  }

  /** Doubles the words per holder row, for an engine slot past the current width. */
  private widen(): void {
    const old = this.words;
    const words = old * 2;
    const rows = this.rowFill.length;
    const h = new Uint32Array(rows * words);
    const g = new Uint32Array(rows * words);
    for (let r = 0; r < this.rowTop; r++) {
      for (let w = 0; w < old; w++) {
        h[r * words + w] = this.holders[r * old + w] as number;
        g[r * words + w] = this.gpuHolders[r * old + w] as number;
      }
    }
    this.holders = h;
    this.gpuHolders = g;
    this.words = words;
    this.cur = new Uint32Array(words);
  }

  private appendNewest(entry: number): void {
    this.prev[entry] = this.newest;
    this.next[entry] = NIL;
    if (this.newest !== NIL) this.next[this.newest] = entry;
    else this.oldest = entry;
    this.newest = entry;
  }

  private unlink(entry: number): void {
    const p = this.prev[entry] as number;
    const n = this.next[entry] as number;
    if (p !== NIL) this.next[p] = n;
    else this.oldest = n;
    if (n !== NIL) this.prev[n] = p;
    else this.newest = p;
  }

  private toNewest(entry: number): void {
    if (entry === this.newest) return;
    this.unlink(entry);
    this.appendNewest(entry);
  }

  private grow(): void {
    const old = this.keys.length;
    const size = Math.min(this.capacity, old * 2);
    this.keys = widened(this.keys, size);
    this.owner = widened(this.owner, size);
    this.media = widened(this.media, size);
    this.prev = widened(this.prev, size);
    this.next = widened(this.next, size);
    this.entryRow = widened(this.entryRow, size);
    this.byKey.rebind(this.keys, this.owner);
    this.linkFree(old, size);
  }

  private linkFree(from: number, to: number): void {
    for (let i = to - 1; i >= from; i--) {
      this.owner[i] = NIL;
      this.next[i] = this.freeHead;
      this.freeHead = i;
    }
  }
}

function mediumBit(medium: string | null): number {
  if (medium === null || medium === GPU_MEDIUM) return M_GPU;
  // BRIXLET pool tier and any other offload tier (CPU, disk) share the tier weight.
  return medium === BRIXLET_MEDIUM ? M_POOL : M_OTHER;
}

export function createKvEventIndex(opts: KvEventIndexOptions): KvEventIndex {
  return new KvEventIndex(opts);
}

/** A copy of `a` in a new array of `size` elements (the rest zero). */
function widened<T extends Float64Array | Int32Array | Uint32Array | Uint8Array | Float32Array>(a: T, size: number): T {
  const out = new (a.constructor as new (n: number) => T)(size);
  out.set(a);
  return out;
}
