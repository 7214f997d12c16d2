import { describe, expect, it } from 'vitest';
import { S3FifoPolicy } from '../../../src/kvcache/eviction/s3fifo.js';

const all = () => true;

describe('S3FifoPolicy', () => {
  it('admits into S, evicts S in FIFO order into the ghost, and a ghost hit re-enters M', () => {
    const p = new S3FifoPolicy({ capacity: 10 });
    for (let id = 0; id < 4; id++) expect(p.insert(id, 100 + id)).toBe(false);
    expect(p.queueSizes).toMatchObject({ small: 4, main: 0, ghost: 0 });
    expect(p.evict(all)).toBe(0);
    expect(p.lastQueue).toBe('small');
    expect(p.queueSizes.ghost).toBe(1);
    expect(p.insert(0, 100)).toBe(true); // ghost hit
    expect(p.queueSizes).toMatchObject({ small: 3, main: 1, ghost: 0 });
    expect(p.counters().ghostHits).toBe(1);
  });

  it('promotes an S entry hit since insertion when it reaches the tail, frequency reset', () => {
    const p = new S3FifoPolicy({ capacity: 10 });
    for (let id = 0; id < 4; id++) p.insert(id, id);
    p.touch(0);
    expect(p.evict(all)).toBe(1); // 0 promoted on the way
    expect(p.counters().promotions).toBe(1);
    expect(p.queueSizes).toMatchObject({ small: 2, main: 1 });
    // With S empty, M is next: 0 lost its frequency when promoted, so it goes without a second chance.
    expect(p.evict(all)).toBe(2);
    expect(p.evict(all)).toBe(3);
    expect(p.evict(all)).toBe(0);
    expect(p.lastQueue).toBe('main');
  });

  it('reinserts a hit M entry with frequency − 1: 2 bits give three passes, 1 bit one', () => {
    const run = (freqBits: 1 | 2) => {
      const p = new S3FifoPolicy({ capacity: 4, smallRatio: 0.25, freqBits });
      p.insert(0, 101);
      p.insert(1, 102);
      p.evict(all);
      p.evict(all); // 101, 102 are ghosts now
      p.insert(2, 101); // B, into M
      p.insert(3, 102); // C, into M
      p.insert(0, 103); // E, into S
      for (let i = 0; i < 3; i++) p.touch(2);
      expect(p.evict(all)).toBe(0); // S first
      expect(p.evict(all)).toBe(3); // B goes round, C goes
      p.insert(1, 103); // F, a ghost hit: M = [B, F]
      return p.evict(all);
    };
    expect(run(2)).toBe(1); // B still has frequency left: F goes
    expect(run(1)).toBe(2); // B's single bit was spent: B goes
  });

  it('bounds the ghost by entry count (M target size = capacity − small share)', () => {
    const p = new S3FifoPolicy({ capacity: 100, smallRatio: 0.3 });
    const { ghostCapacity } = p.queueSizes;
    expect(ghostCapacity).toBe(70);
    let id = 0;
    for (let i = 0; i < 10_000; i++) {
      if (p.size === 100) id = p.evict(all);
      else id = p.size;
      p.insert(id, 1000 + i);
      expect(p.queueSizes.ghost).toBeLessThanOrEqual(ghostCapacity);
    }
    expect(p.queueSizes.ghost).toBe(70);
  });

  it('defers a refused S entry once, then promotes it; returns -1 when nothing may go', () => {
    const p = new S3FifoPolicy({ capacity: 3 });
    p.insert(0, 0);
    p.insert(1, 1);
    const notZero = (id: number) => id !== 0;
    expect(p.evict(notZero)).toBe(1);
    expect(p.evict(notZero)).toBe(-1); // 0 refused twice: promoted to M, where it is deferred
    expect(p.queueSizes).toMatchObject({ small: 0, main: 1 });
    expect(p.counters().promotions).toBe(1);
    expect(p.evict(all)).toBe(0);
  });

  it('never loops: -1 within the budget when every entry is refused, entries kept', () => {
    const p = new S3FifoPolicy({ capacity: 3000 });
    for (let i = 0; i < 3000; i++) {
      p.insert(i, i);
      if (i % 3 === 0) p.touch(i);
    }
    let calls = 0;
    const never = () => {
      calls++;
      return false;
    };
    for (let round = 0; round < 4; round++) expect(p.evict(never, 100)).toBe(-1);
    expect(calls).toBeLessThanOrEqual(4 * (3000 + 100 * 8 + 1));
    expect(p.size).toBe(3000);
  });

  it('evicts a fresh chain leaf first in O(length) canEvict calls', () => {
    const L = 400;
    const p = new S3FifoPolicy({ capacity: L });
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
    for (let i = L - 1; i >= 0; i--) {
      expect(p.evict(leaf)).toBe(i);
      cached[i] = 0;
    }
    expect(calls).toBeLessThan(4 * L);
  });

  it('keeps 20 bytes per entry of capacity at a 30 % small queue', () => {
    expect(new S3FifoPolicy({ capacity: 10_000 }).memoryBytes / 10_000).toBeLessThanOrEqual(20.01);
  });

  it('rejects a small ratio outside (0, 1)', () => {
    expect(() => new S3FifoPolicy({ capacity: 10, smallRatio: 1 })).toThrow(/small-queue ratio/);
  });
});

describe('S3FifoPolicy with fingerprints read back at eviction', () => {
  it('keeps no per-entry fingerprint and still recognises ghosts', () => {
    const fp = (id: number) => 5000 + id;
    const p = new S3FifoPolicy({ capacity: 10_000, fingerprintOf: fp });
    expect(p.memoryBytes / 10_000).toBeLessThanOrEqual(15.4);
    p.insert(1, 0);
    expect(p.evict(() => true)).toBe(1);
    expect(p.insert(2, fp(1))).toBe(true);
  });
});
