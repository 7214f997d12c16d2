import { describe, expect, it } from 'vitest';
import { dynamoKvRouter } from '../../../../bench/routing/baselines/dynamo.js';
import { engines, req, scripted } from './helpers.js';

const B = 16;

describe('Dynamo KV router cost (prefill blocks + decode blocks)', () => {
  it('charges new prefill and active blocks, and releases them', () => {
    const es = engines(2);
    const d = dynamoKvRouter({ random: scripted(0, 0, 0, 0) });
    const p = 'x'.repeat(10 * B);
    const first = d.choose(req(p), es, 0);
    expect(first.engine).toBe(0); // tie → draw 0
    // A longer prompt sharing it, once the first has its first token (no prefill left on worker 0):
    // worker 0 = 5 new + 0 prefilling + (10 active + 5 added) = 20; worker 1 = 15 + 0 + 15 = 30.
    first.firstToken?.(1);
    const longer = p + 'y'.repeat(5 * B);
    expect(d.choose(req(longer), es, 1).engine).toBe(0);
    // Worker 0 still has the longer request (15 active blocks, 5 prefilling): 10 + 5 + 25 = 40 vs 20.
    first.release?.(2);
    const other = 'z'.repeat(10 * B);
    expect(d.choose(req(other), es, 2).engine).toBe(1);
  });

  it('forgets the overlap after the TTL', () => {
    const es = engines(2);
    const d = dynamoKvRouter({ random: scripted(0.9, 0), ttlMs: 1000 });
    const p = 'x'.repeat(10 * B);
    const c = d.choose(req(p), es, 0);
    expect(c.engine).toBe(1);
    c.firstToken?.(0);
    c.release?.(0);
    // Within the TTL the cached worker wins (0 new blocks); after it, both cost the same (tie → 0).
    expect(d.choose(req(p), es, 500).engine).toBe(1);
    const d2 = dynamoKvRouter({ random: scripted(0.9, 0), ttlMs: 1000 });
    const c2 = d2.choose(req(p), es, 0);
    c2.firstToken?.(0);
    c2.release?.(0);
    expect(d2.choose(req(p), es, 5000).engine).toBe(0);
  });
});
