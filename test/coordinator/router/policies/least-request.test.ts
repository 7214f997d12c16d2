import { expect, it } from 'vitest';
import { leastRequestPolicy } from '../../../../src/coordinator/router/policies/least-request.js';
import { choose, context, engine, tally } from '../fixtures.js';

it('chooses the fewest requests in flight as the gateway counts them, ignoring engine metrics', () => {
  const engines = [engine('a', { inFlight: 3, metrics: { running: 0 } }), engine('b', { inFlight: 1, metrics: { running: 50 } }), engine('c', { inFlight: 2 })];
  const c = choose(leastRequestPolicy, engines);
  expect(c.engine.name).toBe('b');
  expect(c.reason).toBe('least-request: b has 1 in flight (min of 3)');
});

it('breaks ties uniformly at random and never picks a loaded engine', () => {
  const engines = [engine('a', { inFlight: 1 }), engine('b', { inFlight: 0 }), engine('c', { inFlight: 0 }), engine('d', { inFlight: 0 })];
  const ctx = context(undefined, 2);
  const counts = tally(3000, () => choose(leastRequestPolicy, engines, 'p', ctx).engine);
  expect(counts.a).toBeUndefined();
  for (const n of ['b', 'c', 'd']) expect(counts[n]).toBeGreaterThan(850);
  expect(choose(leastRequestPolicy, engines, 'p', ctx).reason).toMatch(/random among 3 tied/);
});
