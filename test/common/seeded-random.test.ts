import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/common/seeded-random.js';

describe('seededRandom', () => {
  it('gives the mulberry32 sequence for a seed, so seeded benchmarks and tests keep their draws', () => {
    const r = seededRandom(42);
    expect([r(), r(), r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]);
    const z = seededRandom(0);
    expect([z(), z(), z()]).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
  });

  it('repeats for the same seed, uses only its low 32 bits and differs across seeds', () => {
    const draws = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 64 }, () => r());
    };
    expect(draws(7)).toEqual(draws(7));
    expect(draws(-1)).toEqual(draws(0xffff_ffff));
    expect(draws(2 ** 32 + 7)).toEqual(draws(7));
    expect(draws(7)).not.toEqual(draws(8));
  });

  it('stays in [0, 1) and spreads over it', () => {
    const r = seededRandom(123);
    const bins = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r();
      if (!(x >= 0 && x < 1)) outside++;
      else bins[Math.floor(x * 10)]! += 1;
    }
    expect(outside).toBe(0);
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(600);
  });
});
