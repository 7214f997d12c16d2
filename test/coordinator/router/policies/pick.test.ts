import { expect, it } from 'vitest';
import { fmt, noMetrics, pickMin, tied } from '../../../../src/coordinator/router/policies/pick.js';
import type { EngineState } from '../../../../src/coordinator/router/types.js';
import { engine, seeded } from '../fixtures.js';

const byFlight = (e: EngineState): number => e.load.inFlight;

it('returns the minimum and counts ties', () => {
  const engines = [engine('a', { inFlight: 2 }), engine('b', { inFlight: 1 }), engine('c', { inFlight: 1 }), engine('d', { inFlight: 5 })];
  const p = pickMin(engines, byFlight, seeded(1));
  expect(['b', 'c']).toContain(p.engine.name);
  expect(p.score).toBe(1);
  expect(p.ties).toBe(2);
  expect(pickMin([engine('x', { inFlight: 3 })], byFlight, seeded(1))).toMatchObject({ score: 3, ties: 1 });
});

it('breaks ties uniformly (reservoir sampling over the tied engines)', () => {
  const engines = Array.from({ length: 5 }, (_, i) => engine(`e${i}`));
  const rand = seeded(77);
  const counts = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const n = pickMin(engines, byFlight, rand).engine.name;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  for (const e of engines) expect(counts.get(e.name)).toBeGreaterThan(1800);
});

it('passes its argument to the score function', () => {
  const engines = [engine('a', { inFlight: 1 }), engine('b', { inFlight: 4 })];
  expect(pickMin(engines, (e, target: number) => Math.abs(e.load.inFlight - target), seeded(1), 4).engine.name).toBe('b');
});

it('formats numbers and notes for reasons', () => {
  expect(fmt(2)).toBe('2');
  expect(fmt(1.23456)).toBe('1.235');
  expect(noMetrics(engine('a'))).toBe(' (no metrics)');
  expect(noMetrics(engine('a', { metrics: {} }))).toBe('');
  expect(tied(1)).toBe('');
  expect(tied(3)).toBe(', random among 3 tied');
});
