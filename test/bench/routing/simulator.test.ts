import { describe, expect, it } from 'vitest';
import { GPU_PROFILES } from '../../../src/mock-engine/profiles.js';
import type { GpuProfile } from '../../../src/mock-engine/types.js';
import { POLICY_ENTRIES, viaRouter, type SimRouterFactory } from '../../../bench/routing/routers.js';
import { capacity, HashCache, simulate, simEngine } from '../../../bench/routing/simulator.js';
import { buildTrace, text, type Trace, type TraceRequest } from '../../../bench/routing/traces.js';
import { prng } from '../../../bench/kv/synthetic.js';

const H100 = GPU_PROFILES.h100 as GpuProfile;
const TWO = [H100, H100];
const byName = (name: string) => (POLICY_ENTRIES.find((p) => p.name === name) as { make: SimRouterFactory }).make;

function handTrace(requests: TraceRequest[]): Trace {
  return { workload: 'sharegpt', seed: 1, requests, openings: requests.map((r) => r.id), arrivals: { kind: 'poisson' } };
}

describe('routing simulator', () => {
  it('computes TTFT, E2E and the prefix hit rate from the engine model', () => {
    const prompt = text(prng(7), 1000);
    const trace = handTrace([
      { id: 0, prompt, outputTokens: 10, maxTokens: 10 },
      { id: 1, prompt, outputTokens: 10, maxTokens: 10 },
    ]);
    const r = simulate({ trace, rate: 1, fleet: TWO, router: viaRouter('cost'), seed: 1, warmupShare: 0, arrivals: { order: [0, 1], at: Float64Array.of(0, 10_000) } });
    const step = H100.stepOverheadMs + H100.decodeMsPerSeq;
    // Cold: one step prefills all 1000 tokens, then 9 decode steps.
    expect(r.ttft[0]).toBeCloseTo(H100.stepOverheadMs + 1000 * H100.prefillMsPerToken, 6);
    expect(r.e2e[0]).toBeCloseTo((r.ttft[0] as number) + 9 * step, 6);
    // Warm on the same engine: 62 blocks of 16 cached (the last token is always computed).
    expect(r.ttft[1]).toBeCloseTo(H100.stepOverheadMs + 8 * H100.prefillMsPerToken, 6);
    expect(r.hitRate).toBeCloseTo(992 / 2000, 9);
    expect(Array.from(r.cachedTokens)).toEqual([0, 992]);
    expect(r.perEngine.slice().sort()).toEqual([0, 2]);
    expect(r.loadCv).toBeCloseTo(1, 9);
    expect(r.ttftP99).toBe(r.ttft[0]);
    expect(r.ttftP50).toBe(r.ttft[1]);
    expect(r.measured).toBe(2);
    expect(r.throughput).toBeCloseTo(2000 / (r.makespanMs - 0), 6);
  });

  it('spreads a cold request away from a busy engine: least-request sends the second to the other engine', () => {
    const rand = prng(3);
    const trace = handTrace([0, 1].map((id) => ({ id, prompt: text(rand, 500), outputTokens: 50, maxTokens: 64 })));
    const r = simulate({ trace, rate: 1, fleet: TWO, router: byName('least-request'), seed: 2, warmupShare: 0, arrivals: { order: [0, 1], at: Float64Array.of(0, 1) } });
    expect(r.perEngine).toEqual([1, 1]);
    expect(r.loadCv).toBe(0);
    expect(r.ttft[1]).toBeCloseTo(H100.stepOverheadMs + 500 * H100.prefillMsPerToken, 6);
  });

  it('is deterministic for a seed, baselines included', () => {
    const trace = buildTrace('shared-prefix', 1, 150);
    for (const name of ['random', 'cost', 'sglang', 'dynamo']) {
      const a = simulate({ trace, rate: 20, fleet: TWO, router: byName(name), seed: 5 });
      const b = simulate({ trace, rate: 20, fleet: TWO, router: byName(name), seed: 5 });
      expect(Array.from(a.ttft)).toEqual(Array.from(b.ttft));
      expect(a.perEngine).toEqual(b.perEngine);
      expect(a.hitRate).toBe(b.hitRate);
    }
  });

  it('sends a session turn its think time after the previous answer finished', () => {
    const trace = buildTrace('multi-turn', 4, 40);
    const r = simulate({ trace, rate: 2, fleet: TWO, router: viaRouter('cost'), seed: 1, warmupShare: 0 });
    let checked = 0;
    for (const q of trace.requests) {
      if (q.next === undefined) continue;
      expect(r.arrivalAt[q.next]).toBe((r.finishAt[q.id] as number) + (q.thinkMs as number));
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    // Later turns find their conversation cached on the engine the router kept them on.
    expect(r.hitRate).toBeGreaterThan(0.5);
  });

  it('leaves the warm-up share out of the measured requests', () => {
    const trace = buildTrace('sharegpt', 2, 100);
    const r = simulate({ trace, rate: 10, fleet: TWO, router: byName('random'), seed: 1, warmupShare: 0.3 });
    expect(r.measured).toBe(70);
    expect(Array.from(r.ttft.subarray(0, 30)).every(Number.isNaN)).toBe(true);
    expect(r.perEngine.reduce((s, x) => s + x, 0)).toBe(100);
  });

  it('hands routers metrics from the last scrape only (every scrapeMs of model time)', () => {
    const seen: { at: number; now: number }[] = [];
    const spy: SimRouterFactory = (engines) => ({
      name: 'spy',
      route(_req, now) {
        seen.push({ at: engines[0]?.metrics?.at ?? -1, now });
        const e = engines[0];
        if (e !== undefined) e.load.total++;
        return { engine: 0, decisionMicros: 0, firstToken() {}, release() {} };
      },
    });
    const trace = buildTrace('sharegpt', 3, 60);
    simulate({ trace, rate: 20, fleet: TWO, router: spy, seed: 1, scrapeMs: 500 });
    expect(seen).toHaveLength(60);
    for (const s of seen) {
      expect(s.at % 500).toBe(0);
      expect(s.at).toBeLessThanOrEqual(s.now);
      expect(s.now - s.at).toBeLessThan(500);
    }
  });

  it('builds the engine view a gateway would have', () => {
    const e = simEngine(GPU_PROFILES.a10 as GpuProfile, 3);
    expect(e).toMatchObject({ uid: 'e3', name: 'a10-3', healthy: true, speed: { gpuType: 'a10', prefill: 0.2 } });
    expect(e.cacheBlocks).toBe(Math.floor(((GPU_PROFILES.a10 as GpuProfile).kvBlocks * 16) / 128));
  });

  it('bounds the engines\' prefix caches: they evict, and a KV-event router gets the store/evict events after eventLagMs', () => {
    // 200 blocks of 16 = 3200 tokens of KV: the fourth 1000-token prompt no longer fits beside the cached three.
    const small: GpuProfile = { ...H100, kvBlocks: 200 };
    const rand = prng(11);
    const prompts = Array.from({ length: 6 }, () => text(rand, 1000));
    const trace = handTrace(prompts.map((prompt, id) => ({ id, prompt, outputTokens: 10, maxTokens: 10 })));
    const hashes = new HashCache(trace);
    const seen: { type: string; hash: number; at: number }[] = [];
    const recorder: SimRouterFactory = (_engines, _seed, clock) => ({
      name: 'recorder',
      kvObserver: () => ({
        stored: (hash) => seen.push({ type: 'stored', hash, at: clock() }),
        removed: (hash) => seen.push({ type: 'removed', hash, at: clock() }),
        cleared: () => seen.push({ type: 'cleared', hash: 0, at: clock() }),
      }),
      route: () => ({ engine: 0, decisionMicros: 0, firstToken: () => {}, release: () => {} }),
    });
    const at = Float64Array.from(prompts.map((_, i) => i * 1000));
    const run = (eventLagMs: number) => {
      seen.length = 0;
      const r = simulate({ trace, rate: 1, fleet: [small], router: recorder, seed: 1, warmupShare: 0, hashes, eventLagMs, arrivals: { order: prompts.map((_, i) => i), at } });
      return { r, seen: [...seen] };
    };
    const { r, seen: delivered } = run(50);
    // Six prompts of 62 full blocks each were keyed; from the fourth on, the oldest were evicted.
    expect(r.blocksStored).toBe(6 * 62);
    expect(r.blocksEvicted).toBeGreaterThan(0);
    expect(r.hitRate).toBe(0);
    // Delivered before each routing decision (arrivals every 1000 ms), so everything but the last
    // request's events arrived, in order: prompt 0's blocks stored first and evicted first (LRU,
    // a released sequence's tail block first, as vLLM frees them).
    for (const e of delivered) expect(e.at % 1000).toBe(0);
    const stored = delivered.filter((e) => e.type === 'stored').map((e) => e.hash);
    const removed = delivered.filter((e) => e.type === 'removed').map((e) => e.hash);
    expect(stored).toEqual(prompts.slice(0, 5).flatMap((_, i) => hashes.get(i, 16)));
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.slice(0, 62)).toEqual(hashes.get(0, 16).slice().reverse());
    expect(delivered.length).toBe(r.blocksStored - 62 + removed.length);
    // A lag longer than the run delivers nothing; no lag delivers every event as it happens.
    expect(run(1e9).seen).toEqual([]);
    const now = run(0).seen;
    expect(now.filter((e) => e.type === 'stored')).toHaveLength(6 * 62);
    expect(now.filter((e) => e.type === 'removed')).toHaveLength(r.blocksEvicted);
  });

  it('finds the rate least-request sustains', () => {
    const trace = buildTrace('sharegpt', 1, 400);
    const c = capacity(trace, TWO, byName('least-request'), 10, 2);
    expect(c).toBeGreaterThan(10);
    expect(c).toBeLessThan(200);
  });
});
