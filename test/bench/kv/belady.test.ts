import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { belady, nextUses } from '../../../bench/kv/belady.js';
import { replayPolicy } from '../../../bench/kv/replay.js';
import { packWorkload } from '../../../bench/kv/workload.js';
import { ArcPolicy } from '../../../src/kvcache/eviction/arc.js';
import { FifoPolicy } from '../../../src/kvcache/eviction/fifo.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';
import { S3FifoPolicy } from '../../../src/kvcache/eviction/s3fifo.js';

describe('belady', () => {
  it('knows each position’s next use, never-again keys being distinct and above every real one', () => {
    const next = nextUses(Int32Array.from([5, 6, 5, 7, 6]));
    expect(Array.from(next)).toEqual([2, 4, 5 + 2, 5 + 3, 5 + 4]);
  });

  it('keeps the block used soonest: hand-checked', () => {
    // Capacity 2. [1] [2] [3] [1] [2]: at [3] it evicts 2 (next use at 4) rather than 1 (at 3).
    const w = packWorkload('t', [[1], [2], [3], [1], [2]]);
    expect(Array.from(belady(w, 2).hits)).toEqual([0, 0, 0, 1, 0]);
    // Chains: [1 2 3] then [1 2 4]: 1 and 2 hit with room for 3 blocks.
    expect(Array.from(belady(packWorkload('c', [[1, 2, 3], [9], [1, 2, 4]]), 3).hits)).toEqual([0, 0, 2]);
  });

  it('is a ceiling: never below LRU, FIFO, S3-FIFO or ARC on random chained traffic', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.record({ root: fc.integer({ min: 0, max: 3 }), path: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 8 }) }), { minLength: 1, maxLength: 80 }),
        (capacity, reqs) => {
          const chains = reqs.map(({ root, path }) => {
            const c = [root];
            for (const s of path) c.push((c[c.length - 1] as number) * 3 + 4 + s);
            return c;
          });
          const w = packWorkload('r', chains);
          const best = belady(w, capacity).hitBlocks;
          for (const p of [new LruPolicy({ capacity }), new FifoPolicy({ capacity }), new S3FifoPolicy({ capacity }), new ArcPolicy({ capacity })]) {
            const r = replayPolicy(w, capacity, p);
            expect(best).toBeGreaterThanOrEqual(Math.round((r.all / 100) * w.blocks.length));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
