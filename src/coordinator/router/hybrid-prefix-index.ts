/**
 * The prefix index the router uses with --gateway.kv-events: per engine, the exact KV-event index
 * while that engine's events are live, else the approximate index built from routing history. The
 * approximate index keeps learning from every decision (speculative inserts), so an engine whose
 * events stop falls back to a warm index. Matches are reported in the approximate index's blocks
 * (prefix-block tokens): an exact match of t weighted tokens counts t / blockTokens blocks, which may
 * be fractional when the engine's block size differs or a block is only in a tier.
 */
import type { KvEventIndex } from './kv-event-index.js';
import type { BlockPrefixIndex } from './prefix-index.js';
import type { PrefixIndex, PrefixSource, PromptBlocks } from './types.js';

export class HybridPrefixIndex implements PrefixIndex {
  readonly blockTokens: number;

  constructor(
    readonly approx: BlockPrefixIndex,
    readonly exact: KvEventIndex,
  ) {
    this.blockTokens = approx.blockTokens;
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
    return this.exact.matchedTokens(engineUid, blocks) / this.blockTokens;
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
    return out;
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
  }
}
