import { describe, expect, it } from 'vitest';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';

describe('LruPolicy', () => {
  it('evicts the least recently used entry; a hit moves it to the head', () => {
    const p = new LruPolicy({ capacity: 8 });
    for (const id of [0, 1, 2, 3]) p.insert(id, id);
    p.touch(1);
    p.touch(0);
    const order = [0, 1, 2, 3].map(() => p.evict(() => true));
    expect(order).toEqual([2, 3, 1, 0]);
    expect(p.name).toBe('lru');
    expect(p.lastQueue).toBe('lru');
  });
});
