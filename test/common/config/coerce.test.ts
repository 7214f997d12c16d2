import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coerceField, formatBytes, formatDuration, parseDuration, parseSize } from '../../../src/common/config/coerce.js';
import { configFields } from '../../../src/common/config/fields.js';
import { ConfigSchema } from '../../../src/common/config/schema.js';

const field = (path: string) => {
  const f = configFields(ConfigSchema).find((x) => x.path === path);
  if (f === undefined) throw new Error(path);
  return f;
};

describe('sizes and durations', () => {
  it('parses binary and decimal units', () => {
    expect(parseSize('16MiB')).toBe(16 * 2 ** 20);
    expect(parseSize('1.5GB')).toBe(1.5e9);
    expect(parseSize('512 KiB')).toBe(512 * 1024);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('0.5B')).toBeUndefined();
    expect(parseSize('ten MiB')).toBeUndefined();
    expect(parseSize('1XB')).toBeUndefined();
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('750')).toBe(750);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('round-trips what it prints', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => {
      expect(parseSize(formatBytes(n))).toBe(n);
    }));
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 9 }), (n) => {
      expect(parseDuration(formatDuration(n))).toBe(n);
    }));
  });
});

describe('coerceField', () => {
  it('converts strings from env and flags to the stored type', () => {
    expect(coerceField(field('agent.port'), '0')).toEqual({ ok: true, value: 0 });
    expect(coerceField(field('agent.port'), 9000)).toEqual({ ok: true, value: 9000 });
    expect(coerceField(field('gateway.bodyLimit'), '32MiB')).toEqual({ ok: true, value: 32 * 2 ** 20 });
    expect(coerceField(field('shutdown.timeout'), '3s')).toEqual({ ok: true, value: 3000 });
    expect(coerceField(field('log.level'), 'debug')).toEqual({ ok: true, value: 'debug' });
  });

  it('explains what was expected', () => {
    expect(coerceField(field('agent.port'), 'http')).toEqual({ ok: false, problem: 'must be a whole number, got "http"' });
    expect(coerceField(field('agent.port'), '70000')).toEqual({ ok: false, problem: 'must be between 0 and 65535, got "70000"' });
    expect(coerceField(field('agent.port'), 1.5)).toMatchObject({ ok: false });
    expect(coerceField(field('gateway.bodyLimit'), '1TiB')).toEqual({ ok: false, problem: 'must be between 1KiB and 256MiB, got "1TiB"' });
    expect(coerceField(field('shutdown.timeout'), '1ms')).toEqual({ ok: false, problem: 'must be between 100ms and 10m, got "1ms"' });
    expect(coerceField(field('log.level'), 'loud')).toEqual({
      ok: false,
      problem: 'must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    });
    expect(coerceField(field('agent.host'), { a: 1 })).toMatchObject({ ok: false, problem: 'must be a string, got a mapping' });
    expect(coerceField(field('agent.port'), [1])).toMatchObject({ ok: false, problem: 'must be a whole number, got a list' });
    expect(coerceField(field('log.level'), null)).toMatchObject({ ok: false, problem: 'must be one of fatal, error, warn, info, debug, trace, silent, got nothing (null)' });
  });

  it('checks string patterns and says what is expected', () => {
    expect(coerceField(field('accel.backend'), 'sim:healthy-8x-h100')).toEqual({ ok: true, value: 'sim:healthy-8x-h100' });
    expect(coerceField(field('accel.backend'), 'cuda')).toEqual({ ok: false, problem: 'must be auto, nvml, dcmi, none or sim:<scenario>, got "cuda"' });
    expect(coerceField(field('accel.xidIgnore'), '13,31')).toEqual({ ok: true, value: '13,31' });
    expect(coerceField(field('accel.xidIgnore'), '13;31')).toMatchObject({ ok: false, problem: 'must be a comma-separated list of XID numbers, got "13;31"' });
  });

  it('never throws on arbitrary input', () => {
    const fields = configFields(ConfigSchema);
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.anything(), (f, raw) => {
        const r = coerceField(f, raw);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });
});
