/**
 * prefix-cache (AIBrix HEAD rules over chained block hashes, running = the gateway's in-flight count):
 * 1. imbalance pre-check: if max − min running > imbalanceAbs (8), only the min-running engines
 *    stay candidates (the later steps then run among them);
 * 2. engines holding at least the first block, ordered by matched blocks desc, then running asc,
 *    exact ties at random;
 * 3. the first of them with running ≤ mean + k·stddev (k = 1) over the candidates wins;
 * 4. otherwise least-request among the candidates.
 * The router then inserts the prompt's blocks for the chosen engine (speculative insert).
 */
import type { PolicyChoice, RoutingPolicy } from '../types.js';
import { fmt, pickMin, sourceNote, tied } from './pick.js';
import { guardPool, imbalanceNote, type LoadGuardOptions } from './load-guard.js';
import type { EngineState } from '../types.js';

export type PrefixCachePolicyOptions = LoadGuardOptions;

function inFlight(e: EngineState): number {
  return e.load.inFlight;
}

export function prefixCachePolicy(opts: PrefixCachePolicyOptions = {}): RoutingPolicy {
  return {
    name: 'prefix-cache',
    choose(_req, blocks, candidates, ctx): PolicyChoice {
      const g = guardPool(candidates, opts);
      const n = blocks.hashes.length;
      const matches = ctx.prefix.matches(blocks);
      let best: EngineState | undefined;
      let bestLen = 0;
      let bestRun = 0;
      let ties = 0;
      let overLimit = 0;
      if (matches.size > 0) {
        for (const e of g.pool) {
          const len = matches.get(e.uid);
          if (len === undefined || len === 0) continue;
          const run = e.load.inFlight;
          if (run > g.limit) {
            overLimit++;
            continue;
          }
          if (best === undefined || len > bestLen || (len === bestLen && run < bestRun)) {
            best = e;
            bestLen = len;
            bestRun = run;
            ties = 1;
          } else if (len === bestLen && run === bestRun) {
            ties++;
            if (ctx.random() * ties < 1) best = e;
          }
        }
      }
      const note = imbalanceNote(g, opts.imbalanceAbs);
      if (best !== undefined) {
        return {
          engine: best,
          matchedBlocks: bestLen,
          reason: `prefix-cache: ${fmt(bestLen)}/${n} blocks on ${best.name}${sourceNote(ctx.prefix, best.uid)}, running ${bestRun} ≤ ${fmt(g.limit)}${tied(ties)}${note}`,
        };
      }
      const p = pickMin(g.pool, inFlight, ctx.random);
      const why = overLimit > 0 ? `${overLimit} matched engine(s) over the load limit ${fmt(g.limit)}` : n === 0 ? 'prompt shorter than one block' : 'no engine holds the first block';
      return {
        engine: p.engine,
        matchedBlocks: matches.get(p.engine.uid) ?? 0,
        reason: `prefix-cache: ${why} → least-request: ${p.engine.name} has ${p.score} in flight${tied(p.ties)}${note}`,
      };
    },
  };
}
