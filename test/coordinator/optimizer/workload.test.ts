import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { parseWorkload, snapTick } from '../../../src/coordinator/optimizer/workload.js';

const grid = { outputs: [4, 8, 16], inputs: [128, 256] };

describe('parseWorkload', () => {
  it('snaps shapes to the nearest tick in log2 space and normalises shares', () => {
    const w = parseWorkload(JSON.stringify({ rate: 20, cells: [{ output: 11, input: 256, share: 1 }, { output: 12, input: 180, share: 1 }, { output: 16, input: 128, share: 2 }] }), grid);
    expect(w.rate).toBe(20);
    // 11 is nearer 8 than 16 in log2 (3.46 vs 3 and 4); 12 is nearer 16; 180 nearer 128 (7.49 vs 7 and 8).
    expect([...w.shares]).toEqual([0, 0, 0, 0.25, 0.25 + 0.5, 0]);
    expect(w.clamped).toEqual([]);
  });
  it('clamps shapes beyond the grid to its edge and reports each', () => {
    const w = parseWorkload(JSON.stringify({ rate: 1, cells: [{ output: 2, input: 4096, share: 1 }] }), grid);
    expect([...w.shares]).toEqual([0, 1, 0, 0, 0, 0]);
    expect(w.clamped).toEqual(['cells[0] output 2 × input 4096 is outside the grid; counted at output 4 × input 256']);
  });
  it('snapTick flags only values past the first or last tick', () => {
    expect(snapTick([4, 8], 4)).toEqual({ index: 0, clamped: false });
    expect(snapTick([4, 8], 9)).toEqual({ index: 1, clamped: true });
  });
  it.each([
    ['not JSON', 'rate: 1', /not JSON/],
    ['a negative rate', '{"rate": -1, "cells": []}', /rate = -1/],
    ['no cells', '{"rate": 1}', /cells must be an array/],
    ['a zero token count', '{"rate": 1, "cells": [{"output": 0, "input": 128, "share": 1}]}', /cells\[0\]\.output = 0/],
    ['a negative share', '{"rate": 1, "cells": [{"output": 4, "input": 128, "share": -1}]}', /cells\[0\]\.share = -1/],
    ['load with no share', '{"rate": 1, "cells": [{"output": 4, "input": 128, "share": 0}]}', /no cell has a share/],
  ])('rejects %s with BRX_ERR_OPTIMIZER_WORKLOAD', (_n, text, why) => {
    let err: unknown;
    try {
      parseWorkload(text, grid, 'w.json');
    } catch (e) {
      err = e;
    }
    expect(isBrixletError(err, 'BRX_ERR_OPTIMIZER_WORKLOAD')).toBe(true);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toContain('w.json');
  });
});
