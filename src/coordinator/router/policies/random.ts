/** random: a uniform choice among the candidates (AIBrix `random`; also the baseline of the simulator). */
import type { RoutingPolicy } from '../types.js';

export const randomPolicy: RoutingPolicy = {
  name: 'random',
  choose(_req, _blocks, candidates, ctx) {
    const i = Math.min(candidates.length - 1, Math.floor(ctx.random() * candidates.length));
    const engine = candidates[i] as (typeof candidates)[number];
    return { engine, reason: `random: ${engine.name}, 1 of ${candidates.length}` };
  },
};
