import { describe, expect, it } from 'vitest';
import { flag, labeled, mhzToHertz, onlyFor, percentToRatio, single, wholeMib } from '../../../src/accel/probes/series.js';
import { gpu, npu } from '../helpers/snapshot.js';

describe('series helpers', () => {
  it('keep undefined as undefined through every conversion', () => {
    expect([wholeMib(undefined), percentToRatio(undefined), mhzToHertz(undefined), flag(undefined)]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('convert units', () => {
    expect(wholeMib(3 * 1024 * 1024 - 1)).toBe(2);
    expect(percentToRatio(50)).toBe(0.5);
    expect(mhzToHertz(1410)).toBe(1.41e9);
    expect(flag(false)).toBe(0);
  });

  it('drop absent values but keep zeros', () => {
    expect(labeled([[{ a: '1' }, undefined], [{ a: '2' }, 0]])).toEqual([{ labels: { a: '2' }, value: 0 }]);
    expect(single(undefined)).toEqual([]);
    expect(single(0)).toEqual([{ value: 0 }]);
  });

  it('limit a series to one vendor', () => {
    const f = onlyFor('ascend', (d) => single(d.sample.powerW));
    expect(f(npu(0, { powerW: 5 }))).toEqual([{ value: 5 }]);
    expect(f(gpu(0, { powerW: 5 }))).toEqual([]);
  });
});
