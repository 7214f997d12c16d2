/**
 * The approximate prefix index the router builds from its own decisions (no engine KV events):
 * which chained block hashes each engine is believed to hold. One LRU per engine, bounded by the
 * engine's KV capacity in blocks when the router knows it, else an equal share of the index
 * capacity (a share shrinks lazily, at the engine's next insert, when engines join); plus a reverse
 * map hash → holders. Storage is the typed-array BlockTable.
 *
 * A prompt's blocks are inserted last block first, so within a chain every block is more recent
 * than the blocks after it and an LRU evicts suffixes before their prefixes (as a paged KV cache
 * does). Hence, per engine, the blocks of one chain it holds always form a prefix of that chain,
 * and the holders of block k+1 are a subset of the holders of block k. Matching uses this: "walk
 * the blocks from the start and stop at the first miss" is answered by a binary search per engine
 * (matchLength) and by bisecting the holder counts along the prompt (matches), O(log blocks) table
 * probes plus one entry per engine reported (answered as a PrefixMatches, no Map built).
 */
import { BrixletError } from '../../common/errors.js';
import { chainedBlockHashes } from './block-hash.js';
import { BlockTable } from './block-table.js';
import { loraSeed } from './lora-seed.js';
import { PrefixMatches, type MatchSource } from './prefix-matches.js';
import type { PrefixIndex, PromptBlocks } from './types.js';

export interface PrefixIndexOptions {
  /** Tokens (characters) per block. */
  readonly blockTokens: number;
  /** Blocks remembered across all engines; an engine without a known KV capacity gets an equal share. */
  readonly capacity: number;
  /** h_{-1}; a safe integer. Replicas that must agree on hashes use the same seed. Default 0. */
  readonly seed?: number;
}

/** The index with introspection used by tests and the simulator. */
export interface BlockPrefixIndex extends PrefixIndex {
  /** Blocks held for one engine. */
  engineBlocks(engineUid: string): number;
  /** The LRU capacity that currently applies to an engine. */
  engineCapacity(engineUid: string): number;
  /** Whether the engine's LRU holds the hash. */
  holds(engineUid: string, hash: number): boolean;
  /** Engines the reverse map lists for a hash. */
  holders(hash: number): string[];
  /** Engines known to the index. */
  engines(): string[];
}

const NIL = -1;
const EMPTY: ReadonlyMap<string, number> = new Map();

class ChainedPrefixIndex implements BlockPrefixIndex, MatchSource {
  readonly blockTokens: number;
  private readonly capacity: number;
  private readonly seed: number;
  private readonly table: BlockTable;
  /** KV capacity in blocks per engine slot when known; 0 = share of the global capacity. */
  private readonly cacheBlocks: number[] = [];
  /** matches() bookkeeping: per slot, the epoch it was last reported in and its length then. */
  epoch = 0;
  private matchEpoch = new Int32Array(64);
  private matchLen = new Int32Array(64);
  private reportUids: string[] = [];
  private reportLens: number[] = [];

  constructor(opts: PrefixIndexOptions) {
    if (!Number.isInteger(opts.blockTokens) || opts.blockTokens < 1) {
      throw new BrixletError('BRX_ERR_ENGINE_CONFIG', { reason: `prefix block must be a positive integer, got ${opts.blockTokens}` });
    }
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) {
      throw new BrixletError('BRX_ERR_ENGINE_CONFIG', { reason: `prefix capacity must be a positive integer, got ${opts.capacity}` });
    }
    const seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new BrixletError('BRX_ERR_ENGINE_CONFIG', { reason: `prefix hash seed must be a non-negative safe integer, got ${seed}` });
    }
    this.blockTokens = opts.blockTokens;
    this.capacity = opts.capacity;
    this.seed = seed;
    this.table = new BlockTable(Math.min(opts.capacity, 1 << 16));
  }

  get size(): number {
    return this.table.size;
  }

  blocks(prompt: string, lora?: string): PromptBlocks {
    if (lora === undefined) return { hashes: chainedBlockHashes(prompt, this.blockTokens, this.seed), blockTokens: this.blockTokens };
    const seed = loraSeed(lora);
    return { hashes: chainedBlockHashes(prompt, this.blockTokens, seed), blockTokens: this.blockTokens, seed };
  }

  matchLength(engineUid: string, blocks: PromptBlocks): number {
    const slot = this.table.slot(engineUid);
    if (slot === NIL) return 0;
    const { hashes } = blocks;
    // Largest k with blocks 0..k-1 held (held blocks of a chain form a prefix).
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.table.find(slot, hashes[mid - 1] as number) !== NIL) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  matches(blocks: PromptBlocks): ReadonlyMap<string, number> {
    this.nextEpoch();
    const { hashes } = blocks;
    const n = hashes.length;
    if (n === 0) return EMPTY;
    const c0 = this.table.holderCount(hashes[0] as number);
    if (c0 === 0) return EMPTY;
    this.reportUids = [];
    this.reportLens = [];
    const last = n - 1;
    const cl = this.table.holderCount(hashes[last] as number);
    if (cl > 0) this.report(hashes, last);
    if (cl < c0) this.scan(hashes, 0, last, c0, cl);
    return new PrefixMatches(this, this.epoch, this.reportUids, this.reportLens);
  }

  slot(uid: string): number {
    return this.table.slot(uid);
  }

  matchedInEpoch(slot: number, epoch: number): number {
    return slot < this.matchEpoch.length && this.matchEpoch[slot] === epoch ? (this.matchLen[slot] as number) : 0;
  }

  insert(engineUid: string, blocks: PromptBlocks, cacheBlocks?: number): void {
    const table = this.table;
    const slot = table.ensureSlot(engineUid);
    if (cacheBlocks !== undefined && cacheBlocks > 0) this.cacheBlocks[slot] = Math.floor(cacheBlocks);
    else if (this.cacheBlocks[slot] === undefined) this.cacheBlocks[slot] = 0;
    const { hashes } = blocks;
    // Held blocks of a chain form a prefix: the blocks past the match are absent, so they are
    // added without a lookup; the matched ones are refreshed (newest last, block 0 newest).
    const held = this.matchLength(engineUid, blocks);
    for (let k = hashes.length - 1; k >= held; k--) table.add(slot, hashes[k] as number);
    for (let k = held - 1; k >= 0; k--) table.touch(table.find(slot, hashes[k] as number));
    const cap = this.capOf(slot);
    while (table.count(slot) > cap) table.remove(table.oldest(slot));
  }

  removeEngine(engineUid: string): void {
    const slot = this.table.slot(engineUid);
    if (slot === NIL) return;
    this.table.removeSlot(slot);
    this.cacheBlocks[slot] = 0;
    // Outstanding matches() answers fall back to their own snapshot (the slot may be reused).
    this.nextEpoch();
  }

  engineBlocks(engineUid: string): number {
    const slot = this.table.slot(engineUid);
    return slot === NIL ? 0 : this.table.count(slot);
  }

  engineCapacity(engineUid: string): number {
    const slot = this.table.slot(engineUid);
    return slot === NIL ? this.shareCap() : this.capOf(slot);
  }

  holds(engineUid: string, hash: number): boolean {
    const slot = this.table.slot(engineUid);
    return slot !== NIL && this.table.find(slot, hash) !== NIL;
  }

  holders(hash: number): string[] {
    const out: string[] = [];
    for (let node = this.table.head(hash); node !== NIL; node = this.table.nextHolder(node)) {
      out.push(this.table.uidOf(this.table.slotOfNode(node)));
    }
    return out;
  }

  engines(): string[] {
    return [...this.table.engineUids()];
  }

  /**
   * Holder counts c(k) are non-increasing along the prompt. Between lo and hi (c(lo) > c(hi)) find
   * every k with c(k) > c(k+1) — the engines that hold block k but not k+1 match k+1 blocks.
   * Deeper boundaries are reported first, so an engine keeps its longest match.
   */
  private scan(hashes: readonly number[], lo: number, hi: number, clo: number, chi: number): void {
    if (hi - lo === 1) {
      this.report(hashes, lo);
      return;
    }
    const mid = (lo + hi) >> 1;
    const cm = this.table.holderCount(hashes[mid] as number);
    if (cm > chi) this.scan(hashes, mid, hi, cm, chi);
    if (clo > cm) this.scan(hashes, lo, mid, clo, cm);
  }

  /** Engines holding block k and not yet reported in this epoch match k+1 blocks. */
  private report(hashes: readonly number[], k: number): void {
    const table = this.table;
    const epoch = this.epoch;
    for (let node = table.head(hashes[k] as number); node !== NIL; node = table.nextHolder(node)) {
      const slot = table.slotOfNode(node);
      if (slot >= this.matchEpoch.length) this.growMatch(slot);
      if (this.matchEpoch[slot] === epoch) continue;
      this.matchEpoch[slot] = epoch;
      this.matchLen[slot] = k + 1;
      this.reportUids.push(table.uidOf(slot));
      this.reportLens.push(k + 1);
    }
  }

  private nextEpoch(): void {
    if (++this.epoch > 0x7fffffff) {
      this.epoch = 1;
      this.matchEpoch.fill(0);
    }
  }

  private growMatch(slot: number): void {
    let size = this.matchEpoch.length;
    while (size <= slot) size *= 2;
    const e = new Int32Array(size);
    e.set(this.matchEpoch);
    this.matchEpoch = e;
    const l = new Int32Array(size);
    l.set(this.matchLen);
    this.matchLen = l;
  }

  private shareCap(): number {
    return Math.max(1, Math.floor(this.capacity / Math.max(1, this.table.engineCount())));
  }

  private capOf(slot: number): number {
    const known = this.cacheBlocks[slot] ?? 0;
    return known > 0 ? Math.min(known, this.capacity) : this.shareCap();
  }
}

export function createPrefixIndex(opts: PrefixIndexOptions): BlockPrefixIndex {
  return new ChainedPrefixIndex(opts);
}
