import { describe, expect, it } from 'vitest';
import { SlotAllocator, slotSizeFor } from '../../src/kvcache/allocator.js';

const MiB = 1 << 20;

describe('SlotAllocator', () => {
  it('rounds block sizes to 4 KiB slots', () => {
    expect(slotSizeFor(1)).toBe(4096);
    expect(slotSizeFor(4096)).toBe(4096);
    expect(slotSizeFor(1.5 * MiB + 1)).toBe(1.5 * MiB + 4096);
  });

  it('hands out non-overlapping, aligned slots inside the slabs until full', () => {
    const a = new SlotAllocator(16 * MiB, 2, 4 * MiB);
    const c = a.classFor(slotSizeFor(1.5 * MiB));
    const seen: { slab: number; offset: number }[] = [];
    for (;;) {
      const s = a.take(c);
      if (s < 0) break;
      seen.push(a.where(s));
    }
    // 8 pages × 2 slots of 1.5 MiB.
    expect(seen).toHaveLength(16);
    const size = a.slotSizeOf(c);
    for (const l of seen) {
      expect(l.offset % 4096).toBe(0);
      expect(l.offset + size).toBeLessThanOrEqual(16 * MiB);
      expect(l.slab === 0 || l.slab === 1).toBe(true);
    }
    const sorted = seen.map((l) => l.slab * 16 * MiB + l.offset).sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i++) expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(size);
    expect(a.allocatedBytes).toBe(16 * size);
  });

  it('moves empty pages to another block size', () => {
    const a = new SlotAllocator(8 * MiB, 1, 4 * MiB);
    const big = a.classFor(4 * MiB);
    const small = a.classFor(1 * MiB);
    const s1 = a.take(big);
    const s2 = a.take(big);
    expect(a.take(big)).toBe(-1);
    expect(a.take(small)).toBe(-1);
    a.free(s1);
    const got = [a.take(small), a.take(small), a.take(small), a.take(small)];
    expect(got.every((s) => s >= 0)).toBe(true);
    expect(a.take(small)).toBe(-1);
    a.free(s2);
    expect(a.take(small)).toBeGreaterThanOrEqual(0);
  });

  it('refuses double frees', () => {
    const a = new SlotAllocator(4 * MiB, 1, 4 * MiB);
    const c = a.classFor(MiB);
    const s = a.take(c);
    a.free(s);
    a.free(a.take(c));
    expect(() => {
      a.free(a.take(c));
      a.free(s);
      a.free(s);
      a.free(s);
      a.free(s);
    }).toThrow();
  });
});
