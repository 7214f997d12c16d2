import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArcPolicy } from '../../../src/kvcache/eviction/arc.js';
import { blockFingerprint, ChainCache } from '../../../src/kvcache/eviction/chain-cache.js';
import { FifoPolicy } from '../../../src/kvcache/eviction/fifo.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';
import { S3FifoPolicy } from '../../../src/kvcache/eviction/s3fifo.js';
import type { EvictionPolicy, EvictionQueue, PolicyName } from '../../../src/kvcache/eviction/types.js';

const policies: [string, (capacity: number) => EvictionPolicy][] = [
  ['lru', (capacity) => new LruPolicy({ capacity })],
  ['fifo', (capacity) => new FifoPolicy({ capacity })],
  ['s3fifo', (capacity) => new S3FifoPolicy({ capacity })],
  ['s3fifo-10', (capacity) => new S3FifoPolicy({ capacity, smallRatio: 0.1 })],
  ['arc', (capacity) => new ArcPolicy({ capacity })],
  ['arc-0', (capacity) => new ArcPolicy({ capacity, initialRecency: 0 })],
];

/**
 * Requests as paths in a random tree of block ids (so ids are chained like real keys): each request
 * follows `depth` steps from a root, choosing among `fanout` children per block.
 */
const requestsArb = fc.array(fc.record({ root: fc.integer({ min: 0, max: 3 }), path: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 0, maxLength: 12 }) }), { minLength: 1, maxLength: 150 });

function chainOf(root: number, path: readonly number[]): number[] {
  const chain = [root];
  let id = root;
  for (const step of path) chain.push((id = id * 3 + 4 + step));
  return chain;
}

describe('ChainCache', () => {
  it('serves the cached prefix, touches it deepest first and seals the rest root to leaf', () => {
    const log: string[] = [];
    const lru = new LruPolicy({ capacity: 4 });
    const spy: EvictionPolicy = {
      get name(): PolicyName {
        return lru.name;
      },
      get size() {
        return lru.size;
      },
      get lastQueue(): EvictionQueue {
        return lru.lastQueue;
      },
      get memoryBytes() {
        return lru.memoryBytes;
      },
      insert: (id, fp) => (log.push(`insert ${id}`), lru.insert(id, fp)),
      touch: (id) => (log.push(`touch ${id}`), lru.touch(id)),
      remove: (id) => lru.remove(id),
      evict: (canEvict, maxScan) => {
        const v = lru.evict(canEvict, maxScan);
        log.push(`evict ${v}`);
        return v;
      },
      counters: () => lru.counters(),
    };
    const c = new ChainCache(4, spy);
    expect(c.request([10, 11, 12])).toBe(0);
    expect(log.splice(0)).toEqual(['insert 0', 'insert 1', 'insert 2']);
    expect(c.request([10, 11, 13])).toBe(2);
    expect(log.splice(0)).toEqual(['touch 1', 'touch 0', 'insert 3']);
    // Full: 20 needs a victim. LRU order (oldest first): 2 (block 12), 1, 0, 3 → 12 is a leaf.
    expect(c.request([20])).toBe(0);
    expect(log.splice(0)).toEqual(['evict 2', 'insert 2']);
    expect(c.has(12)).toBe(false);
    expect(c.parentOf(13)).toBe(11);
    expect(c.parentOf(10)).toBe(-1);
    expect(c.counters()).toMatchObject({ requests: 3, requestedBlocks: 7, hitBlocks: 2, insertedBlocks: 5, evictions: 1, droppedBlocks: 0 });
    const blocks: number[] = [];
    c.forEach((b) => blocks.push(b));
    expect(blocks.sort((a, b) => a - b)).toEqual([10, 11, 13, 20]);
  });

  it('never evicts a pinned block; when nothing may go it drops the rest of the chain', () => {
    const c = new ChainCache(3, new LruPolicy({ capacity: 3 }));
    c.request([1, 2, 3]);
    c.pin(3);
    expect(c.request([7, 8])).toBe(0); // 3 is pinned, 2 and 1 are parents: nothing may go
    expect(c.counters().droppedBlocks).toBe(2);
    expect(c.has(3)).toBe(true);
    c.unpin(3);
    expect(c.request([7])).toBe(0);
    expect(c.has(3)).toBe(false);
    expect(() => c.unpin(3)).toThrow(/not pinned/);
    expect(() => c.request([-1])).toThrow(/31-bit/);
  });

  it.each(policies)('%s: every cached block’s parent stays cached and hits equal the cached prefix', (_name, make) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), requestsArb, (capacity, requests) => {
        const c = new ChainCache(capacity, make(capacity));
        for (const { root, path } of requests) {
          const chain = chainOf(root, path);
          let expected = 0;
          while (expected < chain.length && c.has(chain[expected] as number)) expected++;
          expect(c.request(chain)).toBe(expected);
          expect(c.size).toBeLessThanOrEqual(capacity);
          expect(c.policy.size).toBe(c.size);
          c.forEach((b) => {
            const parent = b < 4 ? -1 : Math.floor((b - 4) / 3);
            expect(c.parentOf(b)).toBe(parent);
            if (parent >= 0) expect(c.has(parent)).toBe(true);
          });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('fingerprints are non-negative 31-bit and spread', () => {
    const seen = new Set<number>();
    for (let b = 0; b < 10_000; b++) {
      const f = blockFingerprint(b);
      expect(f >= 0 && f <= 0x7fff_ffff).toBe(true);
      seen.add(f);
    }
    expect(seen.size).toBe(10_000);
  });
});
