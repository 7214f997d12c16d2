/**
 * NVIDIA Dynamo's KV router, v0.4–0.8 cost (reference/routing-optimizer.md §3.4), reproduced for the
 * simulator in its approximate mode (no KV events: the overlap comes from its own routing history):
 *   cost_w = overlap_weight · prefill_blocks_w + decode_blocks_w,  overlap_weight = 1
 *   prefill_blocks_w = prompt blocks not in w's overlap + blocks still to prefill on w
 *   decode_blocks_w  = blocks of w's active sequences (deduplicated) ∪ this prompt's blocks
 * argmin, temperature 0 (deterministic; exact ties at random). Blocks are 16 tokens (characters),
 * chained hashes; the approximate index remembers that w holds a block for 120 s after the last
 * request that sent it there. Active sequences are the requests the router sent and that have not
 * finished; a request counts as prefilling until its first token.
 */
import { chainedBlockHashes } from '../../../src/coordinator/router/block-hash.js';
import type { Baseline, BaselineChoice } from './types.js';
import { pickRandom } from './types.js';

export interface DynamoOptions {
  readonly random: () => number;
  readonly overlapWeight?: number;
  readonly blockTokens?: number;
  readonly ttlMs?: number;
}

interface Worker {
  /** Approximate index: block hash → expiry (ms). */
  readonly cached: Map<number, number>;
  /** Active blocks with reference counts. */
  readonly active: Map<number, number>;
  /** Partial tail blocks of active sequences (never shared). */
  partial: number;
  /** Blocks still to prefill over the active sequences. */
  prefill: number;
}

export function dynamoKvRouter(opts: DynamoOptions): Baseline {
  const weight = opts.overlapWeight ?? 1;
  const block = opts.blockTokens ?? 16;
  const ttl = opts.ttlMs ?? 120_000;
  const workers: Worker[] = [];

  return {
    name: 'dynamo',
    choose(req, engines, now): BaselineChoice {
      while (workers.length < engines.length) workers.push({ cached: new Map(), active: new Map(), partial: 0, prefill: 0 });
      const hashes = chainedBlockHashes(req.prompt, block, 0);
      const tail = req.prompt.length % block === 0 ? 0 : 1;
      const total = hashes.length + tail;
      let best = Infinity;
      let winners: number[] = [];
      const news: number[] = [];
      for (let i = 0; i < engines.length; i++) {
        const w = workers[i] as Worker;
        // Chained hashes: holding block k implies holding blocks 0…k−1, so both overlaps are
        // prefixes and a walk to the first miss counts them exactly.
        let overlap = 0;
        while (overlap < hashes.length && (w.cached.get(hashes[overlap] as number) ?? -1) >= now) overlap++;
        let shared = 0;
        while (shared < hashes.length && w.active.has(hashes[shared] as number)) shared++;
        const fresh = total - overlap;
        const cost = weight * (fresh + w.prefill) + (w.active.size + w.partial + total - shared);
        news[i] = fresh;
        if (cost < best) {
          best = cost;
          winners = [i];
        } else if (cost === best) winners.push(i);
      }
      const engine = pickRandom(winners, opts.random);
      const w = workers[engine] as Worker;
      const fresh = news[engine] as number;
      for (const h of hashes) {
        w.cached.set(h, now + ttl);
        w.active.set(h, (w.active.get(h) ?? 0) + 1);
      }
      w.partial += tail;
      w.prefill += fresh;
      // Expired entries are swept when the map has doubled since the last sweep.
      if (w.cached.size > 2 * (sweptSize.get(w) ?? 1024)) {
        for (const [h, exp] of w.cached) if (exp < now) w.cached.delete(h);
        sweptSize.set(w, Math.max(1024, w.cached.size));
      }
      let prefilling = true;
      return {
        engine,
        firstToken() {
          if (!prefilling) return;
          prefilling = false;
          w.prefill -= fresh;
        },
        release() {
          if (prefilling) {
            prefilling = false;
            w.prefill -= fresh;
          }
          for (const h of hashes) {
            const c = (w.active.get(h) ?? 1) - 1;
            if (c <= 0) w.active.delete(h);
            else w.active.set(h, c);
          }
          w.partial -= tail;
        },
      };
    },
  };
}

const sweptSize = new WeakMap<Worker, number>();
