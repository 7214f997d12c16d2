import { describe, expect, it } from 'vitest';
import { fieldSeries } from '../../../src/accel/probes/probe.js';

describe('fieldSeries', () => {
  it('omits a field that was not read rather than exporting 0', () => {
    expect(fieldSeries(undefined)).toEqual([]);
    expect(fieldSeries(undefined, 1000)).toEqual([]);
  });

  it('exports a read 0 as 0: zero is a value, not a missing field', () => {
    expect(fieldSeries(0)).toEqual([{ value: 0 }]);
  });

  it('scales numbers into the family\'s unit', () => {
    expect(fieldSeries(312.45, 1000)).toEqual([{ value: 312450 }]);
    expect(fieldSeries(1024, 1 / 1024)).toEqual([{ value: 1 }]);
  });

  it('exports booleans as 1 and 0, never scaled', () => {
    expect(fieldSeries(true, 1000)).toEqual([{ value: 1 }]);
    expect(fieldSeries(false)).toEqual([{ value: 0 }]);
  });

  it('adds no labels of its own', () => {
    expect(fieldSeries(5)[0]?.labels).toBeUndefined();
  });
});
