/**
 * kv-aware: prefix-cache's matching, weighted by the KV shard of each engine's node as its agent
 * reports it (engine.kv: capacity, use, hit ratio). The exact rule:
 * 1. the load guards of prefix-cache (imbalance pre-check, then running ≤ mean + k·stddev);
 * 2. among engines holding at least the first block and within the limit: most matched blocks,
 *    then the highest node score = free fraction × (0.5 + 0.5 × hit ratio) (hit ratio unknown =
 *    0.5; no shard reported = score 0), then fewest in flight, then at random;
 * 3. with no such engine: among the engines within the limit, the most free shard bytes
 *    (capacity − used; no shard = 0), then fewest in flight, then at random.
 * A node whose shard has room and serves hits keeps the blocks this request is about to write
 * (and can hand them to peers), so it wins between equal matches; a cold request goes where the
 * most KV room is, never past the load limit.
 */
import type { EngineState, PolicyChoice, RoutingPolicy } from '../types.js';
import { fmt, sourceNote, tied } from './pick.js';
import { guardPool, imbalanceNote, type LoadGuardOptions } from './load-guard.js';

export type KvAwarePolicyOptions = LoadGuardOptions;

/** Free fraction × (0.5 + 0.5·hit ratio) of the engine's node shard; 0 when none is reported. */
export function nodeKvScore(e: EngineState): number {
  const kv = e.kv;
  if (kv === undefined || kv.capacityBytes <= 0) return 0;
  const free = Math.min(1, Math.max(0, 1 - kv.usedBytes / kv.capacityBytes));
  return free * (0.5 + 0.5 * (kv.hitRatio ?? 0.5));
}

export function nodeFreeBytes(e: EngineState): number {
  const kv = e.kv;
  return kv === undefined ? 0 : Math.max(0, kv.capacityBytes - kv.usedBytes);
}

function shardNote(e: EngineState): string {
  const kv = e.kv;
  if (kv === undefined) return 'no node KV shard';
  const hit = kv.hitRatio === null ? 'hit ?' : `hit ${fmt(kv.hitRatio)}`;
  return `node KV ${fmt(nodeFreeBytes(e) / 2 ** 30)} GiB free, ${hit}, score ${fmt(nodeKvScore(e))}`;
}

export function kvAwarePolicy(opts: KvAwarePolicyOptions = {}): RoutingPolicy {
  return {
    name: 'kv-aware',
    choose(_req, blocks, candidates, ctx): PolicyChoice {
      const g = guardPool(candidates, opts);
      const n = blocks.hashes.length;
      const matches = ctx.prefix.matches(blocks);
      const note = imbalanceNote(g, opts.imbalanceAbs);
      let best: EngineState | undefined;
      let bestLen = 0;
      let bestScore = 0;
      let bestRun = 0;
      let ties = 0;
      if (matches.size > 0) {
        for (const e of g.pool) {
          const len = matches.get(e.uid);
          if (len === undefined || len === 0) continue;
          const run = e.load.inFlight;
          if (run > g.limit) continue;
          const score = nodeKvScore(e);
          const better =
            best === undefined || len > bestLen || (len === bestLen && (score > bestScore || (score === bestScore && run < bestRun)));
          if (better) {
            best = e;
            bestLen = len;
            bestScore = score;
            bestRun = run;
            ties = 1;
          } else if (len === bestLen && score === bestScore && run === bestRun) {
            ties++;
            if (ctx.random() * ties < 1) best = e;
          }
        }
      }
      if (best !== undefined) {
        return {
          engine: best,
          matchedBlocks: bestLen,
          reason: `kv-aware: ${fmt(bestLen)}/${n} blocks on ${best.name}${sourceNote(ctx.prefix, best.uid)}, ${shardNote(best)}, running ${bestRun} ≤ ${fmt(g.limit)}${tied(ties)}${note}`,
        };
      }
      let bestFree = 0;
      for (const e of g.pool) {
        const run = e.load.inFlight;
        if (run > g.limit) continue;
        const free = nodeFreeBytes(e);
        if (best === undefined || free > bestFree || (free === bestFree && run < bestRun)) {
          best = e;
          bestFree = free;
          bestRun = run;
          ties = 1;
        } else if (free === bestFree && run === bestRun) {
          ties++;
          if (ctx.random() * ties < 1) best = e;
        }
      }
      // The minimum is always within mean + k·stddev, so the pool yields an engine.
      const engine = best as EngineState;
      const why = n === 0 ? 'prompt shorter than one block' : matches.size > 0 ? 'no matched engine within the load limit' : 'no engine holds the first block';
      return {
        engine,
        matchedBlocks: matches.get(engine.uid) ?? 0,
        reason: `kv-aware: ${why} → most free node KV: ${engine.name}, ${shardNote(engine)}, running ${bestRun}${tied(ties)}${note}`,
      };
    },
  };
}
