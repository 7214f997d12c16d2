import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { checkGridsAgree, parseProfile, PROFILE_MAX_TICKS } from '../../../src/coordinator/optimizer/profiles.js';

const base = () => ({ gpu: 'a10', cost: 0.5, indexes: [[4, 8], [128, 256, 512]], tputs: [[10, 5, 2.5], [9, 4, 0]] });
const text = (o: unknown) => JSON.stringify(o);

function code(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isBrixletError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseProfile', () => {
  it('reads an AIBrix profile into row-major cells (row = output tick)', () => {
    const { profile, warnings } = parseProfile(text({ ...base(), created: 1732598726.2, slos: { percentile: 99, e2e: 5 }, e2e: [[1, 2, 3], [4, 5, 6]] }), 'a10.json');
    expect(warnings).toEqual([]);
    expect(profile.gpu).toBe('a10');
    expect(profile.grid).toEqual({ outputs: [4, 8], inputs: [128, 256, 512] });
    expect([...profile.tputs]).toEqual([10, 5, 2.5, 9, 4, 0]);
    expect(profile.slos).toEqual({ percentile: 99, e2e: 5 });
    expect(profile.created).toBe(1732598726.2);
    expect([...(profile.e2e ?? [])]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('accepts NaN, null, missing, infinite and negative cells as infeasible and names each cell', () => {
    // Python's json.dumps writes NaN and Infinity as bare words (AIBrix #1567).
    const raw = '{"gpu": "a10", "cost": 1, "indexes": [[4, 8], [128, 256, 512]], "tputs": [[NaN, 5, null], [-1, Infinity]], "note": "NaN stays in strings"}';
    const { profile, warnings } = parseProfile(raw, 'a10.json');
    expect([...profile.tputs]).toEqual([0, 5, 0, 0, 0, 0]);
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toContain('output 4 × input 128');
    expect(warnings[2]).toContain('output 8 × input 128');
    expect(warnings[4]).toMatch(/output 8 × input 512 is missing/);
  });

  it.each([
    ['not JSON', '{"gpu": ', /not JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['no gpu', text({ ...base(), gpu: '' }), /gpu must be/],
    ['a negative cost', text({ ...base(), cost: -1 }), /cost = -1/],
    ['a string cost', text({ ...base(), cost: '1' }), /cost = "1"/],
    ['a NaN cost', '{"gpu":"a","cost":NaN,"indexes":[[4],[8]],"tputs":[[1]]}', /cost = null/],
    ['indexes of one axis', text({ ...base(), indexes: [[4, 8]] }), /indexes must be/],
    ['descending ticks', text({ ...base(), indexes: [[8, 4], [128, 256, 512]] }), /indexes\[0\] \(outputs\) is not ascending: 8 then 4/],
    ['a zero tick', text({ ...base(), indexes: [[4, 8], [0, 256, 512]] }), /indexes\[1\] \(inputs\)\[0\] = 0/],
    ['too few rows', text({ ...base(), tputs: [[1, 2, 3]] }), /tputs has 1 rows, indexes has 2 output ticks/],
    ['a long row', text({ ...base(), tputs: [[1, 2, 3, 4], [1, 2, 3]] }), /tputs\[0\] has 4 values, indexes has 3 input ticks/],
    ['a string cell', text({ ...base(), tputs: [[1, 'x', 3], [1, 2, 3]] }), /tputs\[0\]\[1\] = "x"/],
    ['too many ticks', text({ ...base(), indexes: [Array.from({ length: PROFILE_MAX_TICKS + 1 }, (_, k) => k + 1), [1]] }), /at most 64/],
    ['too many bytes', ' '.repeat(1024 * 1024 + 1), /larger than/],
  ])('rejects %s with BRX_ERR_OPTIMIZER_PROFILE naming the field', (_name, raw, why) => {
    const e = code(() => parseProfile(raw, 'p.json'));
    expect(e.code).toBe('BRX_ERR_OPTIMIZER_PROFILE');
    expect(e.message).toContain('p.json');
    expect(e.message).toMatch(why);
  });
});

describe('checkGridsAgree', () => {
  const a = parseProfile(text(base())).profile;
  it('accepts profiles on one grid', () => {
    expect(() => checkGridsAgree([a, parseProfile(text({ ...base(), gpu: 'l20' })).profile])).not.toThrow();
  });
  it('names both profiles and the differing ticks', () => {
    const b = parseProfile(text({ ...base(), gpu: 'l20', indexes: [[4, 8], [128, 256, 1024]] })).profile;
    const e = code(() => checkGridsAgree([a, b]));
    expect(e.code).toBe('BRX_ERR_OPTIMIZER_GRID_MISMATCH');
    expect(e.message).toBe('profiles a10 and l20 are on different grids: inputs ticks [128, 256, 512] vs [128, 256, 1024]');
  });
  it('refuses two profiles of one GPU type', () => {
    expect(code(() => checkGridsAgree([a, a])).code).toBe('BRX_ERR_OPTIMIZER_PROFILE');
  });
});
