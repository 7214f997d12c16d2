import { expect, it } from 'vitest';
import { leastBusyTimePolicy } from '../../../../src/coordinator/router/policies/least-busy-time.js';
import { choose, context, engine, tally } from '../fixtures.js';

it('chooses the lowest GPU busy-time ratio', () => {
  const engines = [engine('a', { metrics: { busyTimeRatio: 0.9 } }), engine('b', { metrics: { busyTimeRatio: 0.35 } }), engine('c', { metrics: { busyTimeRatio: 0.5 } })];
  const c = choose(leastBusyTimePolicy, engines);
  expect(c.engine.name).toBe('b');
  expect(c.reason).toBe('least-busy-time: b busy 0.35 (min)');
});

it('counts an engine without metrics (or without the ratio) as idle; ties at random', () => {
  expect(choose(leastBusyTimePolicy, [engine('a', { metrics: { busyTimeRatio: 0.1 } }), engine('n')]).reason).toBe('least-busy-time: n busy 0 (min) (no metrics)');
  const engines = [engine('a', { metrics: { running: 3 } }), engine('n'), engine('c', { metrics: { busyTimeRatio: 0.2 } })];
  const ctx = context(undefined, 6);
  const counts = tally(1000, () => choose(leastBusyTimePolicy, engines, 'p', ctx).engine);
  expect(counts.c).toBeUndefined();
  expect(counts.a).toBeGreaterThan(400);
  expect(counts.n).toBeGreaterThan(400);
});
