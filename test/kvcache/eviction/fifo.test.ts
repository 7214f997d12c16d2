import { describe, expect, it } from 'vitest';
import { FifoPolicy } from '../../../src/kvcache/eviction/fifo.js';

describe('FifoPolicy', () => {
  it('evicts in insertion order whatever the hits', () => {
    const p = new FifoPolicy({ capacity: 8 });
    for (const id of [5, 1, 7]) p.insert(id, id);
    p.touch(5);
    p.touch(5);
    expect([p.evict(() => true), p.evict(() => true), p.evict(() => true)]).toEqual([5, 1, 7]);
    expect(p.name).toBe('fifo');
    expect(p.counters()).toEqual({ ghostHits: 0, promotions: 0, evictions: { fifo: 3 } });
  });
});
