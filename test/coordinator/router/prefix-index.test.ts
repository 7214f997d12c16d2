import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import type { PromptBlocks } from '../../../src/coordinator/router/types.js';
import { index, seeded, text } from './fixtures.js';

describe('matching', () => {
  it('matches leading blocks only, stopping at the first miss', () => {
    const idx = index(4);
    idx.insert('a', idx.blocks('aaaabbbbccccdddd'));
    expect(idx.matchLength('a', idx.blocks('aaaabbbbccccdddd'))).toBe(4);
    expect(idx.matchLength('a', idx.blocks('aaaabbbbXXXXdddd'))).toBe(2);
    expect(idx.matchLength('a', idx.blocks('aaaabbbbcc'))).toBe(2);
    expect(idx.matchLength('a', idx.blocks('Xaaabbbbccccdddd'))).toBe(0);
    expect(idx.matchLength('nobody', idx.blocks('aaaabbbb'))).toBe(0);
    expect([...idx.matches(idx.blocks('aaaabbbbXXXX'))]).toEqual([['a', 2]]);
  });

  it('does not match a block seen at another position (chained hashes)', () => {
    const idx = index(4);
    idx.insert('a', idx.blocks('xxxxbbbb'));
    expect(idx.matchLength('a', idx.blocks('bbbbxxxx'))).toBe(0);
    expect(idx.matchLength('a', idx.blocks('yyyybbbb'))).toBe(0);
    expect(idx.matches(idx.blocks('yyyybbbb')).size).toBe(0);
  });

  it('reports every holder with its own match length', () => {
    const idx = index(4);
    idx.insert('a', idx.blocks('sysPROMPTabc'));
    idx.insert('b', idx.blocks('sysPROMPTxyz'));
    idx.insert('c', idx.blocks('sysPxxxx'));
    idx.insert('d', idx.blocks('other'));
    const m = idx.matches(idx.blocks('sysPROMPTabcdefg'));
    expect(Object.fromEntries(m)).toEqual({ a: 3, b: 2, c: 1 });
    expect(idx.matches(idx.blocks('abc')).size).toBe(0);
  });

  it('rejects invalid options with a catalog code', () => {
    const bad = [{ blockTokens: 0, capacity: 1 }, { blockTokens: 1.5, capacity: 1 }, { blockTokens: 4, capacity: 0 }, { blockTokens: 4, capacity: 1, seed: -1 }];
    for (const opts of bad) {
      let caught: unknown;
      try {
        createPrefixIndex(opts);
      } catch (err) {
        caught = err;
      }
      expect(isBrixletError(caught, 'BRX_ERR_ENGINE_CONFIG')).toBe(true);
    }
  });
});

describe('per-engine LRU', () => {
  it('evicts an engine\'s least recently used blocks at its KV capacity, suffixes before prefixes', () => {
    const idx = index(2);
    idx.insert('a', idx.blocks('p1p2p3'), 4);
    expect(idx.engineBlocks('a')).toBe(3);
    idx.insert('a', idx.blocks('q1q2'), 4);
    // 5 blocks > 4: the oldest, the last block of the first prompt (p3), goes first.
    expect(idx.engineBlocks('a')).toBe(4);
    expect(idx.matchLength('a', idx.blocks('p1p2p3'))).toBe(2);
    expect(idx.matchLength('a', idx.blocks('q1q2'))).toBe(2);
    // A hit refreshes recency: p1p2 becomes newest, so the next eviction takes q2.
    idx.insert('a', idx.blocks('p1p2'), 4);
    idx.insert('a', idx.blocks('r1'), 4);
    expect(idx.matchLength('a', idx.blocks('q1q2'))).toBe(1);
    expect(idx.matchLength('a', idx.blocks('p1p2'))).toBe(2);
    expect(idx.size).toBe(4);
  });

  it('bounds engines without a known capacity by an equal share of the index capacity', () => {
    const idx = index(1, 10);
    idx.insert('a', idx.blocks('abcdefghijkl'));
    expect(idx.engineBlocks('a')).toBe(10);
    idx.insert('b', idx.blocks('xy'));
    expect(idx.engineCapacity('a')).toBe(5);
    idx.insert('a', idx.blocks('a'));
    expect(idx.engineBlocks('a')).toBe(5);
    expect(idx.size).toBe(7);
    // A known KV capacity is capped by the index capacity.
    idx.insert('c', idx.blocks('z'), 1_000_000);
    expect(idx.engineCapacity('c')).toBe(10);
  });

  it('one engine\'s evictions never touch another\'s blocks', () => {
    const idx = index(2);
    idx.insert('a', idx.blocks('s1s2'), 2);
    idx.insert('b', idx.blocks('s1s2'), 2);
    idx.insert('a', idx.blocks('t1t2'), 2);
    expect(idx.matchLength('a', idx.blocks('s1s2'))).toBe(0);
    expect(idx.matchLength('b', idx.blocks('s1s2'))).toBe(2);
    expect(idx.holders((idx.blocks('s1s2').hashes[0]) as number)).toEqual(['b']);
  });

  it('removeEngine forgets the engine and its reverse-map entries', () => {
    const idx = index(2);
    idx.insert('a', idx.blocks('s1s2'));
    idx.insert('b', idx.blocks('s1s2'));
    idx.removeEngine('a');
    idx.removeEngine('missing');
    const b = idx.blocks('s1s2');
    expect(idx.matchLength('a', b)).toBe(0);
    expect(Object.fromEntries(idx.matches(b))).toEqual({ b: 2 });
    expect(idx.holders(b.hashes[0] as number)).toEqual(['b']);
    expect(idx.engines()).toEqual(['b']);
    expect(idx.size).toBe(2);
    // Re-added under the same uid it starts empty.
    idx.insert('a', idx.blocks('zz'));
    expect(idx.matchLength('a', b)).toBe(0);
  });
});

/** A naive model: per engine an array of hashes in recency order (oldest first). */
class Model {
  readonly lru = new Map<string, number[]>();
  constructor(private readonly capacity: number) {}
  insert(uid: string, blocks: PromptBlocks, cacheBlocks: number | undefined, caps: Map<string, number>): void {
    const list = this.lru.get(uid) ?? [];
    this.lru.set(uid, list);
    if (cacheBlocks !== undefined) caps.set(uid, cacheBlocks);
    for (let k = blocks.hashes.length - 1; k >= 0; k--) {
      const h = blocks.hashes[k] as number;
      const i = list.indexOf(h);
      if (i >= 0) list.splice(i, 1);
      list.push(h);
    }
    const known = caps.get(uid);
    const cap = known !== undefined ? Math.min(known, this.capacity) : Math.max(1, Math.floor(this.capacity / this.lru.size));
    while (list.length > cap) list.shift();
  }
  matchLength(uid: string, blocks: PromptBlocks): number {
    const list = this.lru.get(uid) ?? [];
    let k = 0;
    while (k < blocks.hashes.length && list.includes(blocks.hashes[k] as number)) k++;
    return k;
  }
}

it('agrees with a naive model under random inserts and removals (reverse map, matches, counts)', () => {
  const rand = seeded(9);
  const capacity = 300;
  const idx = createPrefixIndex({ blockTokens: 2, capacity });
  const model = new Model(capacity);
  const caps = new Map<string, number>();
  const systems = Array.from({ length: 6 }, () => text(2 + Math.floor(rand() * 20), rand));
  const prompts = Array.from({ length: 80 }, () => (systems[Math.floor(rand() * 6)] as string) + text(Math.floor(rand() * 16), rand));
  const uids = ['a', 'b', 'c', 'd', 'e'];
  for (let step = 0; step < 3000; step++) {
    const uid = uids[Math.floor(rand() * uids.length)] as string;
    if (rand() < 0.02) {
      idx.removeEngine(uid);
      model.lru.delete(uid);
      caps.delete(uid);
      continue;
    }
    const blocks = idx.blocks(prompts[Math.floor(rand() * prompts.length)] as string);
    const cache = uid === 'e' ? 7 : undefined;
    idx.insert(uid, blocks, cache);
    model.insert(uid, blocks, cache, caps);
    if (step % 50 !== 0) continue;
    let total = 0;
    for (const [u, list] of model.lru) {
      expect(idx.engineBlocks(u)).toBe(list.length);
      total += list.length;
    }
    expect(idx.size).toBe(total);
    const probe = idx.blocks(prompts[Math.floor(rand() * prompts.length)] as string);
    const expected = new Map<string, number>();
    for (const u of model.lru.keys()) {
      const m = model.matchLength(u, probe);
      expect(idx.matchLength(u, probe)).toBe(m);
      if (m > 0) expected.set(u, m);
    }
    expect(Object.fromEntries(idx.matches(probe))).toEqual(Object.fromEntries(expected));
    for (const h of probe.hashes) {
      const holders = [...model.lru].filter(([, list]) => list.includes(h)).map(([u]) => u);
      expect([...idx.holders(h)].sort()).toEqual(holders.sort());
    }
  }
});
