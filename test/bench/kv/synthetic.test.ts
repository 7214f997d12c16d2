import { describe, expect, it } from 'vitest';
import { prng, syntheticWorkload, zipfSampler } from '../../../bench/kv/synthetic.js';
import { requestCount, uniqueBlocks } from '../../../bench/kv/workload.js';

function nonScanChains(w: ReturnType<typeof syntheticWorkload>): string[] {
  const out: string[] = [];
  for (let r = 0; r < requestCount(w); r++) if (w.scan?.[r] !== 1) out.push(Array.from(w.blocks.subarray(w.starts[r], w.starts[r + 1])).join(','));
  return out;
}

describe('synthetic workload', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = syntheticWorkload({ seed: 7, turns: 300, scanShare: 0.2 });
    const b = syntheticWorkload({ seed: 7, turns: 300, scanShare: 0.2 });
    const c = syntheticWorkload({ seed: 8, turns: 300, scanShare: 0.2 });
    expect(Array.from(a.blocks)).toEqual(Array.from(b.blocks));
    expect(Array.from(a.blocks)).not.toEqual(Array.from(c.blocks));
  });

  it('adds scans of 64–256 unique blocks at the share asked, leaving the conversation traffic alone', () => {
    const plain = syntheticWorkload({ seed: 3, turns: 2000, scanShare: 0 });
    const mixed = syntheticWorkload({ seed: 3, turns: 2000, scanShare: 0.4 });
    const scans = mixed.scan?.reduce((n, s) => n + s, 0) ?? 0;
    expect(scans / requestCount(mixed)).toBeGreaterThan(0.36);
    expect(scans / requestCount(mixed)).toBeLessThan(0.44);
    expect(requestCount(mixed) - scans).toBe(2000);
    const chains = nonScanChains(mixed);
    const firstIds = (s: string) => s.split(',').length;
    expect(chains.map(firstIds)).toEqual(nonScanChains(plain).map(firstIds));
    expect(uniqueBlocks(mixed, true)).toBe(uniqueBlocks(plain));
    const seen = new Map<number, number>();
    for (let r = 0; r < requestCount(mixed); r++) {
      const n = (mixed.starts[r + 1] as number) - (mixed.starts[r] as number);
      if (mixed.scan?.[r] === 1) {
        expect(n).toBeGreaterThanOrEqual(64);
        expect(n).toBeLessThanOrEqual(256);
        for (let i = mixed.starts[r] as number; i < (mixed.starts[r + 1] as number); i++) seen.set(mixed.blocks[i] as number, (seen.get(mixed.blocks[i] as number) ?? 0) + 1);
      }
    }
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
  });

  it('grows conversations by 2–4 blocks behind a shared 8-block prompt and restarts them past 96', () => {
    const w = syntheticWorkload({ seed: 1, turns: 3000, scanShare: 0 });
    let longest = 0;
    for (let r = 0; r < requestCount(w); r++) {
      const n = (w.starts[r + 1] as number) - (w.starts[r] as number);
      longest = Math.max(longest, n);
      expect(n).toBeGreaterThanOrEqual(10);
      expect(w.blocks[w.starts[r] as number]).toBeLessThan(8 * 8); // a system prompt block
    }
    expect(longest).toBeLessThanOrEqual(96);
    expect(longest).toBeGreaterThan(80);
  });

  it('draws Zipf ranks with the expected skew', () => {
    const draw = zipfSampler(100, 1, prng(5));
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 20_000; i++) counts[draw()]!++;
    expect(counts[0]! / counts[1]!).toBeGreaterThan(1.6);
    expect(counts[0]! / counts[1]!).toBeLessThan(2.5);
    expect(counts[0]!).toBeGreaterThan(counts[50]! * 20);
  });
});
