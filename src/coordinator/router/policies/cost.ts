/**
 * cost — brixlet's default policy. It sends a request where it waits least for its first token.
 * The prefill the request needs on an engine and the work already queued there are added in one
 * unit: reference prefill tokens (tokens an H100 prefills; another GPU type divides by its
 * relative speed). For each candidate engine e:
 *
 *   cost_e = (α · uncached_e + queued_e) / prefillSpeed_e  +  β · K · decoding_e / decodeSpeed_e
 *
 *   uncached_e  max(0, promptTokens − matched_e · blockTokens); matched_e comes from the prefix index.
 *   queued_e    uncached prompt tokens of requests already sent to e whose first token has not
 *               come back (load.prefillTokens, counted synchronously by the router).
 *   decoding_e  requests on e past their first token (load.decoding). Each one adds its decode
 *               slot to every batch step this request shares with it. K converts one of them
 *               into prefill tokens (DEFAULT_DECODE_TOKENS).
 *   α           prefillWeight, default 2. A token this request must prefill holds up everything
 *               queued behind it as well as the request itself, so a prefix hit is worth more
 *               than an equal amount of queue elsewhere.
 *   β           decodeWeight, default 1.
 *   Both weights can be set in the options, and per request through the x-brixlet-prefill-weight
 *   and x-brixlet-decode-weight headers.
 *
 * Imbalance guard, applied first (SGLang's absolute + relative thresholds, checked per engine on
 * requests in flight ÷ decodeSpeed, so a slow GPU's request counts as more than one): an engine
 * is left out when it is above the least-busy engine by more than imbalanceAbs (16) AND above
 * imbalanceRel (1.5) × that engine's load. This stops a hot prefix from piling onto the one
 * engine that caches it; the next engine to take it caches it too.
 *
 * The lowest cost among the remaining engines wins; exact ties are broken at random. The policy
 * reads only the router's own live counts, the prefix index and the GPU speed, never scraped
 * metrics. So an engine that has not been scraped yet counts as idle, and a new engine gets work
 * as soon as the guard finds the others loaded. The reason string names the winner and the
 * runner-up with their terms.
 *
 * Defaults were chosen with the routing simulator (npm run bench:routing; bench/routing.ts):
 * - α = 2 rather than 1 brings the multi-turn prefix hit rate to within 0.5 points of the
 *   stickiest baseline, with the same TTFT p99.
 * - An absolute threshold of 8 cost 1.7 hit points on multi-turn and raised bursty TTFT p99
 *   ten-fold. Thresholds from 16 to 64 measured the same on the standard workloads. With four
 *   hot prefixes, 16 was best, and running with no guard tripled TTFT p99.
 * - Dividing the guard's load by decode speed cut TTFT p99 by 3× on 4×h100 + 4×a10. With raw
 *   counts, the fast GPUs, which cost prefers, were left out as soon as they held 16 more
 *   requests than a slow one, and the overflow went to the slow GPUs.
 */
import type { EngineState, PolicyChoice, PolicyContext, PrefixIndex, PromptBlocks, RouteRequest, RoutingPolicy } from '../types.js';
import { fmt, sourceNote, tied } from './pick.js';

/**
 * Reference prefill tokens one decoding request is worth. One more sequence in a batch adds about
 * 0.08 ms to every H100 step for an 8B model. That is the time of about 1.1 prefilled tokens
 * (≈ 0.07 ms each), and a short prefill plus its first decode steps share roughly 30 steps with it.
 */
export const DEFAULT_DECODE_TOKENS = 32;
export const DEFAULT_PREFILL_WEIGHT = 2;
export const DEFAULT_DECODE_WEIGHT = 1;
export const DEFAULT_IMBALANCE_ABS = 16;
export const DEFAULT_IMBALANCE_REL = 1.5;

export interface CostPolicyOptions {
  /** α, the weight of uncached prompt tokens. Default 2. */
  readonly prefillWeight?: number;
  /** β, the weight of the decode term. Default 1. */
  readonly decodeWeight?: number;
  /** K, reference prefill tokens per decoding request. Default 32. */
  readonly decodeTokens?: number;
  /** An engine more than this many (speed-normalised) requests in flight above the least busy one … */
  readonly imbalanceAbs?: number;
  /** … and above this multiple of it is left out. */
  readonly imbalanceRel?: number;
}

interface Scored {
  readonly engine: EngineState;
  readonly cost: number;
  readonly uncached: number;
  readonly matched: number;
}

function weight(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
}

function speed(v: number): number {
  return v > 0 && Number.isFinite(v) ? v : 1;
}

/** Requests in flight in reference-GPU terms: on a GPU at half the decode speed each counts twice. */
export function busyLoad(e: EngineState): number {
  return e.load.inFlight / speed(e.speed.decode);
}

/** The cost of sending a request with `uncached` tokens to prefill to `e` (see the file header). */
export function engineCost(e: EngineState, uncached: number, alpha: number, beta: number, k: number): number {
  const l = e.load;
  return (alpha * uncached + l.prefillTokens) / speed(e.speed.prefill) + (beta * k * l.decoding) / speed(e.speed.decode);
}

function describe(s: Scored, blocks: PromptBlocks, prefix: PrefixIndex): string {
  const l = s.engine.load;
  return `${s.engine.name} ${fmt(s.cost)} (uncached ${s.uncached}, ${fmt(s.matched)}/${blocks.hashes.length} blocks cached${sourceNote(prefix, s.engine.uid)}, queued ${l.prefillTokens}, decoding ${l.decoding})`;
}

export function costPolicy(opts: CostPolicyOptions = {}): RoutingPolicy {
  const k = weight(opts.decodeTokens, DEFAULT_DECODE_TOKENS);
  const abs = weight(opts.imbalanceAbs, DEFAULT_IMBALANCE_ABS);
  const rel = weight(opts.imbalanceRel, DEFAULT_IMBALANCE_REL);
  const alpha0 = weight(opts.prefillWeight, DEFAULT_PREFILL_WEIGHT);
  const beta0 = weight(opts.decodeWeight, DEFAULT_DECODE_WEIGHT);
  return {
    name: 'cost',
    choose(req: RouteRequest, blocks: PromptBlocks, candidates: readonly EngineState[], ctx: PolicyContext): PolicyChoice {
      const alpha = weight(req.prefillWeight, alpha0);
      const beta = weight(req.decodeWeight, beta0);
      let min = Infinity;
      for (const e of candidates) {
        const b = busyLoad(e);
        if (b < min) min = b;
      }
      const limit = Math.max(min + abs, rel * min);
      const matches = ctx.prefix.matches(blocks);
      let best: Scored | undefined;
      let second: Scored | undefined;
      let ties = 0;
      let guarded = 0;
      for (const e of candidates) {
        if (busyLoad(e) > limit) {
          guarded++;
          continue;
        }
        const matched = matches.get(e.uid) ?? 0;
        const uncached = Math.max(0, Math.round(req.promptTokens - matched * blocks.blockTokens));
        const s: Scored = { engine: e, cost: engineCost(e, uncached, alpha, beta, k), uncached, matched };
        if (best === undefined || s.cost < best.cost) {
          second = best;
          best = s;
          ties = 1;
        } else if (s.cost === best.cost) {
          ties++;
          if (ctx.random() * ties < 1) {
            second = best;
            best = s;
          } else second = s;
        } else if (second === undefined || s.cost < second.cost) {
          second = s;
        }
      }
      // The least busy engine is never over the limit, so there is a best.
      const b = best as Scored;
      const runner = second === undefined ? '' : `; runner-up ${describe(second, blocks, ctx.prefix)}`;
      const guard = guarded > 0 ? `; ${guarded} engine(s) over the load limit ${fmt(limit)} left out` : '';
      return { engine: b.engine, matchedBlocks: b.matched, reason: `cost: ${describe(b, blocks, ctx.prefix)}${runner}${tied(ties)}${guard}` };
    },
  };
}
