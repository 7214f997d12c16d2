/**
 * least-busy-time (AIBrix): min of the engine's GPU busy-time ratio (0..1), ties at random; an
 * engine without metrics counts as idle (0) and the reason says so.
 */
import type { EngineState, RoutingPolicy } from '../types.js';
import { fmt, noMetrics, pickMin, tied } from './pick.js';

function busy(e: EngineState): number {
  return e.metrics?.busyTimeRatio ?? 0;
}

export const leastBusyTimePolicy: RoutingPolicy = {
  name: 'least-busy-time',
  choose(_req, _blocks, candidates, ctx) {
    const p = pickMin(candidates, busy, ctx.random);
    return { engine: p.engine, reason: `least-busy-time: ${p.engine.name} busy ${fmt(p.score)} (min${tied(p.ties)})${noMetrics(p.engine)}` };
  },
};
