/**
 * least-request (AIBrix HEAD semantics): the fewest requests in flight as the gateway itself counts
 * them (load.inFlight, incremented inside the decision, so a burst in one tick spreads), ties at
 * random. Engine metrics are not read, so engines never scraped compete like any other.
 */
import type { EngineState, RoutingPolicy } from '../types.js';
import { pickMin, tied } from './pick.js';

function inFlight(e: EngineState): number {
  return e.load.inFlight;
}

export const leastRequestPolicy: RoutingPolicy = {
  name: 'least-request',
  choose(_req, _blocks, candidates, ctx) {
    const p = pickMin(candidates, inFlight, ctx.random);
    return { engine: p.engine, reason: `least-request: ${p.engine.name} has ${p.score} in flight (min of ${candidates.length}${tied(p.ties)})` };
  },
};
