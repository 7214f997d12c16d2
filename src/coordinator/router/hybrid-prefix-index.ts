/**
 * The prefix index the router uses with --gateway.kv-events: per engine, the exact KV-event index
 * while that engine's events are live, else the approximate index built from routing history. The
 * approximate index keeps learning from every decision (speculative inserts), so an engine whose
 * events stop falls back to a warm index. Matches are reported in the approximate index's blocks
 * (prefix-block tokens): an exact match of t weighted tokens counts t / blockTokens blocks, which may
 * be fractional when the engine's block size differs or a block is only in a tier.
 *
 * Blocks in flight: an engine reports a prompt's blocks only once it has stored them, after the
 * request's queueing and prefill, so for that window the events say nothing of a prompt just sent
 * there and the next request with the same prefix would be spread elsewhere. While a request sent to
 * a live engine prefills, and for `graceMs` after (the events' way to the gateway), that engine
 * counts as holding the request's blocks: its match is the longer of the exact one and the leading
 * blocks of the prompt that requests in flight there carry (Router calls routed() and settles it at
 * the first token). A request that never settles is forgotten after `maxInFlightMs`.
 */
import type { KvEventIndex } from './kv-event-index.js';
import type { BlockPrefixIndex } from './prefix-index.js';
import type { PrefixIndex, PrefixSource, PromptBlocks } from './types.js';

/** Default grace after a request's prefill before its blocks must come from the engine's events. */
export const DEFAULT_IN_FLIGHT_GRACE_MS = 1000;
/** Default longest a routed request's blocks count as in flight when it never settles. */
export const DEFAULT_MAX_IN_FLIGHT_MS = 60_000;

export interface HybridPrefixIndexOptions {
  /** Grace after a request's first token during which its blocks still count (default 1 s). */
  readonly graceMs?: number;
  /** Longest a request's blocks count when it never settles (default 60 s). */
  readonly maxInFlightMs?: number;
  /** Clock in ms (the router's; default Date.now). */
  readonly now?: () => number;
}

/** A routed request's blocks on one engine, counted until `until`. */
interface InFlight {
  readonly uid: string;
  /** Emptied once dropped: an entry may wait in byRouted for up to maxInFlightMs after it settled. */
  hashes: readonly number[];
  until: number;
  gone: boolean;
}

export class HybridPrefixIndex implements PrefixIndex {
  readonly blockTokens: number;
  private readonly graceMs: number;
  private readonly maxInFlightMs: number;
  private readonly clock: () => number;
  /** Per engine: block hash → requests in flight carrying it. */
  private readonly inFlight = new Map<string, Map<number, number>>();
  /** In routing order (expired by maxInFlightMs) and in settling order (expired by graceMs). */
  private readonly byRouted: InFlight[] = [];
  private readonly bySettled: InFlight[] = [];

  constructor(
    readonly approx: BlockPrefixIndex,
    readonly exact: KvEventIndex,
    opts: HybridPrefixIndexOptions = {},
  ) {
    this.blockTokens = approx.blockTokens;
    this.graceMs = opts.graceMs ?? DEFAULT_IN_FLIGHT_GRACE_MS;
    this.maxInFlightMs = opts.maxInFlightMs ?? DEFAULT_MAX_IN_FLIGHT_MS;
    this.clock = opts.now ?? Date.now;
  }

  get size(): number {
    return this.approx.size;
  }

  blocks(prompt: string, lora?: string): PromptBlocks {
    const b = this.approx.blocks(prompt, lora);
    return { hashes: b.hashes, blockTokens: b.blockTokens, text: prompt, ...(b.seed !== undefined && { seed: b.seed }) };
  }

  source(engineUid: string): PrefixSource {
    return this.exact.isLive(engineUid) ? 'kv-events' : 'approximate';
  }

  matchLength(engineUid: string, blocks: PromptBlocks): number {
    if (!this.exact.isLive(engineUid)) return this.approx.matchLength(engineUid, blocks);
    this.expire(this.clock());
    return Math.max(this.exact.matchedTokens(engineUid, blocks) / this.blockTokens, this.inFlightLength(engineUid, blocks));
  }

  matches(blocks: PromptBlocks): ReadonlyMap<string, number> {
    const approx = this.approx.matches(blocks);
    if (this.exact.liveEngines === 0) return approx;
    const out = new Map<string, number>();
    for (const [uid, n] of approx) if (!this.exact.isLive(uid)) out.set(uid, n);
    // One walk of the prompt over the exact index's holder rows for all live engines.
    this.exact.matchLive(blocks, (uid, t) => {
      if (t > 0) out.set(uid, t / this.blockTokens);
    });
    this.expire(this.clock());
    for (const uid of this.inFlight.keys()) {
      if (!this.exact.isLive(uid)) continue;
      const n = this.inFlightLength(uid, blocks);
      if (n > (out.get(uid) ?? 0)) out.set(uid, n);
    }
    return out;
  }

  routed(engineUid: string, blocks: PromptBlocks, now: number): ((now: number) => void) | undefined {
    if (blocks.hashes.length === 0 || !this.exact.isLive(engineUid)) return undefined;
    this.expire(now);
    let held = this.inFlight.get(engineUid);
    if (held === undefined) this.inFlight.set(engineUid, (held = new Map()));
    for (const h of blocks.hashes) held.set(h, (held.get(h) ?? 0) + 1);
    const entry: InFlight = { uid: engineUid, hashes: blocks.hashes, until: now + this.maxInFlightMs, gone: false };
    this.byRouted.push(entry);
    let settled = false;
    return (at: number) => {
      if (settled || entry.gone) return;
      settled = true;
      entry.until = Math.min(entry.until, at + this.graceMs);
      this.bySettled.push(entry);
      this.expire(at);
    };
  }

  insert(engineUid: string, blocks: PromptBlocks, cacheBlocks?: number): void {
    this.approx.insert(engineUid, blocks, cacheBlocks);
  }

  /**
   * Forgets the engine's routing history only: its KV events say what it holds (a restarted engine's
   * publisher starts its sequence again, which drops its blocks), and the feed forgets an engine
   * that leaves the engine set.
   */
  removeEngine(engineUid: string): void {
    this.approx.removeEngine(engineUid);
    this.inFlight.delete(engineUid);
    for (const e of this.byRouted) {
      if (e.uid !== engineUid) continue;
      e.gone = true;
      e.hashes = [];
    }
  }

  /** Leading blocks of the prompt that requests in flight on the engine carry. */
  private inFlightLength(uid: string, blocks: PromptBlocks): number {
    const held = this.inFlight.get(uid);
    if (held === undefined) return 0;
    let n = 0;
    for (const h of blocks.hashes) {
      if (!held.has(h)) break;
      n++;
    }
    return n;
  }

  /** Runs on every decision: two head checks when nothing is due. */
  private expire(now: number): void {
    this.expireQueue(this.bySettled, now);
    this.expireQueue(this.byRouted, now);
  }

  private expireQueue(queue: InFlight[], now: number): void {
    let k = 0;
    while (k < queue.length && ((queue[k] as InFlight).gone || (queue[k] as InFlight).until <= now)) this.drop(queue[k++] as InFlight);
    if (k > 0) queue.splice(0, k);
  }

  private drop(e: InFlight): void {
    if (e.gone) return;
    e.gone = true;
    const { hashes } = e;
    e.hashes = [];
    const held = this.inFlight.get(e.uid);
    if (held === undefined) return;
    for (const h of hashes) {
      const c = (held.get(h) ?? 0) - 1;
      if (c > 0) held.set(h, c);
      else held.delete(h);
    }
    if (held.size === 0) this.inFlight.delete(e.uid);
  }
}
