import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GhostFifo } from '../../../src/kvcache/eviction/ghost.js';

describe('GhostFifo', () => {
  it('forgets in exact FIFO order, keeps tags and never holds more than its capacity', () => {
    const g = new GhostFifo(3);
    g.add(10, 0);
    g.add(11, 1);
    g.add(12, 0);
    expect(g.size).toBe(3);
    expect([g.count(0), g.count(1)]).toEqual([2, 1]);
    g.add(13, 0); // forgets 10, the oldest
    expect(g.has(10)).toBe(false);
    expect(g.has(11) && g.has(12) && g.has(13)).toBe(true);
    expect(g.size).toBe(3);
    expect(g.take(11)).toBe(1);
    expect(g.take(11)).toBe(-1);
    expect(g.size).toBe(2);
    g.add(14, 0); // takes 11's slot, which was next to go: the hole aged out, nothing live is lost
    expect([12, 13, 14].map((f) => g.has(f))).toEqual([true, true, true]);
    g.add(15, 0);
    expect([12, 13, 14, 15].map((f) => g.has(f))).toEqual([false, true, true, true]);
  });

  it('ignores a fingerprint it already holds, and handles the largest fingerprint', () => {
    const g = new GhostFifo(4);
    g.add(7, 0);
    g.add(7, 1);
    expect(g.size).toBe(1);
    g.add(0x7fff_ffff, 1);
    expect(g.has(0x7fff_ffff)).toBe(true);
    expect(g.take(0x7fff_ffff)).toBeGreaterThanOrEqual(0);
    expect(g.has(0x7fff_ffff)).toBe(false);
  });

  it('matches a reference FIFO under random adds and takes (colliding fingerprints included)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 }), fc.constantFrom<0 | 1>(0, 1)), { maxLength: 400 }),
        (cap, ops) => {
          const g = new GhostFifo(cap);
          // Reference: ring slots in write order; a take leaves a hole that still ages out.
          const ring: (number | undefined)[] = [];
          const tags = new Map<number, number>();
          for (const [isAdd, fp, tag] of ops) {
            if (isAdd) {
              if (tags.has(fp)) continue;
              if (ring.length === cap) {
                const old = ring.shift();
                if (old !== undefined) tags.delete(old);
              }
              ring.push(fp);
              tags.set(fp, tag);
              g.add(fp, tag);
            } else {
              const want = tags.get(fp) ?? -1;
              expect(g.take(fp)).toBe(want);
              if (want >= 0) {
                tags.delete(fp);
                ring[ring.indexOf(fp)] = undefined;
              }
            }
            expect(g.size).toBe(tags.size);
            expect(g.size).toBeLessThanOrEqual(g.capacity);
          }
          for (let fp = 0; fp <= 60; fp++) expect(g.has(fp)).toBe(tags.has(fp));
        },
      ),
      { numRuns: 300 },
    );
  });
});
