import { describe, expect, it } from 'vitest';
import { runClosedLoop, sloOf } from '../../../bench/optimizer/closed-loop.js';
import { simProfile } from '../../../bench/optimizer/closed-loop-profiles.js';
import { loopTrace, type LoopRequest, type LoopTrace, piecewise } from '../../../bench/optimizer/closed-loop-trace.js';
import type { SolveFn } from '../../../src/coordinator/optimizer/planner.js';
import type { PlanProblem, ServingProfile } from '../../../src/coordinator/optimizer/types.js';
import { GPU_PROFILES } from '../../../src/mock-engine/profiles.js';
import type { GpuProfile } from '../../../src/mock-engine/types.js';

const engines = { l20: GPU_PROFILES.l20 as GpuProfile, a10: GPU_PROFILES.a10 as GpuProfile };
const grid = { outputs: [16, 32], inputs: [128, 256] };
const profile = (gpu: string, cost: number, e2e = 10): ServingProfile => ({ gpu, cost, grid, tputs: Float64Array.from([20, 10, 10, 5]), slos: { percentile: 99, e2e } });

/** Requests of one shape every `everyMs` from 0 to `untilMs`. */
function evenTrace(everyMs: number, untilMs: number, input: number, output: number, warmupMs = 0): LoopTrace {
  const requests: LoopRequest[] = [];
  for (let t = 0; t < untilMs; t += everyMs) requests.push({ at: t, input, output, kind: 'sharegpt' });
  return { requests, warmupMs, durationMs: untilMs - warmupMs };
}

/** A solver that answers `counts(k)` on its k-th call (1-based), whatever the load. */
function scripted(counts: (call: number) => Record<string, number>): { solve: SolveFn; calls: () => number } {
  let k = 0;
  const solve: SolveFn = async (p: PlanProblem) => {
    k++;
    const c = counts(k);
    return { status: 'optimal', counts: c, cost: p.types.reduce((a, t) => a + t.cost * (c[t.name] ?? 0), 0), split: [], solveMs: 0 };
  };
  return { solve, calls: () => k };
}

describe('closed loop', () => {
  it('bills every replica from its launch, cold start included, within the window', async () => {
    // Call 1 at 0 s (warm: one replica running), calls 2–3 at 10 and 20 s, two replicas from 30 s on.
    const s = scripted((k) => ({ l20: k >= 4 ? 2 : 1 }));
    const r = await runClosedLoop({ trace: evenTrace(500, 120_000, 128, 16), profiles: [profile('l20', 3.6)], engines, solve: s.solve, seed: 1, coldStartMs: 60_000 });
    // 120 s of the first replica + 90 s of the second (launched at 30 s, serving from 90 s).
    expect(r.gpuSeconds.l20).toBeCloseTo(210, 6);
    expect(r.gpuHours).toBeCloseTo(210 / 3600, 9);
    expect(r.cost).toBeCloseTo((210 / 3600) * 3.6, 9);
    // The plans as solved: ticks at 0, 10, 20 s ask 1, the nine from 30 to 110 s ask 2, 10 s each.
    expect(r.plannedCost).toBeCloseTo(((3 * 1 + 9 * 2) * 10 * 3.6) / 3600, 9);
    expect(r.replicasStarted).toBe(2);
    expect(r.scaleEvents).toBe(1);
    expect(r.planChanges).toBe(1);
    expect(r.peakReplicas.l20).toBe(2);
    expect(r.requests).toBe(240);
    expect(r.attainment).toBe(1);
    expect(s.calls()).toBeGreaterThanOrEqual(12);
  });

  it('cancels a replica still starting before it serves and bills only its start', async () => {
    // Two replicas asked at 10 s, back to one at 20 s: the scale-down window of 0 applies it at once.
    const s = scripted((k) => ({ l20: k === 2 ? 2 : 1 }));
    const r = await runClosedLoop({ trace: evenTrace(1000, 60_000, 128, 16), profiles: [profile('l20', 1)], engines, solve: s.solve, seed: 1, coldStartMs: 60_000, settings: { scaleDownWindowMs: 0 } });
    expect(r.gpuSeconds.l20).toBeCloseTo(60 + 10, 6);
    expect(r.replicasStarted).toBe(2);
    expect(r.replicasStopped).toBe(1);
    expect(r.scaleEvents).toBe(2);
  });

  it('bills a replica taken out of service until its last request finishes', async () => {
    // Two replicas running from the start, one from 20 s on (window 0): the one let go drains first.
    const s = scripted((k) => ({ l20: k <= 2 ? 2 : 1 }));
    const r = await runClosedLoop({ trace: evenTrace(250, 60_000, 128, 256), profiles: [profile('l20', 1)], engines, solve: s.solve, seed: 1, settings: { scaleDownWindowMs: 0 } });
    expect(r.replicasStopped).toBe(1);
    expect(r.scaleEvents).toBe(1);
    // 60 s of the one kept; the other's 20 s plus its drain (256-token answers take seconds, not a minute).
    expect(r.gpuSeconds.l20).toBeGreaterThan(60 + 20);
    expect(r.gpuSeconds.l20).toBeLessThan(60 + 40);
    expect(r.requests).toBe(240);
  });

  it('is deterministic for a seed', async () => {
    const trace = loopTrace({ seed: 3, durationMs: 120_000, warmupMs: 30_000, rateScale: 0.3 });
    const run = () => runClosedLoop({ trace, profiles: [profile('l20', 1.2), profile('a10', 0.75)], engines, solve: scripted((k) => ({ l20: 1 + (k % 3 === 0 ? 1 : 0), a10: 1 })).solve, seed: 7 });
    const [a, b] = [await run(), await run()];
    expect(a).toEqual(b);
    expect(a.requests).toBeGreaterThan(0);
  });

  it('routes by the plan\'s split (or least load per profiled throughput when asked)', async () => {
    // Plan: one l20 and one a10 with every shape on the a10; the a10 is running from the start.
    const solve: SolveFn = async (p: PlanProblem) => ({
      status: 'optimal',
      counts: { l20: 1, a10: 1 },
      cost: p.types.reduce((a, t) => a + t.cost, 0),
      split: [0, 1, 2, 3].map((cell) => ({ cell, shares: { a10: 1 } })),
      solveMs: 0,
    });
    const r = await runClosedLoop({ trace: evenTrace(100, 30_000, 128, 32), profiles: [profile('l20', 1.2), profile('a10', 0.75)], engines, solve, seed: 1 });
    const both = await runClosedLoop({ trace: evenTrace(100, 30_000, 128, 32), profiles: [profile('l20', 1.2), profile('a10', 0.75)], engines, solve, seed: 1, routing: 'least-load' });
    expect(r.attainment).toBe(1);
    expect(both.attainment).toBe(1);
    expect(r.servedByType).toEqual({ l20: 0, a10: 300 });
    expect(both.servedByType.l20).toBeGreaterThan(0);
    expect(both.servedByType.a10).toBeGreaterThan(0);
    expect(r.gpuSeconds).toEqual({ l20: 30, a10: 30 });
  });

  it('reports a configuration that cannot keep up as missing the SLO', async () => {
    // ~16 req/s of 256-token prompts and 32-token answers on one l20, held there; E2E bound 2 s.
    const s = scripted(() => ({ l20: 1 }));
    const r = await runClosedLoop({ trace: evenTrace(60, 60_000, 256, 32), profiles: [profile('l20', 1, 2)], engines, solve: s.solve, seed: 1 });
    expect(r.attainment).toBeLessThan(0.5);
    expect(r.withinSlo).toBeLessThan(r.requests);
    expect(r.e2eP99).toBeGreaterThan(2);
    expect(r.missedByMinute.reduce((a, b) => a + b, 0)).toBe(r.requests - r.withinSlo);
  });

  it('holds requests to the profile\'s SLO bounds', () => {
    expect(sloOf(profile('l20', 1, 5))).toEqual({ e2e: 5 });
    expect(sloOf({ ...profile('l20', 1), slos: { percentile: 99, e2e: 5, ttft: 0.5 } })).toEqual({ e2e: 5, ttft: 0.5 });
    expect(sloOf({ ...profile('l20', 1), slos: undefined }).e2e).toBe(Infinity);
  });
});

describe('closed-loop trace', () => {
  it('is the same for a seed, follows its rate profile and mixes both shapes', () => {
    const a = loopTrace({ seed: 5, durationMs: 300_000, warmupMs: 0, steady: true });
    expect(loopTrace({ seed: 5, durationMs: 300_000, warmupMs: 0, steady: true })).toEqual(a);
    expect(loopTrace({ seed: 6, durationMs: 300_000, warmupMs: 0, steady: true }).requests).not.toEqual(a.requests);
    // The 300 s stretch the 1500 s profile 5×: the mean rate is the profile's.
    let expected = 0;
    for (let s = 0; s < 1500; s++) expected += piecewise([[0, 6], [120, 6], [300, 16], [480, 16], [600, 9], [720, 9], [900, 20], [1020, 20], [1140, 12], [1260, 12], [1380, 5], [1500, 6]], s + 0.5) / 5;
    expect(Math.abs(a.requests.length - expected) / expected).toBeLessThan(0.1);
    const sql = a.requests.filter((r) => r.kind === 'text2sql');
    expect(sql.length / a.requests.length).toBeGreaterThan(0.2);
    expect(sql.length / a.requests.length).toBeLessThan(0.6);
    for (const r of a.requests) {
      expect(r.output).toBeLessThanOrEqual(256);
      expect(r.input).toBeLessThanOrEqual(r.kind === 'text2sql' ? 2048 : 1024);
    }
  });
});

describe('closed-loop profiles', () => {
  it('applies the cell rule to the simulated engine: feasible cells carry a rate, an SLO none meets gives 0', () => {
    const p = simProfile(GPU_PROFILES.l20 as GpuProfile, { inputs: [128, 1024], outputs: [16, 64], rates: [1, 4, 16], requests: 20 });
    expect(p.gpu).toBe('l20');
    expect(p.cost).toBe(1.2);
    expect(Array.from(p.tputs).every((t) => t > 0)).toBe(true);
    // Short prompts and answers go faster than long ones.
    expect(p.tputs[0]).toBeGreaterThan(p.tputs[3] as number);
    const tight = simProfile(GPU_PROFILES.l20 as GpuProfile, { inputs: [128], outputs: [64], rates: [1, 4], requests: 10, slo: { e2e: 0.05, statistic: 99 } });
    expect(Array.from(tight.tputs)).toEqual([0]);
  });
});
