import { describe, expect, it } from 'vitest';
import { sglangCacheAware } from '../../../../bench/routing/baselines/sglang.js';
import { engines, req, scripted } from './helpers.js';

describe('SGLang cache_aware reproduction (0.3 / 64 / 1.5)', () => {
  it('routes a prompt matching > 30 % to the worker that holds it, else to the smallest tree', () => {
    const es = engines(3);
    const p = sglangCacheAware({ random: scripted(0.9) });
    // Empty trees tie: random (0.9 → worker 2).
    expect(p.choose(req('x'.repeat(100)), es, 0).engine).toBe(2);
    // 100 of 120 characters match on worker 2.
    expect(p.choose(req('x'.repeat(100) + 'y'.repeat(20)), es, 0).engine).toBe(2);
    // 20 of 100 match (20 %): smallest tree (workers 0 and 1 are empty; draw 0 → worker 0).
    expect(p.choose(req('x'.repeat(20) + 'z'.repeat(80)), es, 0).engine).toBe(0);
  });

  it('sends to the least loaded when max − min > 64 and max > 1.5 × min', () => {
    const p = sglangCacheAware({ random: scripted(0, 0) });
    const es = engines(2, [0, 0]);
    expect(p.choose(req('q'.repeat(100)), es, 0).engine).toBe(0);
    (es[0] as { load: { inFlight: number } }).load.inFlight = 70;
    expect(p.choose(req('q'.repeat(100)), es, 0).engine).toBe(1);
    // 100 vs 40: difference 60 ≤ 64 → no imbalance, the prefix holder (0) wins.
    (es[0] as { load: { inFlight: number } }).load.inFlight = 100;
    (es[1] as { load: { inFlight: number } }).load.inFlight = 40;
    const q = sglangCacheAware({ random: scripted(0) });
    q.choose(req('r'.repeat(100)), engines(2), 0);
    expect(q.choose(req('r'.repeat(100)), es, 0).engine).toBe(0);
  });
});
