import { expect, it } from 'vitest';
import { throughputPolicy } from '../../../../src/coordinator/router/policies/throughput.js';
import { choose, context, engine, tally } from '../fixtures.js';

it('chooses the min of 2·prompt + generation throughput', () => {
  // a: 2·100+50 = 250; b: 2·20+300 = 340; c: 2·90+60 = 240
  const engines = [
    engine('a', { metrics: { promptThroughput: 100, generationThroughput: 50 } }),
    engine('b', { metrics: { promptThroughput: 20, generationThroughput: 300 } }),
    engine('c', { metrics: { promptThroughput: 90, generationThroughput: 60 } }),
  ];
  const c = choose(throughputPolicy, engines);
  expect(c.engine.name).toBe('c');
  expect(c.reason).toBe('throughput: c 2·90+60 = 240 tok/s (min)');
});

it('counts an engine without metrics as idle and says so', () => {
  const engines = [engine('a', { metrics: { promptThroughput: 1, generationThroughput: 0 } }), engine('new')];
  const c = choose(throughputPolicy, engines);
  expect(c.engine.name).toBe('new');
  expect(c.reason).toMatch(/\(no metrics\)$/);
});

it('breaks ties at random', () => {
  const engines = [engine('a', { metrics: { promptThroughput: 5 } }), engine('b', { metrics: { generationThroughput: 10 } }), engine('c', { metrics: { generationThroughput: 11 } })];
  const ctx = context(undefined, 4);
  const counts = tally(2000, () => choose(throughputPolicy, engines, 'p', ctx).engine);
  expect(counts.c).toBeUndefined();
  expect(counts.a).toBeGreaterThan(850);
  expect(counts.b).toBeGreaterThan(850);
});
