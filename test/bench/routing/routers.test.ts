import { describe, expect, it } from 'vitest';
import { GPU_PROFILES } from '../../../src/mock-engine/profiles.js';
import type { GpuProfile } from '../../../src/mock-engine/types.js';
import { POLICY_ENTRIES, viaRouter } from '../../../bench/routing/routers.js';
import { simEngine } from '../../../bench/routing/simulator.js';

const fleet = () => [0, 1, 2].map((i) => simEngine(GPU_PROFILES.h100 as GpuProfile, i));
const req = (prompt: string) => ({ id: 0, prompt, outputTokens: 5, maxTokens: 64 });

describe('simulator routers', () => {
  it('lists brixlet cost first, the baselines and the informational policies', () => {
    expect(POLICY_ENTRIES[0]?.name).toBe('cost');
    expect(POLICY_ENTRIES.filter((p) => p.baseline).map((p) => p.name)).toEqual(['random', 'least-request', 'aibrix-v0.2', 'sglang', 'llm-d', 'dynamo']);
    expect(POLICY_ENTRIES.find((p) => p.name === 'llm-d')?.scrapeMs).toBe(50);
  });

  it('baselines get the router\'s in-flight accounting', () => {
    const es = fleet();
    const sg = (POLICY_ENTRIES.find((p) => p.name === 'sglang') as (typeof POLICY_ENTRIES)[number]).make(es, 1, () => 0);
    const t = sg.route(req('x'.repeat(300)), 0);
    const e = es[t.engine] as (typeof es)[number];
    expect(e.load).toEqual({ inFlight: 1, prefillTokens: 300, decoding: 0, decodeTokens: 64, total: 1 });
    t.firstToken(1);
    expect(e.load).toMatchObject({ inFlight: 1, prefillTokens: 0, decoding: 1 });
    t.release(5, 2);
    t.release(5, 3); // idempotent
    expect(e.load).toEqual({ inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 1 });
    expect(t.decisionMicros).toBeGreaterThan(0);
  });

  it('brixlet policies run through the Router: a repeated prompt follows its cached prefix', () => {
    const es = fleet();
    const r = viaRouter('cost')(es, 1, () => 0);
    const prompt = 'y'.repeat(1024);
    const a = r.route(req(prompt), 0);
    a.firstToken(1);
    a.release(5, 2);
    const b = r.route(req(prompt), 3);
    expect(b.engine).toBe(a.engine);
    expect(es[a.engine]?.load.total).toBe(2);
  });

  it('cost+kv-events routes on the blocks an engine\'s prefix cache reports', () => {
    const es = fleet();
    const r = viaRouter('cost', undefined, true)(es, 1, () => 0);
    expect(r.name).toBe('cost+kv-events');
    const observers = es.map((_, i) => r.kvObserver?.(i, 16));
    const prompt = 'z'.repeat(1024);
    // Engine 2 reports the prompt's first 32 blocks (engine hashes its own; ids = char codes).
    const ids = Array.from(prompt, (c) => c.charCodeAt(0));
    for (let k = 0; k < 32; k++) observers[2]?.stored(1000 + k, k === 0 ? null : 999 + k, ids.slice(k * 16, (k + 1) * 16));
    // The others report something else, so they are live too (their history does not count).
    observers[0]?.stored(1, null, Array.from({ length: 16 }, () => 7));
    observers[1]?.stored(2, null, Array.from({ length: 16 }, () => 8));
    const a = r.route(req(prompt), 0);
    expect(a.engine).toBe(2);
  });
});
