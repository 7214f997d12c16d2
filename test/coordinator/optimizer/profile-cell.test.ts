// AIBrix's profile cell rule on synthetic rows: the SLO at the chosen statistic, saturation,
// largest non-saturated rate, smallest qualifying when all saturate, 0 (undefined) when none.
import { describe, expect, it } from 'vitest';
import { chooseCellRow, isSaturated, latencyStats, meetsSlo, parseSloBounds, type ProfileRow, type ProfileSlo } from '../../../src/coordinator/optimizer/profile-cell.js';

const stats = (mean: number, p99 = mean * 2) => ({ min: mean / 2, mean, p50: mean, p90: mean * 1.5, p99 });

function row(rate: number, tput: number, e2eMean: number, extra: Partial<ProfileRow> = {}): ProfileRow {
  return { input: 128, output: 64, rate, offered: rate, sent: 100, completed: 100, failed: 0, tput, e2e: stats(e2eMean), ...extra };
}

const MEAN5: ProfileSlo = { e2e: 5, statistic: 'mean' };

describe('meetsSlo', () => {
  it('holds the chosen statistic strictly below every bound', () => {
    expect(meetsSlo(row(1, 1, 4.9), MEAN5)).toBe(true);
    expect(meetsSlo(row(1, 1, 5), MEAN5)).toBe(false);
    // mean 3 but p99 6: fine at the mean, not at p99.
    expect(meetsSlo(row(1, 1, 3), { e2e: 5, statistic: 99 })).toBe(false);
    expect(meetsSlo(row(1, 1, 3, { ttft: stats(0.2), tpot: stats(0.03) }), { e2e: 5, ttft: 0.25, tpot: 0.05, statistic: 'mean' })).toBe(true);
    expect(meetsSlo(row(1, 1, 3, { ttft: stats(0.3) }), { e2e: 5, ttft: 0.25, statistic: 'mean' })).toBe(false);
  });

  it('fails a point with a failed request, none completed, or no measurement of a bounded latency', () => {
    expect(meetsSlo(row(1, 1, 1, { failed: 1 }), MEAN5)).toBe(false);
    expect(meetsSlo(row(1, 0, 0, { completed: 0 }), MEAN5)).toBe(false);
    expect(meetsSlo(row(1, 1, 1), { ttft: 1, statistic: 'mean' })).toBe(false); // not streamed: no TTFT
  });
});

describe('chooseCellRow', () => {
  it('takes the largest non-saturated rate that meets the SLO; the cell is its measured throughput', () => {
    const rows = [row(1, 1, 1), row(2, 1.95, 1.2), row(4, 3.7, 2), row(8, 6.5, 3) /* saturated */, row(16, 7, 9) /* misses */];
    expect(isSaturated(rows[3] as ProfileRow)).toBe(true);
    expect(chooseCellRow(rows, MEAN5)).toBe(rows[2]);
    expect(chooseCellRow(rows, MEAN5)?.tput).toBe(3.7);
  });

  it('ignores the order the rows come in and a non-saturated rate above one that misses the SLO', () => {
    const rows = [row(8, 8, 6), row(1, 1, 1), row(4, 4, 2)];
    expect(chooseCellRow(rows, MEAN5)?.rate).toBe(4);
  });

  it('takes the smallest qualifying rate when every qualifying rate is saturated (AIBrix gen_profile)', () => {
    const rows = [row(2, 1.5, 1), row(4, 1.6, 2), row(8, 1.6, 7)];
    expect(chooseCellRow(rows, MEAN5)?.rate).toBe(2);
  });

  it('gives nothing (cell 0) when no rate meets the SLO', () => {
    expect(chooseCellRow([row(1, 1, 6), row(2, 2, 8)], MEAN5)).toBeUndefined();
    expect(chooseCellRow([], MEAN5)).toBeUndefined();
  });

  it('compares the throughput with the rate the arrivals really had, at 0.9', () => {
    expect(isSaturated(row(10, 9, 1, { offered: 10 }))).toBe(false);
    expect(isSaturated(row(10, 8.99, 1, { offered: 10 }))).toBe(true);
    expect(isSaturated(row(10, 8.5, 1, { offered: 9.2 }))).toBe(false);
  });
});

describe('latencyStats and parseSloBounds', () => {
  it('gives min, mean and nearest-rank percentiles', () => {
    const s = latencyStats(Array.from({ length: 100 }, (_, k) => k + 1));
    expect(s).toEqual({ min: 1, mean: 50.5, p50: 50, p90: 90, p99: 99 });
    expect(latencyStats([])).toEqual({ min: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
  });

  it('parses bounds in seconds or ms and names what is wrong', () => {
    expect(parseSloBounds('e2e=5,ttft=500ms, tpot=0.05')).toEqual({ e2e: 5, ttft: 0.5, tpot: 0.05 });
    expect(() => parseSloBounds('e2e:5')).toThrow(/metric=seconds/);
    expect(() => parseSloBounds('latency=5')).toThrow(/e2e, ttft or tpot/);
    expect(() => parseSloBounds('e2e=0')).toThrow(/positive/);
    expect(() => parseSloBounds('e2e=1,e2e=2')).toThrow(/twice/);
    expect(() => parseSloBounds('')).toThrow(/e2e=5/);
  });
});
