import { describe, expect, it } from 'vitest';
import { loraSeed } from '../../../src/coordinator/router/lora-seed.js';

describe('loraSeed', () => {
  it("is the vLLM connector's chain seed as a 53-bit integer (sha256('brixlet-vllm\\0lora=NAME\\0salt=')[:8] >> 11)", () => {
    // Values from Python: int.from_bytes(hashlib.sha256(b'brixlet-vllm\0lora=NAME\0salt=').digest()[:8], 'big') >> 11
    expect(loraSeed('sql-adapter')).toBe(5047294238803806);
    expect(loraSeed('a')).toBe(2191011976118977);
  });

  it('gives every adapter its own safe-integer seed, the same on every call', () => {
    const seeds = new Set<number>();
    for (let k = 0; k < 2000; k++) {
      const s = loraSeed(`adapter-${k}`);
      expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
      expect(loraSeed(`adapter-${k}`)).toBe(s);
      seeds.add(s);
    }
    expect(seeds.size).toBe(2000);
  });
});
