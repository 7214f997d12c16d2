import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainKeys } from '../../../src/kvcache/client/chain-keys.js';

const sha16 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, 16);
};

describe('chainKeys', () => {
  it('computes k_i = sha256(k_(i-1) ‖ block_i)[0..16) from a zero seed', () => {
    const blocks = [Buffer.from('first block'), Buffer.from('second block')];
    const keys = chainKeys(blocks);
    expect(keys.length).toBe(32);
    const k0 = sha16(Buffer.alloc(16), blocks[0] as Buffer);
    expect(keys.subarray(0, 16)).toEqual(k0);
    expect(keys.subarray(16, 32)).toEqual(sha16(k0, blocks[1] as Buffer));
    // A fixed vector the Python client must reproduce.
    expect(chainKeys([Buffer.from('brixlet')]).toString('hex')).toBe('37666da39637e764e12fa9c3e59d571c');
  });

  it('continues a chain when seeded with its last key, and depends on the whole prefix', () => {
    const blocks = [1, 2, 3].map((v) => new Uint8Array(64).fill(v));
    const all = chainKeys(blocks);
    const tail = chainKeys(blocks.slice(2), all.subarray(16, 32));
    expect(tail).toEqual(all.subarray(32, 48));
    const other = chainKeys([new Uint8Array(64).fill(9), ...blocks.slice(1)]);
    expect(other.subarray(32, 48)).not.toEqual(all.subarray(32, 48));
    expect(chainKeys([])).toHaveLength(0);
  });

  it('rejects a seed that is not a 16-byte key', () => {
    expect(() => chainKeys([Buffer.from('x')], new Uint8Array(8))).toThrow(RangeError);
  });
});
