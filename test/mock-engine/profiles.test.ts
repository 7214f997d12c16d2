import { describe, expect, it } from 'vitest';
import { GPU_PROFILES, gpuProfile, KV_BYTES_PER_TOKEN } from '../../src/mock-engine/profiles.js';

describe('GPU_PROFILES', () => {
  it('ships h100, a100, l20 and a10 with the h100 as the speed reference', () => {
    expect(Object.keys(GPU_PROFILES)).toEqual(['h100', 'a100', 'l20', 'a10']);
    expect(GPU_PROFILES.h100?.speed).toEqual({ prefill: 1, decode: 1 });
    expect(Object.values(GPU_PROFILES).map((p) => p.speed.prefill)).toEqual([1, 0.55, 0.4, 0.2]);
    for (const p of Object.values(GPU_PROFILES)) {
      expect(Object.isFrozen(p)).toBe(true);
      expect(p.blockTokens).toBe(16);
      expect(p.maxRunning).toBe(256);
      expect([2048, 8192]).toContain(p.maxBatchedTokens);
    }
  });

  it('derives KV blocks from GPU memory: 0.9 of it, less weights and reserve, at 128 KiB per token', () => {
    expect(KV_BYTES_PER_TOKEN).toBe(128 * 1024);
    expect(GPU_PROFILES.h100?.kvBlocks).toBe(Math.floor(((80 * 0.9 - 15 - 2) * 2 ** 30) / (128 * 1024 * 16)));
    expect(GPU_PROFILES.a10?.kvBlocks).toBe(Math.floor(((24 * 0.9 - 15 - 1.5) * 2 ** 30) / (128 * 1024 * 16)));
  });

  it('orders GPUs by speed and price the same way, and decode speed matches the step formula at 32 sequences', () => {
    const ps = Object.values(GPU_PROFILES);
    for (let i = 1; i < ps.length; i++) {
      expect(ps[i]?.speed.decode).toBeLessThanOrEqual(ps[i - 1]?.speed.decode as number);
      expect(ps[i]?.costPerHour).toBeLessThan(ps[i - 1]?.costPerHour as number);
    }
    const step = (name: string) => (GPU_PROFILES[name]?.stepOverheadMs as number) + 32 * (GPU_PROFILES[name]?.decodeMsPerSeq as number);
    expect(GPU_PROFILES.l20?.speed.decode).toBeCloseTo(step('h100') / step('l20'), 2);
  });

  it('looks a profile up case-insensitively', () => {
    expect(gpuProfile('H100')).toBe(GPU_PROFILES.h100);
    expect(gpuProfile('v100')).toBeUndefined();
    expect(gpuProfile('toString')).toBeUndefined();
  });
});
