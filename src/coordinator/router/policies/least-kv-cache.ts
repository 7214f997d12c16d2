/**
 * least-kv-cache (AIBrix): min of gpu_cache_usage_perc + cpu_cache_usage_perc, ties at random; an
 * engine without metrics counts as an empty cache (0) and the reason says so.
 */
import type { EngineState, RoutingPolicy } from '../types.js';
import { fmt, noMetrics, pickMin, tied } from './pick.js';

function kvUsage(e: EngineState): number {
  const m = e.metrics;
  return m === undefined ? 0 : (m.gpuCacheUsage ?? 0) + (m.cpuCacheUsage ?? 0);
}

export const leastKvCachePolicy: RoutingPolicy = {
  name: 'least-kv-cache',
  choose(_req, _blocks, candidates, ctx) {
    const p = pickMin(candidates, kvUsage, ctx.random);
    const m = p.engine.metrics;
    return {
      engine: p.engine,
      reason: `least-kv-cache: ${p.engine.name} gpu ${fmt(m?.gpuCacheUsage ?? 0)} + cpu ${fmt(m?.cpuCacheUsage ?? 0)} = ${fmt(p.score)} (min${tied(p.ties)})${noMetrics(p.engine)}`,
    };
  },
};
