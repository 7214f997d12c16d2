import { describe, expect, it } from 'vitest';
import { BrixletError } from '../../../src/common/errors.js';
import { checkCapacity, checkShare } from '../../../src/kvcache/eviction/policy-options.js';

describe('policy options', () => {
  it('rejects unusable capacities and shares with BRX_ERR_KV_CONFIG', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => checkCapacity(bad)).toThrow(BrixletError);
    }
    expect(() => checkCapacity(1)).not.toThrow();
    try {
      checkShare('S3-FIFO small-queue ratio', 1);
      expect.unreachable();
    } catch (e) {
      expect((e as BrixletError).code).toBe('BRX_ERR_KV_CONFIG');
      expect((e as BrixletError).message).toContain('S3-FIFO small-queue ratio');
    }
    expect(() => checkShare('x', 0)).toThrow(BrixletError);
    expect(() => checkShare('x', 0, true)).not.toThrow();
    expect(() => checkShare('x', 1, true)).not.toThrow();
    expect(() => checkShare('x', 1.01, true)).toThrow(BrixletError);
  });
});
