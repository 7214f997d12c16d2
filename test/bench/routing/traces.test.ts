import { describe, expect, it } from 'vitest';
import { buildTrace, logNormal, openLoopSchedule, schedule, SHARED_PREFIX_GROUPS, text, WORKLOADS } from '../../../bench/routing/traces.js';
import { prng } from '../../../bench/kv/synthetic.js';

describe('routing traces', () => {
  it('are deterministic per seed and differ across seeds', () => {
    for (const w of WORKLOADS) {
      const a = buildTrace(w, 3, 60);
      const b = buildTrace(w, 3, 60);
      expect(a.requests).toEqual(b.requests);
      expect(Array.from(schedule(a, 10))).toEqual(Array.from(schedule(b, 10)));
      expect(buildTrace(w, 4, 60).requests[0]?.prompt).not.toBe(a.requests[0]?.prompt);
    }
  });

  it('shared-prefix: every prompt is one of the group prefixes plus a short suffix', () => {
    const t = buildTrace('shared-prefix', 1, 400);
    const prefixes = new Set<string>();
    for (const r of t.requests) {
      expect(r.prompt.length).toBeGreaterThanOrEqual(2020);
      expect(r.prompt.length).toBeLessThanOrEqual(6200);
      // Requests of one group share everything but the last ≤ 200 characters.
      prefixes.add(r.prompt.slice(0, 2000));
    }
    expect(prefixes.size).toBeLessThanOrEqual(SHARED_PREFIX_GROUPS);
    expect(prefixes.size).toBeGreaterThan(40);
    expect(t.openings).toHaveLength(400);
  });

  it('multi-turn: each turn extends the previous prompt with its answer and a new message', () => {
    const t = buildTrace('multi-turn', 2, 200);
    expect(t.requests.length).toBeGreaterThanOrEqual(200);
    let chained = 0;
    for (const r of t.requests) {
      if (r.next === undefined) continue;
      const next = t.requests[r.next];
      expect(next?.prompt.startsWith(r.prompt)).toBe(true);
      expect((next?.prompt.length ?? 0) - r.prompt.length).toBeGreaterThanOrEqual(r.outputTokens + 8);
      expect(r.thinkMs).toBeGreaterThanOrEqual(1000);
      expect(r.thinkMs).toBeLessThanOrEqual(6000);
      chained++;
    }
    expect(chained).toBe(t.requests.length - t.openings.length);
  });

  it('sharegpt: log-normal lengths near the intended means', () => {
    const t = buildTrace('sharegpt', 5, 4000);
    const meanOut = t.requests.reduce((s, r) => s + r.outputTokens, 0) / t.requests.length;
    const meanIn = t.requests.reduce((s, r) => s + r.prompt.length, 0) / t.requests.length;
    expect(meanOut).toBeGreaterThan(200);
    expect(meanOut).toBeLessThan(300);
    expect(meanIn).toBeGreaterThan(250);
    expect(meanIn).toBeLessThan(360);
  });

  it('schedules Poisson and on/off arrivals at the requested mean rate', () => {
    for (const w of ['shared-prefix', 'bursty'] as const) {
      const t = buildTrace(w, 1, 6000);
      const at = schedule(t, 50);
      for (let i = 1; i < at.length; i++) expect(at[i]).toBeGreaterThanOrEqual(at[i - 1] as number);
      const rate = (at.length * 1000) / (at[at.length - 1] as number);
      expect(rate).toBeGreaterThan(45);
      expect(rate).toBeLessThan(55);
    }
    // Bursty: the busiest second holds far more than the mean.
    const at = schedule(buildTrace('bursty', 1, 6000), 50);
    const perSecond = new Map<number, number>();
    for (const x of at) perSecond.set(Math.floor(x / 1000), (perSecond.get(Math.floor(x / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeGreaterThan(100);
  });

  it('multi-turn: the session rate is set so all turns together arrive at the requested rate', () => {
    const t = buildTrace('multi-turn', 1, 3000);
    const starts = schedule(t, 30);
    const perSession = t.requests.length / t.openings.length;
    const sessionRate = (starts.length * 1000) / (starts[starts.length - 1] as number);
    expect(sessionRate * perSession).toBeGreaterThan(27);
    expect(sessionRate * perSession).toBeLessThan(33);
  });

  it('open-loop schedule: every request once, turns in session order, at the rate', () => {
    const t = buildTrace('multi-turn', 1, 500);
    const { order, at } = openLoopSchedule(t, 40);
    expect([...order].sort((a, b) => a - b)).toEqual(t.requests.map((r) => r.id));
    const pos = new Map(order.map((id, i) => [id, i]));
    for (const r of t.requests) if (r.next !== undefined) expect(pos.get(r.next)).toBeGreaterThan(pos.get(r.id) as number);
    const rate = (at.length * 1000) / (at[at.length - 1] as number);
    expect(rate).toBeGreaterThan(34);
    expect(rate).toBeLessThan(46);
  });

  it('text and logNormal helpers', () => {
    const r = prng(1);
    const s = text(r, 20_000);
    expect(s).toHaveLength(20_000);
    expect(s).toMatch(/^[a-z ]+$/);
    for (let i = 0; i < 1000; i++) {
      const x = logNormal(r, 100, 1, 5, 400);
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(5);
      expect(x).toBeLessThanOrEqual(400);
    }
  });
});
