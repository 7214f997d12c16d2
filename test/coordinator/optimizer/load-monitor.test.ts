import { describe, expect, it } from 'vitest';
import { DecayedLoadMonitor, nearestTick } from '../../../src/coordinator/optimizer/load-monitor.js';
import type { ProfileGrid } from '../../../src/coordinator/optimizer/types.js';

// AIBrix's simulator profile grid: rows = output ticks, columns = input ticks.
const GRID: ProfileGrid = { outputs: [4, 8, 16, 32, 64, 128, 256, 512], inputs: [128, 256, 512, 1024, 2048] };
const cell = (out: number, inp: number): number => GRID.outputs.indexOf(out) * GRID.inputs.length + GRID.inputs.indexOf(inp);
const T0 = 1_700_000_000_000;

describe('DecayedLoadMonitor', () => {
  it('halves a request\'s weight every τ·ln 2', () => {
    const m = new DecayedLoadMonitor({ shortMs: 10_000, longMs: 10_000 });
    m.record('m', 256, 8, T0);
    const half = 10_000 * Math.LN2;
    expect(m.gridLoad('m', GRID, T0).observed).toBeCloseTo(1, 12);
    expect(m.gridLoad('m', GRID, T0 + half).observed).toBeCloseTo(0.5, 6);
    expect(m.gridLoad('m', GRID, T0 + 2 * half).observed).toBeCloseTo(0.25, 6);
  });

  it('reads a steady rate as itself on both horizons, also before a whole horizon has passed', () => {
    const m = new DecayedLoadMonitor();
    for (let t = 0; t < 20_000; t += 100) m.record('m', 256, 8, T0 + t); // 10 req/s for 20 s
    const [short, long] = m.rates('m', T0 + 20_000);
    expect(short).toBeCloseTo(10, 0);
    expect(long).toBeCloseTo(10, 0);
  });

  it('plans on the larger horizon: a burst raises the rate at once and brings its own shape', () => {
    const m = new DecayedLoadMonitor();
    let t = T0;
    for (; t < T0 + 600_000; t += 1000) m.record('m', 256, 8, t); // 1 req/s of (in 256, out 8) for 10 min
    const before = m.gridLoad('m', GRID, t);
    expect(before.rate).toBeCloseTo(1, 1);
    expect(before.shares[cell(8, 256)]).toBeCloseTo(1, 9);
    for (const end = t + 10_000; t < end; t += 50) m.record('m', 2048, 128, t); // 20 req/s of (in 2048, out 128) for 10 s
    const [short, long] = m.rates('m', t);
    expect(short).toBeGreaterThan(5);
    expect(short).toBeGreaterThan(long);
    const burst = m.gridLoad('m', GRID, t);
    expect(burst.rate).toBe(Math.max(short, long));
    expect(burst.shares[cell(128, 2048)]).toBeGreaterThan(0.8);
    // Two minutes of quiet: the short horizon has forgotten the burst, the long one has not.
    const quiet = m.gridLoad('m', GRID, t + 120_000);
    const [s2, l2] = m.rates('m', t + 120_000);
    expect(l2).toBeGreaterThan(s2);
    expect(quiet.rate).toBe(l2);
  });

  it('clamps shapes beyond the grid to the edge cell and counts them, never dropping one', () => {
    const m = new DecayedLoadMonitor();
    m.setGrid('m', GRID);
    m.record('m', 100_000, 3, T0); // input far past 2048; output 3 is within half a step of 4
    m.record('m', 256, 2000, T0); // output past 512
    m.record('m', 40, 8, T0); // input below 128 by more than half a step
    m.record('m', 256, 8, T0);
    const load = m.gridLoad('m', GRID, T0);
    expect(load.observed).toBeCloseTo(4, 9);
    expect(load.clamped).toBeCloseTo(3, 9);
    expect(load.shares[cell(4, 2048)]).toBeCloseTo(0.25, 9);
    expect(load.shares[cell(512, 256)]).toBeCloseTo(0.25, 9);
    expect(load.shares[cell(8, 128)]).toBeCloseTo(0.25, 9);
    expect(load.shares[cell(8, 256)]).toBeCloseTo(0.25, 9);
    expect(m.clampedTotal('m')).toBe(3);
  });

  it('snaps to the nearest tick in log2 space, a midpoint going up', () => {
    const ticks = [2, 3, 4, 5]; // log2 of 4, 8, 16, 32
    expect(nearestTick(ticks, 2.49)).toEqual({ index: 0, clamped: false });
    expect(nearestTick(ticks, 2.5)).toEqual({ index: 1, clamped: false });
    expect(nearestTick(ticks, 1.5)).toEqual({ index: 0, clamped: false });
    expect(nearestTick(ticks, 1.49)).toEqual({ index: 0, clamped: true });
    expect(nearestTick(ticks, 5.49)).toEqual({ index: 3, clamped: false });
    expect(nearestTick(ticks, 5.5)).toEqual({ index: 3, clamped: true });
    expect(nearestTick([7], 7.4)).toEqual({ index: 0, clamped: false });
  });

  it('re-grids the history onto a grid given later', () => {
    const m = new DecayedLoadMonitor();
    for (let k = 0; k < 30; k++) m.record('m', 300, 10, T0);
    for (let k = 0; k < 10; k++) m.record('m', 1500, 100, T0);
    const fine = m.gridLoad('m', GRID, T0 + 100);
    expect(fine.shares[cell(8, 256)]).toBeCloseTo(0.75, 9);
    expect(fine.shares[cell(128, 2048)]).toBeCloseTo(0.25, 9);
    const coarse: ProfileGrid = { outputs: [16, 256], inputs: [256, 4096] };
    const c = m.gridLoad('m', coarse, T0 + 100);
    expect([...c.shares]).toEqual([expect.closeTo(0.75, 9), 0, 0, expect.closeTo(0.25, 9)]);
    expect(c.clamped).toBe(0);
  });

  it('holds one entry per distinct shape, not per request (O(1) per request)', () => {
    const m = new DecayedLoadMonitor();
    const shapes: [number, number][] = [[128, 4], [256, 8], [1000, 77], [2048, 512]];
    for (let k = 0; k < 200_000; k++) {
      const [i, o] = shapes[k % shapes.length] as [number, number];
      m.record('m', i, o, T0 + k * 10); // 2000 s: the decay reference moves forward on the way
    }
    expect(m.entries('m')).toBe(shapes.length);
    // Arbitrary shapes are bounded by the fine log2 cells they fall in.
    for (let k = 0; k < 100_000; k++) m.record('m', 1 + (k % 5000), 1 + ((k * 7) % 3000), T0 + 2_000_000 + k);
    expect(m.entries('m')).toBeLessThanOrEqual(124 * 117);
    const load = m.gridLoad('m', GRID, T0 + 2_100_000);
    expect(Number.isFinite(load.rate)).toBe(true);
    expect(load.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('stays finite and unbiased over a long run (the decay reference is moved forward)', () => {
    const m = new DecayedLoadMonitor();
    for (let t = 0; t < 20_000_000; t += 500) m.record('m', 256, 8, T0 + t); // 2 req/s for 5.5 h
    const [short, long] = m.rates('m', T0 + 20_000_000);
    expect(short).toBeCloseTo(2, 1);
    expect(long).toBeCloseTo(2, 1);
  });

  it('keeps the gateway\'s per-model totals and token rates in snapshot()', () => {
    const m = new DecayedLoadMonitor();
    m.record('b', 100, 10, T0);
    m.record('a', 50, 5, T0);
    m.record('a', -3, Number.NaN, T0);
    const [a, b] = m.snapshot(T0);
    expect(a).toMatchObject({ model: 'a', requests: 2, inputTokens: 50, outputTokens: 5 });
    // Two requests in the first second (the short horizon's decay over that second aside).
    expect(a!.requestRate).toBeCloseTo(2, 1);
    expect(a!.inputTokenRate / a!.requestRate).toBeCloseTo(25, 9);
    expect(b).toMatchObject({ model: 'b', requests: 1, inputTokens: 100, outputTokens: 10 });
    expect(m.gridLoad('none', GRID, T0)).toMatchObject({ rate: 0, observed: 0, clamped: 0 });
  });
});

describe('DecayedLoadMonitor arrivals', () => {
  it('counts arrivals for the rate once there are any, while shapes still come from finished requests', () => {
    const m = new DecayedLoadMonitor();
    const t0 = 1_700_000_000_000;
    // 10 req/s arrive for 60 s; the fleet finishes only 2 req/s (it is behind).
    for (let k = 0; k < 600; k++) m.arrived('m', t0 + k * 100);
    for (let k = 0; k < 120; k++) m.record('m', 1000, 100, t0 + k * 500);
    const now = t0 + 60_000;
    const [short, long] = m.rates('m', now);
    expect(short).toBeGreaterThan(9);
    expect(long).toBeGreaterThan(9);
    const grid = { outputs: [128], inputs: [1024] };
    const load = m.gridLoad('m', grid, now);
    expect(load.rate).toBeGreaterThan(9);
    expect(Array.from(load.shares)).toEqual([1]);
    expect(m.snapshot(now)[0]?.requests).toBe(120);
    // Without arrivals the rate is the completions'.
    const c = new DecayedLoadMonitor();
    for (let k = 0; k < 120; k++) c.record('m', 1000, 100, t0 + k * 500);
    expect(c.rates('m', now)[0]).toBeLessThan(2.5);
  });

  it('a model with arrivals and no finished request has a rate and no grid load', () => {
    const m = new DecayedLoadMonitor();
    for (let k = 0; k < 50; k++) m.arrived('m', 1000 + k * 100);
    expect(m.rates('m', 6000)[0]).toBeGreaterThan(5);
    expect(m.models()).toEqual(['m']);
    expect(m.gridLoad('m', { outputs: [8], inputs: [8] }, 6000).rate).toBe(0);
  });
});
