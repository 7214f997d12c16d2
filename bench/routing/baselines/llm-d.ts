/**
 * llm-d's inference scheduler with its default scorer weights (reference/routing-optimizer.md §3.4:
 * prefix-cache 3, queue 2, kv-cache-utilization 2), reproduced for the simulator:
 * - prefix score = matched blocks / prompt blocks, from its own approximate index: chained hashes
 *   of 64-character blocks (tokens approximated by characters), at most 256 blocks matched, an LRU
 *   of 31,250 blocks per server plus a reverse map (the Gateway API Inference Extension defaults),
 *   the prompt's blocks inserted for the chosen server;
 * - queue score = (max − q) / (max − min) over the servers' waiting queues (1 when all are equal);
 * - kv score = 1 − KV-cache usage;
 * waiting and KV usage come from the last metrics scrape (0 before the first). The highest weighted
 * sum wins, exact ties at random (max-score picker).
 */
import { type BlockPrefixIndex, createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import type { EngineState, PromptBlocks } from '../../../src/coordinator/router/types.js';
import type { Baseline, BaselineChoice } from './types.js';
import { pickRandom } from './types.js';

export interface LlmdOptions {
  readonly random: () => number;
  readonly prefixWeight?: number;
  readonly queueWeight?: number;
  readonly kvWeight?: number;
  readonly blockChars?: number;
  readonly maxBlocks?: number;
  readonly lruBlocksPerServer?: number;
}

export function llmdScheduler(opts: LlmdOptions): Baseline {
  const wp = opts.prefixWeight ?? 3;
  const wq = opts.queueWeight ?? 2;
  const wk = opts.kvWeight ?? 2;
  const maxBlocks = opts.maxBlocks ?? 256;
  const perServer = opts.lruBlocksPerServer ?? 31_250;
  let index: BlockPrefixIndex | undefined;

  return {
    name: 'llm-d',
    choose(req, engines): BaselineChoice {
      // Capacity split evenly over the servers = perServer blocks each once all have been routed to.
      index ??= createPrefixIndex({ blockTokens: opts.blockChars ?? 64, capacity: perServer * engines.length });
      const all = index.blocks(req.prompt);
      const blocks: PromptBlocks = { hashes: all.hashes.slice(0, maxBlocks), blockTokens: all.blockTokens };
      const matches = index.matches(blocks);
      let qMin = Infinity;
      let qMax = -Infinity;
      for (const e of engines) {
        const q = e.metrics?.waiting ?? 0;
        qMin = Math.min(qMin, q);
        qMax = Math.max(qMax, q);
      }
      let best = -Infinity;
      let winners: number[] = [];
      for (let i = 0; i < engines.length; i++) {
        const e = engines[i];
        if (e === undefined) continue;
        const prefix = blocks.hashes.length === 0 ? 0 : (matches.get(e.uid) ?? 0) / blocks.hashes.length;
        const q = e.metrics?.waiting ?? 0;
        const queue = qMax === qMin ? 1 : (qMax - q) / (qMax - qMin);
        const kv = 1 - (e.metrics?.gpuCacheUsage ?? 0);
        const score = wp * prefix + wq * queue + wk * kv;
        if (score > best) {
          best = score;
          winners = [i];
        } else if (score === best) winners.push(i);
      }
      const engine = pickRandom(winners, opts.random);
      index.insert((engines[engine] as EngineState).uid, blocks);
      return { engine };
    },
  };
}
