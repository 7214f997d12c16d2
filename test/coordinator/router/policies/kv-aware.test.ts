import { describe, expect, it } from 'vitest';
import { kvAwarePolicy, nodeFreeBytes, nodeKvScore } from '../../../../src/coordinator/router/policies/kv-aware.js';
import type { NodeKvView } from '../../../../src/coordinator/router/types.js';
import { choose, context, engine, tally } from '../fixtures.js';

const P = 'AAAABBBBCCCCDDDD';
const GiB = 2 ** 30;
const policy = kvAwarePolicy();

function kv(capacityGiB: number, usedGiB: number, hitRatio: number | null): NodeKvView {
  return { capacityBytes: capacityGiB * GiB, usedBytes: usedGiB * GiB, hitRatio };
}

function setup(specs: Record<string, { holds?: string; inFlight?: number; kv?: NodeKvView }>): { ctx: ReturnType<typeof context>; engines: ReturnType<typeof engine>[] } {
  const ctx = context(undefined, 4);
  const engines = Object.entries(specs).map(([name, s]) => engine(name, { inFlight: s.inFlight ?? 0, ...(s.kv ? { kv: s.kv } : {}) }));
  for (const [name, s] of Object.entries(specs)) if (s.holds) ctx.prefix.insert(`uid-${name}`, ctx.prefix.blocks(s.holds));
  return { ctx, engines };
}

it('scores a node shard by free fraction × (0.5 + 0.5·hit ratio)', () => {
  expect(nodeKvScore(engine('a', { kv: kv(10, 2, 1) }))).toBeCloseTo(0.8, 12);
  expect(nodeKvScore(engine('a', { kv: kv(10, 2, 0) }))).toBeCloseTo(0.4, 12);
  expect(nodeKvScore(engine('a', { kv: kv(10, 2, null) }))).toBeCloseTo(0.6, 12);
  expect(nodeKvScore(engine('a', { kv: kv(10, 12, 1) }))).toBe(0);
  expect(nodeKvScore(engine('a', { kv: kv(0, 0, 1) }))).toBe(0);
  expect(nodeKvScore(engine('a'))).toBe(0);
  expect(nodeFreeBytes(engine('a', { kv: kv(10, 4, 1) }))).toBe(6 * GiB);
});

describe('with a match', () => {
  it('prefers, between equal matches, the engine whose node shard has room and hits', () => {
    const { ctx, engines } = setup({ a: { holds: P, kv: kv(10, 9, 0.9) }, b: { holds: P, kv: kv(10, 2, 0.5) }, c: {} });
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('b');
    expect(c.matchedBlocks).toBe(4);
    expect(c.reason).toBe('kv-aware: 4/4 blocks on b, node KV 8 GiB free, hit 0.5, score 0.6, running 0 ≤ 0');
  });

  it('a longer match still beats a better shard', () => {
    const { ctx, engines } = setup({ a: { holds: P, kv: kv(10, 9, 0) }, b: { holds: 'AAAABBBB', kv: kv(10, 0, 1) } });
    expect(choose(policy, engines, P, ctx).engine.name).toBe('a');
  });

  it('equal shards fall to fewer in flight, then random', () => {
    const s = setup({ a: { holds: P, inFlight: 1 }, b: { holds: P, inFlight: 0 }, c: { holds: P, inFlight: 1 } });
    expect(choose(policy, s.engines, P, s.ctx).engine.name).toBe('b');
    const t = setup({ a: { holds: P }, b: { holds: P } });
    const counts = tally(1000, () => choose(policy, t.engines, P, t.ctx).engine);
    expect(counts.a).toBeGreaterThan(400);
    expect(counts.b).toBeGreaterThan(400);
  });

  it('keeps the load guards of prefix-cache', () => {
    const { ctx, engines } = setup({ a: { holds: P, inFlight: 3, kv: kv(10, 0, 1) }, b: { kv: kv(10, 5, 0) }, c: { kv: kv(10, 1, 0) }, d: {} });
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('c');
    expect(c.reason).toMatch(/^kv-aware: no matched engine within the load limit → most free node KV: c, node KV 9 GiB free/);
    const imb = setup({ a: { holds: P, inFlight: 9 }, b: { inFlight: 0 } });
    expect(choose(policy, imb.engines, P, imb.ctx).reason).toMatch(/imbalance 9−0 > 8/);
  });
});

describe('without a match', () => {
  it('chooses the engine whose node shard has the most free bytes, ties by fewer in flight', () => {
    // running 0,0,1,1: limit 1, so c stays eligible and ties b on free bytes; b has fewer in flight.
    const { ctx, engines } = setup({ a: { kv: kv(10, 9, 1) }, b: { kv: kv(64, 14, 0) }, c: { kv: kv(50, 0, 1), inFlight: 1 }, d: { inFlight: 1 } });
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('b');
    expect(c.reason).toBe('kv-aware: no engine holds the first block → most free node KV: b, node KV 50 GiB free, hit 0, score 0.391, running 0');
    engines[1]!.load.inFlight = 2; // now over the limit (1.58)
    engines[3]!.load.inFlight = 0;
    expect(choose(policy, engines, P, ctx).engine.name).toBe('c');
    const none = setup({ a: { inFlight: 2 }, b: { inFlight: 1 } });
    expect(choose(policy, none.engines, 'AB', none.ctx).reason).toBe('kv-aware: prompt shorter than one block → most free node KV: b, no node KV shard, running 1');
  });
});
