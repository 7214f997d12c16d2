/**
 * AIBrix v0.2.0 `prefix-cache` (reference/routing-optimizer.md §3.2 [v0.2.0]), reproduced for the
 * simulator: the prompt is cut into 16-token blocks and each block is hashed on its own (no
 * chaining, so equal text anywhere matches); the table maps block hash → pod → last access. The
 * walk goes from the first block while the table has the block; the matched pods are the pods of
 * the last matched block. If matched tokens · 100 / prompt tokens > 50, a random matched pod wins,
 * otherwise a random pod. Then every block of the prompt is recorded for the chosen pod. Entries
 * idle for 60 minutes are dropped (swept every minute of model time). No load awareness.
 * Incomplete tail blocks are not hashed.
 */
import { hashBlock } from '../../../src/coordinator/router/block-hash.js';
import type { Baseline, BaselineChoice } from './types.js';
import { pickRandom } from './types.js';

export interface AibrixV02Options {
  readonly random: () => number;
  readonly blockTokens?: number;
  readonly thresholdPercent?: number;
  readonly idleMs?: number;
}

/** Independent (unchained) hashes of every complete block. */
export function independentBlockHashes(prompt: string, blockTokens: number): number[] {
  const n = Math.floor(prompt.length / blockTokens);
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = hashBlock(0, prompt, k * blockTokens, blockTokens);
  return out;
}

export function aibrixV02(opts: AibrixV02Options): Baseline {
  const block = opts.blockTokens ?? 16;
  const threshold = opts.thresholdPercent ?? 50;
  const idleMs = opts.idleMs ?? 60 * 60_000;
  const table = new Map<number, Map<number, number>>();
  let nextSweep = 60_000;

  const sweep = (now: number) => {
    for (const [h, pods] of table) {
      for (const [pod, at] of pods) if (now - at > idleMs) pods.delete(pod);
      if (pods.size === 0) table.delete(h);
    }
  };

  return {
    name: 'aibrix-v0.2',
    choose(req, engines, now): BaselineChoice {
      if (now >= nextSweep) {
        sweep(now);
        nextSweep = now + 60_000;
      }
      const hashes = independentBlockHashes(req.prompt, block);
      let matched = 0;
      let last: Map<number, number> | undefined;
      for (const h of hashes) {
        const pods = table.get(h);
        if (pods === undefined || pods.size === 0) break;
        last = pods;
        matched++;
      }
      const all = engines.map((_, i) => i);
      let engine: number;
      if (last !== undefined && (matched * block * 100) / Math.max(1, req.prompt.length) > threshold) {
        engine = pickRandom([...last.keys()].sort((a, b) => a - b), opts.random);
      } else {
        engine = pickRandom(all, opts.random);
      }
      for (const h of hashes) {
        let pods = table.get(h);
        if (pods === undefined) table.set(h, (pods = new Map()));
        pods.set(engine, now);
      }
      return { engine };
    },
  };
}
