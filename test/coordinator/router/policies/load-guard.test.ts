import { expect, it } from 'vitest';
import { guardPool, imbalanceNote } from '../../../../src/coordinator/router/policies/load-guard.js';
import { engine } from '../fixtures.js';

const fleetOf = (...running: number[]) => running.map((r, i) => engine(`e${i}`, { inFlight: r }));

it('computes mean + k·stddev over the candidates', () => {
  const g = guardPool(fleetOf(0, 3, 0, 0), {});
  expect(g.imbalanced).toBe(false);
  expect(g.limit).toBeCloseTo(0.75 + Math.sqrt(1.6875), 6);
  expect(guardPool(fleetOf(0, 3, 0, 0), { stddevFactor: 2 }).limit).toBeCloseTo(0.75 + 2 * Math.sqrt(1.6875), 6);
  // Equal counts are never excluded by rounding.
  const same = guardPool(fleetOf(7, 7, 7), {});
  expect(same.limit).toBeGreaterThanOrEqual(7);
});

it('keeps only the least-loaded engines when max − min exceeds the absolute threshold', () => {
  const g = guardPool(fleetOf(1, 10, 1, 4), {});
  expect(g.imbalanced).toBe(true);
  expect(g.pool.map((e) => e.name)).toEqual(['e0', 'e2']);
  expect(g.limit).toBeCloseTo(1, 6);
  expect(imbalanceNote(g, undefined)).toBe('; imbalance 10−1 > 8: only the 2 least-loaded');
  expect(guardPool(fleetOf(1, 9), {}).imbalanced).toBe(false);
  expect(guardPool(fleetOf(1, 4), { imbalanceAbs: 2 }).imbalanced).toBe(true);
  expect(imbalanceNote(guardPool(fleetOf(1, 2), {}), 8)).toBe('');
});
