import { expect, it } from 'vitest';
import { leastKvCachePolicy } from '../../../../src/coordinator/router/policies/least-kv-cache.js';
import { choose, context, engine, tally } from '../fixtures.js';

it('chooses the min of GPU + CPU cache usage', () => {
  const engines = [engine('a', { metrics: { gpuCacheUsage: 0.2, cpuCacheUsage: 0.5 } }), engine('b', { metrics: { gpuCacheUsage: 0.4, cpuCacheUsage: 0.1 } })];
  const c = choose(leastKvCachePolicy, engines);
  expect(c.engine.name).toBe('b');
  expect(c.reason).toBe('least-kv-cache: b gpu 0.4 + cpu 0.1 = 0.5 (min)');
});

it('counts an engine without metrics as an empty cache and breaks ties at random', () => {
  expect(choose(leastKvCachePolicy, [engine('a', { metrics: { gpuCacheUsage: 0.01 } }), engine('n')]).reason).toMatch(/^least-kv-cache: n .*\(no metrics\)$/);
  const engines = [engine('a', { metrics: { gpuCacheUsage: 0.3 } }), engine('b', { metrics: { gpuCacheUsage: 0.3 } })];
  const ctx = context(undefined, 8);
  const counts = tally(1000, () => choose(leastKvCachePolicy, engines, 'p', ctx).engine);
  expect(counts.a).toBeGreaterThan(400);
  expect(counts.b).toBeGreaterThan(400);
});
