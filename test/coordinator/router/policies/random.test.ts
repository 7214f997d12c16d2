import { expect, it } from 'vitest';
import { randomPolicy } from '../../../../src/coordinator/router/policies/random.js';
import { choose, context, fleet, tally } from '../fixtures.js';

it('chooses uniformly among the candidates, whatever their load', () => {
  const engines = fleet(4, { inFlight: 5 });
  engines[0]!.load.inFlight = 100;
  const ctx = context(undefined, 5);
  const counts = tally(4000, () => choose(randomPolicy, engines, 'p', ctx).engine);
  for (const e of engines) expect(counts[e.name]).toBeGreaterThan(850);
  expect(choose(randomPolicy, engines, 'p', ctx).reason).toMatch(/^random: e\d, 1 of 4$/);
});

it('is deterministic for a seed', () => {
  const engines = fleet(10);
  const a = Array.from({ length: 20 }, ((ctx) => () => choose(randomPolicy, engines, 'p', ctx).engine.name)(context(undefined, 9)));
  const b = Array.from({ length: 20 }, ((ctx) => () => choose(randomPolicy, engines, 'p', ctx).engine.name)(context(undefined, 9)));
  expect(a).toEqual(b);
});
