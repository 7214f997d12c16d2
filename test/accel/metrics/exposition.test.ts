import { describe, expect, it } from 'vitest';
import { escapeHelp, escapeLabelValue, formatLabelPairs, formatValue } from '../../../src/accel/metrics/exposition.js';

describe('exposition', () => {
  it('escapes backslash, quote and newline in label values', () => {
    expect(escapeLabelValue('plain')).toBe('plain');
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('escapes only backslash and newline in HELP', () => {
    expect(escapeHelp('say "hi"\\\n')).toBe('say "hi"\\\\\\n');
  });

  it('formats integers without exponent, up to and beyond 2^53', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(-0)).toBe('0');
    expect(formatValue(4294967295)).toBe('4294967295');
    expect(formatValue(2 ** 53 - 1)).toBe('9007199254740991');
    expect(formatValue(1e21)).toBe('1000000000000000000000');
    expect(formatValue(-1e22)).toBe('-10000000000000000000000');
  });

  it('formats floats round-trip and drops NaN', () => {
    expect(formatValue(0.37)).toBe('0.37');
    expect(Number(formatValue(123456.789))).toBe(123456.789);
    expect(formatValue(1.5e-7)).toBe('1.5e-7');
    expect(formatValue(Number.NaN)).toBeUndefined();
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
  });

  it('joins label pairs in the given order', () => {
    expect(formatLabelPairs([['b', '1'], ['a', 'x"y']])).toBe('b="1",a="x\\"y"');
  });
});
