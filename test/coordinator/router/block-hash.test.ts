import { expect, it } from 'vitest';
import { chainedBlockHashes, hashBlock } from '../../../src/coordinator/router/block-hash.js';
import { seeded, text } from './fixtures.js';

it('chains: hashes[k] = H(hashes[k-1] ‖ block k), seeded, the incomplete tail not hashed', () => {
  const s = 'abcdefghijklmnopq';
  const h = chainedBlockHashes(s, 4, 7);
  expect(h).toHaveLength(4);
  expect(h[0]).toBe(hashBlock(7, s, 0, 4));
  expect(h[3]).toBe(hashBlock(h[2] as number, s, 12, 4));
  expect(chainedBlockHashes('abc', 4, 7)).toEqual([]);
  expect(chainedBlockHashes(s, 4, 8)[0]).not.toBe(h[0]);
  for (const x of h) expect(Number.isSafeInteger(x) && x >= 0).toBe(true);
});

it('the same block at another position hashes differently', () => {
  const h = chainedBlockHashes('xxxxxxxxyyyy', 4, 0);
  expect(h[0]).not.toBe(h[1]);
  const a = chainedBlockHashes('aaaaBBBB', 4, 0);
  const b = chainedBlockHashes('ccccBBBB', 4, 0);
  expect(a[1]).not.toBe(b[1]);
});

it('the buffered word path equals the charCodeAt reference for even and odd blocks, long and non-ASCII prompts', () => {
  const rand = seeded(3);
  let s = text(140_001, rand);
  s = `${s.slice(0, 500)}é日本\ud800語\udfff${s.slice(500)}`;
  for (const block of [1, 5, 8, 127, 128, 4096, 65_536]) {
    const ref: number[] = [];
    let prev = 11;
    for (let k = 0; k < Math.floor(s.length / block); k++) ref.push((prev = hashBlock(prev, s, k * block, block)));
    expect(chainedBlockHashes(s, block, 11)).toEqual(ref);
  }
  // Blocks longer than the copy chunk take the reference path.
  expect(chainedBlockHashes(s, 70_000, 1)).toEqual([hashBlock(1, s, 0, 70_000), hashBlock(hashBlock(1, s, 0, 70_000), s, 70_000, 70_000)]);
});

it('has no collision among 10^6 random blocks, nor among 10^5 one-character variants of one block', () => {
  const rand = seeded(42);
  const blocks = 1_000_000;
  const len = 16;
  const s = text(blocks * len, rand);
  const seen = new Set<number>();
  for (let k = 0; k < blocks; k++) seen.add(hashBlock(0, s, k * len, len));
  // 26^16 possible blocks: 10^6 random ones are distinct texts, so every hash must be distinct.
  expect(seen.size).toBe(blocks);

  const base = text(128, rand);
  const variants = new Set<number>();
  let count = 0;
  for (let pos = 0; pos < 128; pos++) {
    for (let c = 0; c < 790; c++) {
      const code = 32 + c;
      if (code === base.charCodeAt(pos)) continue;
      const v = base.slice(0, pos) + String.fromCharCode(code) + base.slice(pos + 1);
      variants.add(hashBlock(0, v, 0, 128));
      count++;
    }
  }
  expect(variants.size).toBe(count);
}, 30_000);

it('has no collision among 10^6 structured blocks (counters in JSON) nor two-character variants', () => {
  const seen = new Set<number>();
  const n = 1_000_000;
  for (let i = 0; i < n; i++) {
    const block = `{"id": ${String(i).padStart(8, '0')}, "v": ${(i * 7) % 1000}}`.padEnd(40, ' ');
    seen.add(hashBlock(0, block, 0, block.length));
  }
  expect(seen.size).toBe(n);
  const base = 'the quick brown fox jumps over the lazy dog, again and again!!';
  const variants = new Set<number>();
  let count = 0;
  for (let p = 0; p < base.length; p++) {
    for (let q = p + 1; q < base.length; q++) {
      for (const [x, y] of [['#', '$'], ['%', '&'], ['0', '1'], ['Q', 'J']] as const) {
        variants.add(hashBlock(0, base.slice(0, p) + x + base.slice(p + 1, q) + y + base.slice(q + 1), 0, base.length));
        count++;
      }
    }
  }
  expect(variants.size).toBe(count);
}, 30_000);
