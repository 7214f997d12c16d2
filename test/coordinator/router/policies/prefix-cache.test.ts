import { describe, expect, it } from 'vitest';
import { prefixCachePolicy } from '../../../../src/coordinator/router/policies/prefix-cache.js';
import { choose, context, engine, tally } from '../fixtures.js';

const P = 'AAAABBBBCCCCDDDD'; // 4 blocks of 4
const policy = prefixCachePolicy();

function setup(holds: Record<string, string>, running: Record<string, number>): { ctx: ReturnType<typeof context>; engines: ReturnType<typeof engine>[] } {
  const ctx = context(undefined, 3);
  const engines = Object.entries(running).map(([name, inFlight]) => engine(name, { inFlight }));
  for (const [name, prompt] of Object.entries(holds)) ctx.prefix.insert(`uid-${name}`, ctx.prefix.blocks(prompt));
  return { ctx, engines };
}

describe('matching', () => {
  it('chooses the longest match', () => {
    const { ctx, engines } = setup({ a: 'AAAABBBB', b: P }, { a: 0, b: 0, c: 0 });
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('b');
    expect(c.matchedBlocks).toBe(4);
    expect(c.reason).toBe('prefix-cache: 4/4 blocks on b, running 0 ≤ 0');
  });

  it('prefers fewer running requests between equal matches', () => {
    const { ctx, engines } = setup({ a: P, b: P }, { a: 2, b: 1, c: 0 });
    // mean 1, stddev 0.816: b (1) is within the limit, a (2) is not.
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('b');
    expect(c.reason).toBe('prefix-cache: 4/4 blocks on b, running 1 ≤ 1.816');
  });

  it('breaks exact ties at random', () => {
    const { ctx, engines } = setup({ a: P, b: P }, { a: 0, b: 0, c: 0 });
    const counts = tally(1000, () => choose(policy, engines, P, ctx).engine);
    expect(counts.c).toBeUndefined();
    expect(counts.a).toBeGreaterThan(400);
    expect(counts.b).toBeGreaterThan(400);
  });

  it('ignores holders that are not candidates (unhealthy, other model)', () => {
    const { ctx, engines } = setup({ gone: P }, { a: 1, b: 0 });
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('b');
    expect(c.reason).toBe('prefix-cache: no engine holds the first block → least-request: b has 0 in flight');
  });

  it('falls back to least-request for a prompt shorter than one block', () => {
    const { ctx, engines } = setup({}, { a: 1, b: 0 });
    expect(choose(policy, engines, 'AAA', ctx).reason).toBe('prefix-cache: prompt shorter than one block → least-request: b has 0 in flight');
  });
});

describe('load guards', () => {
  it('skips a match whose running count is above mean + 1·stddev (the next best match wins)', () => {
    const { ctx, engines } = setup({ a: 'AAAABBBB', b: P }, { a: 0, b: 3, c: 0, d: 0 });
    // running 0,3,0,0: mean 0.75, stddev 1.299, limit 2.049
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('a');
    expect(c.reason).toBe('prefix-cache: 2/4 blocks on a, running 0 ≤ 2.049');
  });

  it('falls back to least-request when every match is over the limit', () => {
    const { ctx, engines } = setup({ b: P }, { b: 3, c: 0, d: 0, e: 0 });
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).not.toBe('b');
    expect(c.matchedBlocks).toBe(0);
    expect(c.reason).toMatch(/^prefix-cache: 1 matched engine\(s\) over the load limit 2.049 → least-request: [cde] has 0 in flight, random among 3 tied$/);
  });

  it('imbalance pre-check: max − min > 8 keeps only the least-loaded engines', () => {
    const at8 = setup({ b: P }, { a: 0, b: 8 });
    // spread 8 is not imbalanced; mean 4 + stddev 4 = 8, so b still qualifies.
    expect(choose(policy, at8.engines, P, at8.ctx).engine.name).toBe('b');
    const at9 = setup({ b: P }, { a: 0, b: 9, c: 0 });
    const c = choose(policy, at9.engines, P, at9.ctx);
    expect(['a', 'c']).toContain(c.engine.name);
    expect(c.reason).toMatch(/imbalance 9−0 > 8: only the 2 least-loaded$/);
  });

  it('within the least-loaded engines the longest match still wins', () => {
    const { ctx, engines } = setup({ a: 'AAAA', c: 'AAAABBBB', b: P }, { a: 0, b: 12, c: 0 });
    const c = choose(policy, engines, P, ctx);
    expect(c.engine.name).toBe('c');
    expect(c.matchedBlocks).toBe(2);
  });

  it('takes its thresholds from options', () => {
    const strict = prefixCachePolicy({ imbalanceAbs: 2, stddevFactor: 0 });
    const { ctx, engines } = setup({ b: P }, { a: 1, b: 2, c: 1 });
    // stddev factor 0: limit = mean 1.333, b (2) is over it.
    expect(choose(strict, engines, P, ctx).engine.name).not.toBe('b');
    const loose = prefixCachePolicy({ imbalanceAbs: 100, stddevFactor: 10 });
    const x = setup({ b: P }, { a: 0, b: 20, c: 0 });
    expect(choose(loose, x.engines, P, x.ctx).engine.name).toBe('b');
  });
});
