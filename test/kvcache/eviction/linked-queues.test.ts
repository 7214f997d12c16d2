import { describe, expect, it } from 'vitest';
import { LinkedQueues, NIL } from '../../../src/kvcache/eviction/linked-queues.js';

/** Queue q from tail (oldest) to head. */
function order(l: LinkedQueues, q: number): number[] {
  const out: number[] = [];
  for (let id = l.tail(q); id !== NIL; id = l.newerOf(id)) out.push(id);
  return out;
}

describe('LinkedQueues', () => {
  it('keeps FIFO order per queue, unlinks anywhere and tracks sizes and membership', () => {
    const l = new LinkedQueues(8, 2);
    for (const id of [3, 1, 4]) l.pushHead(0, id);
    l.pushHead(1, 5);
    expect(order(l, 0)).toEqual([3, 1, 4]);
    expect(order(l, 1)).toEqual([5]);
    expect([l.size(0), l.size(1)]).toEqual([3, 1]);
    l.unlink(0, 1);
    expect(order(l, 0)).toEqual([3, 4]);
    expect(l.olderOf(4)).toBe(3);
    expect(l.has(1)).toBe(false);
    l.unlink(0, 3);
    l.unlink(0, 4);
    expect(l.tail(0)).toBe(NIL);
    expect(l.size(0)).toBe(0);
    l.pushHead(0, 1);
    expect(order(l, 0)).toEqual([1]);
    expect(l.byteLength).toBe(8 * 8 + 3 * 2 * 4);
  });
});
