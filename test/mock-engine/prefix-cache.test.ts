import { describe, expect, it } from 'vitest';
import { KvBlockPool } from '../../src/mock-engine/prefix-cache.js';

describe('KvBlockPool', () => {
  it('accounts private, shared and cached blocks against one capacity', () => {
    const pool = new KvBlockPool(10);
    const held: number[] = [];
    expect(pool.admit([101, 102, 103], 3, 4, held)).toBe(0); // nothing cached yet: 4 private blocks
    expect(pool.freeBlocks()).toBe(6);
    const ids = [101, 102, 103].map((h) => pool.register(h)); // computed prompt blocks get keys
    expect(pool.usedBlocks()).toBe(4);
    expect(pool.freeBlocks()).toBe(6);
    pool.release(ids, 1);
    expect(pool.usedBlocks()).toBe(0);
    expect(pool.cachedBlocks()).toBe(3);
    expect(pool.matchLength([101, 102, 103, 104])).toBe(3);
    expect(pool.matchLength([101, 999, 103])).toBe(1);
  });

  it('matches a prefix up to maxMatch, refusing (with no change) when blocks cannot be found', () => {
    const pool = new KvBlockPool(6);
    const a: number[] = [];
    pool.admit([1, 2, 3], 3, 3, a);
    const aIds = [1, 2, 3].map((h) => pool.register(h));
    pool.release(aIds, 0);
    const b: number[] = [];
    expect(pool.admit([1, 2, 3], 2, 4, b)).toBe(2); // 2 matched, 2 new; 3 stays cached
    expect(b).toHaveLength(2);
    expect(pool.cachedBlocks()).toBe(1);
    expect(pool.freeBlocks()).toBe(1);
    const c: number[] = [];
    expect(pool.admit([7, 8], 2, 3, c)).toBe(-1); // 1 free + 1 evictable < 3
    expect(c).toEqual([]);
    expect(pool.cachedBlocks()).toBe(1);
    expect(pool.admit([7, 8], 2, 2, c)).toBe(0); // evicts block 3
    expect(pool.evictions).toBe(1);
    expect(pool.matchLength([1, 2, 3])).toBe(2);
    expect(pool.allocate()).toBe(false);
  });

  it('reports evictions and new keys, and clears the cache only when no sequence holds a keyed block', () => {
    const evicted: number[] = [];
    const pool = new KvBlockPool(2, (h) => evicted.push(h));
    const held: number[] = [];
    expect(pool.admit([1, 2], 0, 2, held)).toBe(0);
    held.push(pool.register(1));
    expect(pool.created).toBe(true);
    held.push(pool.register(2));
    expect(pool.clearCached()).toBe(false);
    pool.release(held, 0);
    const other: number[] = [];
    expect(pool.admit([3], 0, 1, other)).toBe(0);
    expect(evicted).toEqual([2]);
    pool.release(other, 1);
    expect(pool.clearCached()).toBe(true);
    expect(pool.matchLength([1])).toBe(0);
    expect(pool.freeBlocks()).toBe(2);
    expect(evicted).toEqual([2]);
  });

  it('dedupes a block another sequence keyed first', () => {
    const pool = new KvBlockPool(8);
    const x: number[] = [];
    const y: number[] = [];
    pool.admit([5, 6], 2, 2, x);
    pool.admit([5, 6], 2, 2, y); // admitted together: no match yet, both private
    expect(pool.freeBlocks()).toBe(4);
    const xi = [pool.register(5), pool.register(6)];
    const yi = [pool.register(5), pool.register(6)];
    expect(yi).toEqual(xi);
    expect(pool.freeBlocks()).toBe(6);
    pool.release(xi, 0);
    expect(pool.usedBlocks()).toBe(2);
    pool.release(yi, 0);
    expect(pool.cachedBlocks()).toBe(2);
  });

  it('keeps its hash table consistent through many inserts and evictions (against a Map)', () => {
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const pool = new KvBlockPool(64);
    const live = new Set<number>();
    const order: number[] = []; // LRU order of cached hashes
    for (let step = 0; step < 5000; step++) {
      // Keys crowd a few table slots on purpose: many share their low bits.
      const h = Math.floor(rnd() * 300) * 2 ** 32 + (Math.floor(rnd() * 4) << 10);
      const ids: number[] = [];
      const m = pool.admit([h], 1, 1, ids);
      expect(m).toBe(live.has(h) ? 1 : 0);
      if (m === 0) {
        ids.push(pool.register(h));
        if (order.length === 64) live.delete(order.shift() as number); // the pool evicted its LRU entry
        live.add(h);
      } else {
        order.splice(order.indexOf(h), 1);
      }
      pool.release(ids, 0);
      order.push(h);
      expect(pool.cachedBlocks()).toBe(live.size);
    }
    for (const h of live) expect(pool.matchLength([h])).toBe(1);
    expect(pool.matchLength([12345])).toBe(0);
  });
});
