import { expect, it } from 'vitest';
import { InMemoryLoadMonitor } from '../../../src/coordinator/gateway/load-monitor.js';

it('keeps per-model totals and rates over the recent window', () => {
  const m = new InMemoryLoadMonitor({ windowSeconds: 10 });
  const t0 = 1_000_000;
  m.record('b', 100, 10, t0);
  m.record('a', 50, 5, t0 + 500);
  m.record('a', 50, 5, t0 + 1500);
  m.record('a', -3, Number.NaN, t0 + 1600);
  const [a, b] = m.snapshot(t0 + 1900);
  expect(a).toEqual({ model: 'a', requests: 3, inputTokens: 100, outputTokens: 10, requestRate: 1.5, inputTokenRate: 50, outputTokenRate: 5 });
  expect(b).toMatchObject({ model: 'b', requests: 1, inputTokens: 100, requestRate: 0.5 });
  // Ten seconds later the first second has left the window; totals stay.
  const later = m.snapshot(t0 + 10_500);
  expect(later[0]).toMatchObject({ model: 'a', requests: 3, requestRate: 0.2 });
  expect(later[1]).toMatchObject({ model: 'b', requestRate: 0 });
  // A slot reused for a newer second starts from zero.
  m.record('a', 1, 1, t0 + 10_500);
  expect(m.snapshot(t0 + 10_600)[0]).toMatchObject({ requests: 4, requestRate: 0.3, inputTokenRate: 5.1 });
});
