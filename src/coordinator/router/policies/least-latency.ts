/**
 * least-latency (AIBrix): min of the expected latency
 *   queue_time_mean + (prefill_time_mean / avg_prompt_tokens)·ĝp + (decode_time_mean / avg_generation_tokens)·ĝg
 * i.e. queueing plus per-token prefill and decode times scaled to a typical request, where ĝp and
 * ĝg are the candidates' averages of avg prompt / generation tokens per request (defaults 10 and
 * 100 when none reports them). A term whose inputs are missing or zero counts 0; an engine without
 * metrics counts 0 (idle), as AIBrix does, and the reason says so. Ties at random.
 */
import type { EngineState, RoutingPolicy } from '../types.js';
import { fmt, noMetrics, pickMin, tied } from './pick.js';

export const DEFAULT_PROMPT_TOKENS = 10;
export const DEFAULT_GENERATION_TOKENS = 100;

interface Typical {
  prompt: number;
  generation: number;
}

function perToken(total: number | undefined, tokens: number | undefined): number {
  return total !== undefined && tokens !== undefined && tokens > 0 ? total / tokens : 0;
}

/** Expected latency of a typical request on `e`, in seconds. */
export function expectedLatency(e: EngineState, g: Typical): number {
  const m = e.metrics;
  if (m === undefined) return 0;
  return (m.queueTimeMean ?? 0) + perToken(m.prefillTimeMean, m.avgPromptTokens) * g.prompt + perToken(m.decodeTimeMean, m.avgGenerationTokens) * g.generation;
}

/** ĝp, ĝg: means over the candidates that report a positive value, else the defaults. */
export function typicalRequest(candidates: readonly EngineState[]): Typical {
  let p = 0;
  let np = 0;
  let g = 0;
  let ng = 0;
  for (const e of candidates) {
    const m = e.metrics;
    if (m === undefined) continue;
    if (m.avgPromptTokens !== undefined && m.avgPromptTokens > 0) {
      p += m.avgPromptTokens;
      np++;
    }
    if (m.avgGenerationTokens !== undefined && m.avgGenerationTokens > 0) {
      g += m.avgGenerationTokens;
      ng++;
    }
  }
  return { prompt: np > 0 ? p / np : DEFAULT_PROMPT_TOKENS, generation: ng > 0 ? g / ng : DEFAULT_GENERATION_TOKENS };
}

export const leastLatencyPolicy: RoutingPolicy = {
  name: 'least-latency',
  choose(_req, _blocks, candidates, ctx) {
    const g = typicalRequest(candidates);
    const p = pickMin(candidates, expectedLatency, ctx.random, g);
    return {
      engine: p.engine,
      reason: `least-latency: ${p.engine.name} expects ${fmt(p.score)} s for ${fmt(g.prompt)} prompt + ${fmt(g.generation)} output tokens (min${tied(p.ties)})${noMetrics(p.engine)}`,
    };
  },
};
