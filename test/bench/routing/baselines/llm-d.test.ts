import { describe, expect, it } from 'vitest';
import { llmdScheduler } from '../../../../bench/routing/baselines/llm-d.js';
import { engines, req, scripted } from './helpers.js';

const P = 'p'.repeat(640); // 10 blocks of 64

describe('llm-d default scorers (prefix 3, queue 2, kv 2)', () => {
  it('prefers the prefix holder unless its queue and KV scores lose more than 3 × the matched fraction', () => {
    const es = engines(2);
    const s = llmdScheduler({ random: scripted(0) });
    expect(s.choose(req(P), es, 0).engine).toBe(0); // tie → first draw
    // Holder 0: prefix 3·1, queue 2·0 (longest queue), kv 2·(1 − 0.2) → 4.6; engine 1: 0 + 2 + 2·1 = 4.
    es[0]!.metrics = { at: 0, waiting: 5, gpuCacheUsage: 0.2 };
    es[1]!.metrics = { at: 0, waiting: 0, gpuCacheUsage: 0 };
    expect(s.choose(req(P), es, 0).engine).toBe(0);
    // KV at 0.6: 3 + 0 + 0.8 = 3.8 < 4.
    es[0]!.metrics = { at: 0, waiting: 5, gpuCacheUsage: 0.6 };
    expect(s.choose(req(P), es, 0).engine).toBe(1);
  });

  it('scores a partial match by its fraction of the prompt blocks', () => {
    const es = engines(2);
    const s = llmdScheduler({ random: scripted(0.9) });
    expect(s.choose(req('a'.repeat(320)), es, 0).engine).toBe(1);
    // 5 of 10 blocks on engine 1: 1.5 + 2 + 2·0.5 = 4.5; engine 0: 0 + 2 + 2·0.6 = 3.2.
    es[0]!.metrics = { at: 0, waiting: 0, gpuCacheUsage: 0.4 };
    es[1]!.metrics = { at: 0, waiting: 0, gpuCacheUsage: 0.5 };
    expect(s.choose(req('a'.repeat(320) + 'b'.repeat(320)), es, 0).engine).toBe(1);
  });
});
