import { describe, expect, it } from 'vitest';
import { ArcPolicy } from '../../../src/kvcache/eviction/arc.js';

const all = () => true;

describe('ArcPolicy', () => {
  it('admits into T1, moves a hit to T2, and evicts T1 in LRU order while T1 is over target', () => {
    const p = new ArcPolicy({ capacity: 8, initialRecency: 0 });
    for (let id = 0; id < 4; id++) p.insert(id, 100 + id);
    p.touch(2);
    expect(p.queueSizes).toMatchObject({ t1: 3, t2: 1 });
    expect(p.counters().promotions).toBe(1);
    expect(p.evict(all)).toBe(0);
    expect(p.lastQueue).toBe('small');
    expect(p.evict(all)).toBe(1);
    expect(p.evict(all)).toBe(3);
    expect(p.evict(all)).toBe(2); // T1 empty: T2
    expect(p.lastQueue).toBe('main');
    expect(p.queueSizes).toMatchObject({ b1: 3, b2: 1 });
  });

  it('grows the T1 target on a B1 ghost hit and shrinks it on a B2 hit; both come back into T2', () => {
    const p = new ArcPolicy({ capacity: 4, initialRecency: 0.5 });
    for (let id = 0; id < 4; id++) p.insert(id, 100 + id);
    expect(p.evict(all)).toBe(0); // |T1| = 4 > p = 2
    expect(p.insert(0, 100)).toBe(true); // B1 hit
    expect(p.recencyShare).toBeCloseTo(0.75);
    expect(p.queueSizes).toMatchObject({ t1: 3, t2: 1 });
    p.touch(1);
    p.touch(2); // T1 = [3], T2 = [0, 1, 2]; |T1| ≤ p: T2 goes first
    expect(p.evict(all)).toBe(0);
    expect(p.queueSizes.b2).toBe(1);
    expect(p.insert(0, 100)).toBe(true); // B2 hit
    expect(p.recencyShare).toBeCloseTo(0.5);
    expect(p.counters().ghostHits).toBe(2);
  });

  it('resists a scan: one-off blocks pass through T1 and the reused blocks in T2 stay', () => {
    const p = new ArcPolicy({ capacity: 20, initialRecency: 0 });
    for (let id = 0; id < 10; id++) {
      p.insert(id, id);
      p.touch(id);
    }
    const evicted = new Set<number>();
    let next = 10;
    for (let i = 0; i < 1000; i++) {
      if (next < 20) {
        p.insert(next, 1000 + i);
        next++;
        continue;
      }
      const v = p.evict(all);
      evicted.add(v);
      p.insert(v, 1000 + i);
    }
    for (let id = 0; id < 10; id++) expect(evicted.has(id)).toBe(false);
  });

  it('takes a T1 leaf after 32 refusals at T2’s end instead of walking all of T2', () => {
    const p = new ArcPolicy({ capacity: 200, initialRecency: 1 });
    for (let id = 0; id < 100; id++) {
      p.insert(id, id);
      p.touch(id); // T2: the prefixes
    }
    p.insert(100, 100); // T1: a leaf
    let calls = 0;
    const onlyLeaf = (id: number) => {
      calls++;
      return id === 100;
    };
    expect(p.evict(onlyLeaf)).toBe(100);
    expect(calls).toBeLessThanOrEqual(40);
  });

  it('never loops: -1 within the budget when every entry is refused', () => {
    const p = new ArcPolicy({ capacity: 3000 });
    for (let i = 0; i < 3000; i++) {
      p.insert(i, i);
      if (i % 2) p.touch(i);
    }
    let calls = 0;
    const never = () => {
      calls++;
      return false;
    };
    for (let round = 0; round < 4; round++) expect(p.evict(never, 100)).toBe(-1);
    expect(calls).toBeLessThanOrEqual(4 * (100 * 8 + 2));
    expect(p.size).toBe(3000);
  });

  it('holds 23 bytes per entry of capacity and reports the policy name', () => {
    const p = new ArcPolicy({ capacity: 10_000 });
    expect(p.memoryBytes / 10_000).toBeLessThanOrEqual(23.01);
    expect(p.name).toBe('arc');
  });

  it('rejects an initial recency share outside [0, 1]', () => {
    expect(() => new ArcPolicy({ capacity: 4, initialRecency: 1.5 })).toThrow(/ARC initial recency share/);
  });
});

describe('ArcPolicy with fingerprints read back at eviction', () => {
  it('keeps no per-entry fingerprint and still recognises ghosts', () => {
    const fp = (id: number) => 1000 + id;
    const p = new ArcPolicy({ capacity: 10_000, fingerprintOf: fp });
    expect(p.memoryBytes / 10_000).toBeLessThanOrEqual(18.01);
    p.insert(1, 0);
    expect(p.evict(() => true)).toBe(1);
    // A new entry with the evicted one's fingerprint is a ghost hit.
    expect(p.insert(2, fp(1))).toBe(true);
  });
});
