import { describe, expect, it } from 'vitest';
import { goDurationMs, isMemorySize, isNamespaceName, isObjectName, isPercentString, isRate, scheduleProblem } from '../../src/chaos/chaos-formats.js';

describe('chaos value formats', () => {
  it('parses Go durations, including compound and fractional ones', () => {
    expect(goDurationMs('1h30m')).toBe(5_400_000);
    expect(goDurationMs('1.5s')).toBe(1500);
    expect(goDurationMs('250ms')).toBe(250);
    expect(goDurationMs('100us')).toBeCloseTo(0.1);
    for (const bad of ['', '10', '1d', '5 m', 's', '-1s']) expect(goDurationMs(bad), bad).toBeUndefined();
  });

  it('checks percents, tc rates and memory sizes', () => {
    expect(['0', '25', '0.5', '100'].every(isPercentString)).toBe(true);
    expect(['100.1', '-1', '5%', 'x'].some(isPercentString)).toBe(false);
    expect(['1mbps', '100kbit', '1.5GBPS'].every(isRate)).toBe(true);
    expect(['1mb', 'fast', '10'].some(isRate)).toBe(false);
    expect(['256MB', '1GiB', '1024', '50%', '100%'].every(isMemorySize)).toBe(true);
    expect(['0%', '101%', '0', 'big', '1PB'].some(isMemorySize)).toBe(false);
  });

  it('accepts cron, descriptors and @every; explains what is wrong otherwise', () => {
    for (const ok of ['*/5 * * * *', '0 3 * * 1-5', '15,45 9-17 * JAN-MAR MON', '@hourly', '@every 1h30m']) expect(scheduleProblem(ok), ok).toBeUndefined();
    expect(scheduleProblem('* * * *')).toContain('has 5 fields');
    expect(scheduleProblem('* * * * * *')).toContain('got 6');
    expect(scheduleProblem('@every 0s')).toContain('positive duration');
    expect(scheduleProblem('a$ * * * *')).toContain("cron field 'a$' is not valid");
  });

  it('checks object and namespace names like the API server', () => {
    expect(isObjectName('kill-head.v2')).toBe(true);
    expect(isObjectName('Kill')).toBe(false);
    expect(isObjectName('-x')).toBe(false);
    expect(isObjectName('a'.repeat(254))).toBe(false);
    expect(isNamespaceName('serving')).toBe(true);
    expect(isNamespaceName('a.b')).toBe(false);
    expect(isNamespaceName('a'.repeat(64))).toBe(false);
  });
});
