import { expect, it } from 'vitest';
import { expectedLatency, leastLatencyPolicy, typicalRequest } from '../../../../src/coordinator/router/policies/least-latency.js';
import { choose, engine } from '../fixtures.js';

it('scores queue + per-token prefill and decode scaled to the candidates\' typical request', () => {
  const a = engine('a', { metrics: { queueTimeMean: 0.1, prefillTimeMean: 0.2, avgPromptTokens: 100, decodeTimeMean: 2, avgGenerationTokens: 100 } });
  const b = engine('b', { metrics: { queueTimeMean: 0.3, prefillTimeMean: 0.1, avgPromptTokens: 300, decodeTimeMean: 1, avgGenerationTokens: 300 } });
  const g = typicalRequest([a, b]);
  expect(g).toEqual({ prompt: 200, generation: 200 });
  // a: 0.1 + 0.002·200 + 0.02·200 = 4.5; b: 0.3 + (0.1/300)·200 + (1/300)·200 ≈ 1.033
  expect(expectedLatency(a, g)).toBeCloseTo(4.5, 9);
  expect(expectedLatency(b, g)).toBeCloseTo(0.3 + 200 / 3000 + 200 / 300, 9);
  const c = choose(leastLatencyPolicy, [a, b]);
  expect(c.engine.name).toBe('b');
  expect(c.reason).toBe('least-latency: b expects 1.033 s for 200 prompt + 200 output tokens (min)');
});

it('uses the defaults 10 / 100 when no candidate reports token averages, and missing terms count 0', () => {
  const a = engine('a', { metrics: { queueTimeMean: 0.5 } });
  const b = engine('b', { metrics: { queueTimeMean: 0.01, decodeTimeMean: 9 } });
  expect(typicalRequest([a, b])).toEqual({ prompt: 10, generation: 100 });
  expect(choose(leastLatencyPolicy, [a, b]).engine.name).toBe('b');
});

it('counts an engine without metrics as idle and says so', () => {
  const c = choose(leastLatencyPolicy, [engine('a', { metrics: { queueTimeMean: 0.01 } }), engine('fresh')]);
  expect(c.engine.name).toBe('fresh');
  expect(c.reason).toMatch(/\(no metrics\)$/);
});
