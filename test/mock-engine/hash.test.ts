import { describe, expect, it } from 'vitest';
import { blockHashes, tokensOf } from '../../src/mock-engine/hash.js';

describe('blockHashes', () => {
  it('gives one 53-bit integer per full block, none for the tail', () => {
    const h = blockHashes('abcdefghij', 4);
    expect(h).toHaveLength(2);
    for (const x of h) {
      expect(Number.isSafeInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(0);
    }
    expect(blockHashes('abc', 4)).toEqual([]);
  });

  it('is chained: a block hash depends on every character before it', () => {
    const a = blockHashes('xxxxSAME', 4);
    const b = blockHashes('yyyySAME', 4);
    expect(a[1]).not.toBe(b[1]); // same second block, different prefix
    const long = blockHashes('xxxxSAMEmore', 4);
    expect(long.slice(0, 2)).toEqual(a); // extending the text keeps earlier hashes
    const same = blockHashes('SAMESAME', 4);
    expect(same[0]).not.toBe(same[1]); // the same block at another position differs
  });

  it('is deterministic, changes with the seed and spreads keys without collisions in a large sample', () => {
    expect(blockHashes('hello world!', 4)).toEqual(blockHashes('hello world!', 4));
    expect(blockHashes('hello world!', 4, 1)).not.toEqual(blockHashes('hello world!', 4));
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i++) for (const x of blockHashes(`${i}: prompt`.padEnd(32, '.'), 16)) seen.add(x);
    expect(seen.size).toBe(40_000);
  });

  it('rejects a block size that is not a positive integer', () => {
    expect(() => blockHashes('abc', 0)).toThrow(RangeError);
    expect(() => blockHashes('abc', 1.5)).toThrow(RangeError);
  });
});

describe('tokensOf', () => {
  it('rounds characters up to whole tokens', () => {
    expect(tokensOf('', 4)).toBe(0);
    expect(tokensOf('abcd', 4)).toBe(1);
    expect(tokensOf('abcde', 4)).toBe(2);
    expect(tokensOf('abcde', 1)).toBe(5);
  });
});
