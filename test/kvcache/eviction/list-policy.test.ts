// Behaviour LRU and FIFO share through ListPolicy: deferring refused candidates, leaf-first chains,
// the scan budget and the memory bound.
import { describe, expect, it } from 'vitest';
import { FifoPolicy } from '../../../src/kvcache/eviction/fifo.js';
import type { ListPolicy } from '../../../src/kvcache/eviction/list-policy.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';

const kinds: [string, (capacity: number) => ListPolicy][] = [
  ['lru', (capacity) => new LruPolicy({ capacity })],
  ['fifo', (capacity) => new FifoPolicy({ capacity })],
];

describe.each(kinds)('%s (ListPolicy)', (_name, make) => {
  it('defers a refused candidate in place, then treats it as recently used on a second refusal', () => {
    const p = make(8);
    for (const id of [0, 1, 2, 3]) p.insert(id, id);
    expect(p.evict((id) => id !== 0)).toBe(1); // 0 marked, keeps its age
    expect(p.evict(() => true)).toBe(0); // still the oldest
    for (const id of [0, 1]) p.insert(id, id); // order now 2 3 0 1
    expect(p.evict((id) => id !== 2)).toBe(3);
    expect(p.evict((id) => id !== 2)).toBe(0); // 2 refused twice: moved to the head
    expect(p.evict(() => true)).toBe(1);
    expect(p.evict(() => true)).toBe(2);
    expect(p.size).toBe(0);
    expect(p.counters().evictions[p.lastQueue]).toBe(6);
  });

  it('evicts a chain sealed root to leaf leaf first, in O(length) canEvict calls', () => {
    const L = 500;
    const p = make(L);
    const cached = new Uint8Array(L + 1);
    for (let i = 0; i < L; i++) {
      p.insert(i, i);
      cached[i] = 1;
    }
    let calls = 0;
    const leaf = (id: number) => {
      calls++;
      return cached[id + 1] === 0;
    };
    const order: number[] = [];
    for (let i = 0; i < L; i++) {
      const v = p.evict(leaf);
      cached[v] = 0;
      order.push(v);
    }
    expect(order).toEqual(Array.from({ length: L }, (_, i) => L - 1 - i));
    expect(calls).toBeLessThan(4 * L);
  });

  it('returns -1 when nothing may go, within the scan budget, and loses nothing', () => {
    const p = make(5000);
    for (let i = 0; i < 5000; i++) p.insert(i, i);
    let calls = 0;
    const never = () => {
      calls++;
      return false;
    };
    for (let round = 0; round < 5; round++) {
      calls = 0;
      expect(p.evict(never, 64)).toBe(-1);
      expect(calls).toBeLessThanOrEqual(64 * 8 + 1);
    }
    expect(p.size).toBe(5000);
    expect(p.evict(() => true, 0)).toBe(-1);
  });

  it('removes without recording, rejects a double insert, ignores hits on absent entries', () => {
    const p = make(4);
    p.insert(1, 1);
    p.insert(2, 2);
    expect(() => p.insert(1, 1)).toThrow(/inserted twice/);
    p.remove(1);
    p.touch(3);
    expect(p.size).toBe(1);
    expect(p.evict(() => true)).toBe(2);
    expect(p.evict(() => true)).toBe(-1);
  });

  it('holds 9 bytes per entry of capacity', () => {
    expect(make(1000).memoryBytes).toBeLessThanOrEqual(9 * 1000 + 16);
  });
});
