/**
 * SGLang's `cache_aware` router (reference/routing-optimizer.md §3.4; defaults of current SMG and
 * vllm-router: cache threshold 0.3, balance abs 64, balance rel 1.5), reproduced for the simulator:
 * 1. load = requests in flight per worker as the router counts them; if max − min > 64 and
 *    max > 1.5 · min, the least-loaded worker wins;
 * 2. else the longest prefix of the prompt in the shared radix tree of routed prompts: if matched
 *    characters / prompt characters > 0.3, a worker at the deepest matched node wins (at random
 *    among several: the router takes whichever its map yields first);
 * 3. else the worker whose tree holds the fewest characters (most free cache).
 * The prompt is then inserted for the chosen worker. Each worker's tree is bounded by LRU eviction
 * of leaves past 2^26 characters, run every 120 s of model time. Exact ties at random.
 */
import type { EngineState } from '../../../src/coordinator/router/types.js';
import { RadixTree } from './radix-tree.js';
import type { Baseline, BaselineChoice } from './types.js';
import { pickRandom } from './types.js';

export interface SglangOptions {
  readonly random: () => number;
  readonly cacheThreshold?: number;
  readonly balanceAbs?: number;
  readonly balanceRel?: number;
  readonly maxTreeChars?: number;
  readonly evictEveryMs?: number;
}

function argminAll(engines: readonly EngineState[], value: (i: number) => number): number[] {
  let best = Infinity;
  let out: number[] = [];
  for (let i = 0; i < engines.length; i++) {
    const v = value(i);
    if (v < best) {
      best = v;
      out = [i];
    } else if (v === best) out.push(i);
  }
  return out;
}

export function sglangCacheAware(opts: SglangOptions): Baseline {
  const threshold = opts.cacheThreshold ?? 0.3;
  const abs = opts.balanceAbs ?? 64;
  const rel = opts.balanceRel ?? 1.5;
  const maxChars = opts.maxTreeChars ?? 2 ** 26;
  const every = opts.evictEveryMs ?? 120_000;
  const tree = new RadixTree();
  let nextEvict = every;

  return {
    name: 'sglang',
    choose(req, engines, now): BaselineChoice {
      if (now >= nextEvict) {
        for (let i = 0; i < engines.length; i++) tree.evict(i, maxChars);
        nextEvict = now + every;
      }
      let min = Infinity;
      let max = -Infinity;
      for (const e of engines) {
        min = Math.min(min, e.load.inFlight);
        max = Math.max(max, e.load.inFlight);
      }
      let engine: number;
      if (max - min > abs && max > rel * min) {
        engine = pickRandom(argminAll(engines, (i) => (engines[i] as EngineState).load.inFlight), opts.random);
      } else {
        const m = tree.match(req.prompt);
        const rate = req.prompt.length === 0 ? 0 : m.matched / req.prompt.length;
        const holders = m.tenants.filter((t) => t < engines.length);
        engine =
          rate > threshold && holders.length > 0 ? pickRandom(holders, opts.random) : pickRandom(argminAll(engines, (i) => tree.size(i)), opts.random);
      }
      tree.insert(req.prompt, engine, now);
      return { engine };
    },
  };
}
