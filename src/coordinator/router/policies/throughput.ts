/**
 * throughput (AIBrix v0.2.0 formula): the least busy engine by token throughput, min of
 * 2·avg prompt throughput + avg generation throughput (tokens/s from the engine's metrics), ties
 * at random. An engine without metrics counts as 0 (idle), as AIBrix does, and the reason says so.
 */
import type { EngineState, RoutingPolicy } from '../types.js';
import { fmt, noMetrics, pickMin, tied } from './pick.js';

function throughput(e: EngineState): number {
  const m = e.metrics;
  return m === undefined ? 0 : 2 * (m.promptThroughput ?? 0) + (m.generationThroughput ?? 0);
}

export const throughputPolicy: RoutingPolicy = {
  name: 'throughput',
  choose(_req, _blocks, candidates, ctx) {
    const p = pickMin(candidates, throughput, ctx.random);
    const m = p.engine.metrics;
    return {
      engine: p.engine,
      reason: `throughput: ${p.engine.name} 2·${fmt(m?.promptThroughput ?? 0)}+${fmt(m?.generationThroughput ?? 0)} = ${fmt(p.score)} tok/s (min${tied(p.ties)})${noMetrics(p.engine)}`,
    };
  },
};
