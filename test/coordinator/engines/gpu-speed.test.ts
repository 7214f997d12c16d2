import { describe, expect, it } from 'vitest';
import { GPU_PROFILES } from '../../../src/mock-engine/profiles.js';
import { GPU_SPEEDS, gpuSpeed } from '../../../src/coordinator/engines/gpu-speed.js';

describe('gpuSpeed', () => {
  it('knows the reference and the slower types, and names them canonically', () => {
    expect(gpuSpeed('h100')).toEqual({ gpuType: 'h100', prefill: 1, decode: 1 });
    expect(gpuSpeed('A100')).toMatchObject({ gpuType: 'a100', prefill: 0.55 });
    expect(gpuSpeed('l20').prefill).toBe(0.4);
    expect(gpuSpeed('a10')).toMatchObject({ gpuType: 'a10', prefill: 0.2, decode: 0.2 });
  });

  it('reads product names as labels write them, without confusing a100 with a10', () => {
    expect(gpuSpeed('NVIDIA-A100-SXM4-80GB').gpuType).toBe('a100');
    expect(gpuSpeed('nvidia-tesla-a100').gpuType).toBe('a100');
    expect(gpuSpeed('H100-80GB-HBM3').gpuType).toBe('h100');
    expect(gpuSpeed('a10-24gb').gpuType).toBe('a10');
    expect(gpuSpeed('a100').gpuType).toBe('a100');
    expect(gpuSpeed('a10g').gpuType).toBe('a10g'); // another GPU: unknown, not an A10
  });

  it('counts unknown types as the reference but keeps their name; no type is the reference', () => {
    expect(gpuSpeed('mi300x')).toEqual({ gpuType: 'mi300x', prefill: 1, decode: 1 });
    expect(gpuSpeed(undefined)).toEqual({ gpuType: 'h100', prefill: 1, decode: 1 });
    expect(gpuSpeed('')).toEqual({ gpuType: 'h100', prefill: 1, decode: 1 });
  });

  it('returns one frozen object per type (no allocation per lookup)', () => {
    expect(gpuSpeed('a100')).toBe(gpuSpeed('a100'));
    expect(Object.isFrozen(gpuSpeed('a100'))).toBe(true);
  });

  it('matches the mock engine profiles, so the gateway and the mock fleet agree on speeds', () => {
    for (const [name, profile] of Object.entries(GPU_PROFILES)) {
      expect(GPU_SPEEDS[name], name).toEqual(profile.speed);
    }
    expect(Object.keys(GPU_SPEEDS).sort()).toEqual(Object.keys(GPU_PROFILES).sort());
  });
});
