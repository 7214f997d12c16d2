import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/common/config/load-config.js';
import { DecayedLoadMonitor, FORECAST_MAX_GROWTH } from '../../../src/coordinator/optimizer/load-monitor.js';
import { Planner, type PlannerSettings, type SolveFn } from '../../../src/coordinator/optimizer/planner.js';
import { plannerSettings } from '../../../src/coordinator/optimizer/setup.js';
import type { ProfileGrid, ServingProfile } from '../../../src/coordinator/optimizer/types.js';

const T0 = 1_700_000_000_000;
const LEAD = 90_000;

/** Arrivals at `rate(t)` req/s (t in s from `from`) for `seconds`, spaced exactly: the k-th where ∫rate reaches k. */
function arrive(m: DecayedLoadMonitor, from: number, seconds: number, rate: (t: number) => number): number {
  let acc = 0;
  const dt = 0.001;
  for (let t = 0; t < seconds; t += dt) {
    acc += rate(t) * dt;
    while (acc >= 1) {
      acc -= 1;
      m.arrived('m', from + t * 1000);
    }
  }
  return from + seconds * 1000;
}

describe('DecayedLoadMonitor forecast', () => {
  it('forecasts a steady load as itself, also after hours (the trend sums survive moving t₀)', () => {
    const m = new DecayedLoadMonitor();
    let t = arrive(m, T0, 600, () => 10);
    let f = m.forecast('m', t, LEAD);
    expect(f.rate).toBeCloseTo(10, 0);
    expect(Math.abs(f.slope)).toBeLessThan(0.005);
    expect(f.forecast).toBeGreaterThan(9.5);
    expect(f.forecast).toBeLessThan(10.5);
    // Two hours at 5 req/s: t₀ moves forward many times (every 40 × 30 s).
    t = arrive(m, t, 7200, () => 5);
    f = m.forecast('m', t, LEAD);
    expect(f.rate).toBeCloseTo(5, 0);
    expect(Math.abs(f.slope)).toBeLessThan(0.005);
    expect(Math.abs(f.forecast - 5)).toBeLessThan(0.3);
  });

  it('forecasts a ramp ahead by about slope × lead', () => {
    const m = new DecayedLoadMonitor();
    // 2 req/s rising by 0.05 req/s each second for 8 minutes: 2 → 26 req/s.
    const t = arrive(m, T0, 480, (s) => 2 + 0.05 * s);
    const f = m.forecast('m', t, LEAD);
    expect(f.slope).toBeGreaterThan(0.045);
    expect(f.slope).toBeLessThan(0.055);
    // The trend's level is the rate now (26), not the lagging average; 90 s on: 26 + 4.5.
    expect(Math.abs(f.level - 26)).toBeLessThan(0.6);
    expect(Math.abs(f.forecast - 30.5)).toBeLessThan(1);
    expect(f.forecast - f.level).toBeCloseTo(f.slope * 90, 6);
    // The decayed horizons lag the ramp: the forecast is above the rate the planner had.
    expect(f.forecast).toBeGreaterThan(f.rate + 4);
    // A longer lead looks further; lead 0 is the level.
    expect(m.forecast('m', t, 2 * LEAD).forecast).toBeGreaterThan(f.forecast);
    expect(m.forecast('m', t, 0).forecast).toBeCloseTo(f.level, 9);
  });

  it('sees a falling trend as falling (the planner never plans below the rate now)', () => {
    const m = new DecayedLoadMonitor();
    let t = arrive(m, T0, 600, () => 20);
    t = arrive(m, t, 180, (s) => 20 - 0.08 * s);
    const f = m.forecast('m', t, LEAD);
    expect(f.slope).toBeLessThan(-0.03);
    expect(f.forecast).toBeLessThan(f.rate);
  });

  it('is clamped and NaN-safe: no series, a young one, NaN times and leads, a jump far beyond the rate', () => {
    const m = new DecayedLoadMonitor();
    expect(m.forecast('none', T0, LEAD)).toEqual({ rate: 0, level: 0, slope: 0, forecast: 0 });
    // Younger than τ_f (30 s): no trend yet, the forecast is the rate.
    const young = arrive(m, T0, 20, (s) => 1 + s);
    const y = m.forecast('m', young, LEAD);
    expect(y.slope).toBe(0);
    expect(y.forecast).toBe(y.rate);
    let t = arrive(m, young, 600, () => 1);
    // A minute of 50× the load: the fitted trend would project far beyond; the forecast stops at FORECAST_MAX_GROWTH × the rate.
    t = arrive(m, t, 60, () => 50);
    const jump = m.forecast('m', t, LEAD);
    expect(jump.forecast).toBeLessThanOrEqual(FORECAST_MAX_GROWTH * jump.rate + 1e-9);
    expect(jump.forecast).toBeGreaterThan(jump.rate);
    for (const f of [m.forecast('m', Number.NaN, LEAD), m.forecast('m', t, Number.NaN), m.forecast('m', t, -5)]) {
      expect(Number.isFinite(f.forecast)).toBe(true);
      expect(f.forecast).toBeGreaterThanOrEqual(0);
    }
    // A NaN lead or a negative one projects nothing: the level.
    expect(m.forecast('m', t, Number.NaN).forecast).toBeCloseTo(Math.min(Math.max(0, jump.level), FORECAST_MAX_GROWTH * jump.rate), 9);
    // Silence after a drop: never below 0.
    const f = m.forecast('m', t + 400_000, LEAD);
    expect(f.forecast).toBeGreaterThanOrEqual(0);
  });

  it('counts finished requests for the trend while no arrival has been counted', () => {
    const m = new DecayedLoadMonitor();
    let acc = 0;
    for (let t = 0; t < 480; t += 0.001) {
      acc += (2 + 0.05 * t) * 0.001;
      while (acc >= 1) {
        acc -= 1;
        m.record('m', 256, 8, T0 + t * 1000);
      }
    }
    const f = m.forecast('m', T0 + 480_000, LEAD);
    expect(f.slope).toBeGreaterThan(0.045);
    expect(f.slope).toBeLessThan(0.055);
  });
});

const GRID: ProfileGrid = { outputs: [8], inputs: [256] };
const PROFILE: ServingProfile = { gpu: 'l20', model: 'llama', cost: 1, grid: GRID, tputs: Float64Array.from([10]) };

/** One GPU per started 10 req/s: enough to see what rate the planner solved for. */
const perTen: SolveFn = async (p) => {
  await Promise.resolve();
  const n = Math.ceil(p.load.rate / 10 - 1e-9);
  return { status: 'optimal', counts: { l20: n }, cost: n, split: [], solveMs: 0 };
};

/** Drives a planner (single type, perTen) through `rate(t)` arrivals for `seconds`, ticking every 10 s; the target and replicas per tick. */
async function drive(over: Partial<PlannerSettings>, seconds: number, rate: (s: number) => number): Promise<{ target: number[]; replicas: number[]; rates: number[] }> {
  const m = new DecayedLoadMonitor();
  let now = T0;
  const planner = new Planner({
    settings: { model: 'split', intervalMs: 10_000, scaleDownWindowMs: 120_000, timeLimitMs: 1000, headroom: 1, switchingCostPercent: 0, available: {}, minimums: {}, namespace: 'default', ...over },
    load: m,
    solve: perTen,
    now: () => now,
  });
  planner.setProfiles('llama', [{ profile: PROFILE, warnings: [], source: 'test' }]);
  const out = { target: [] as number[], replicas: [] as number[], rates: [] as number[] };
  let acc = 0;
  for (let s = 0; s < seconds; s += 10) {
    for (let k = 0; k < 10_000; k++) {
      acc += rate(s + k / 1000) / 1000;
      while (acc >= 1) {
        acc -= 1;
        const at = T0 + (s * 1000 + k);
        m.arrived('llama', at);
        m.record('llama', 256, 8, at);
      }
    }
    now = T0 + (s + 10) * 1000;
    planner.tick(now);
    await planner.idle();
    const d = planner.deployment('default', 'l20');
    const r = planner.modelResults()[0];
    out.target.push(d?.target ?? -1);
    out.replicas.push(d?.replicas ?? -1);
    out.rates.push(r?.load.rate ?? -1);
  }
  planner.dispose();
  return out;
}

describe('Planner with a forecast lead', () => {
  it('asks for the GPUs of a ramp one lead ahead, and reports the forecast', async () => {
    const ramp = (s: number) => (s < 300 ? 10 : Math.min(40, 10 + 0.1 * (s - 300)));
    const on = await drive({ forecastLeadMs: LEAD }, 420, ramp);
    const off = await drive({ forecastLeadMs: 0 }, 420, ramp);
    // On a steady load both plan alike.
    expect(on.target.slice(8, 29)).toEqual(off.target.slice(8, 29));
    // Two minutes into the ramp (22 req/s now; 31 a lead ahead): more GPUs with the forecast.
    const last = on.target.length - 1;
    expect(on.target[last]).toBeGreaterThan(off.target[last] as number);
    expect(on.target[last]).toBeGreaterThanOrEqual(3);
    for (let k = 0; k < on.target.length; k++) expect(on.target[k]).toBeGreaterThanOrEqual(off.target[k] as number);
  });

  it('does not scale down early on a drop: the rate planned for never goes below the rate now', async () => {
    // 40 req/s for 10 minutes, then a fall to 5 over two minutes, then 5.
    const drop = (s: number) => (s < 600 ? 40 : Math.max(5, 40 - (35 * (s - 600)) / 120));
    const on = await drive({ forecastLeadMs: LEAD }, 1200, drop);
    const off = await drive({ forecastLeadMs: 0 }, 1200, drop);
    expect(on.target).toEqual(off.target);
    expect(on.replicas).toEqual(off.replicas);
    for (let k = 0; k < on.rates.length; k++) expect(on.rates[k]).toBeGreaterThanOrEqual((off.rates[k] as number) - 1e-9);
    // And it did scale down, after the window.
    expect(on.replicas[on.replicas.length - 1]).toBeLessThan(on.replicas[59] as number);
  });

  it('plans one cold start ahead by default (--optimizer.forecast-lead 90s); 0 turns it off', () => {
    expect(plannerSettings(loadConfig({ env: {}, flags: {} }).config.optimizer, 'default').forecastLeadMs).toBe(90_000);
    expect(plannerSettings(loadConfig({ env: {}, flags: { 'optimizer.forecastLead': '0' } }).config.optimizer, 'default').forecastLeadMs).toBe(0);
    expect(plannerSettings(loadConfig({ env: {}, flags: { 'optimizer.forecastLead': '2m' } }).config.optimizer, 'default').forecastLeadMs).toBe(120_000);
  });
});
