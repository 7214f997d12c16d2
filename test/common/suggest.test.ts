import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editDistance, suggest, suggestMany } from '../../src/common/suggest.js';

describe('suggest', () => {
  it('finds close typos and ignores unrelated words', () => {
    expect(suggest('--agent.prot', ['--agent.port', '--gateway.port'])).toBe('--agent.port');
    expect(suggest('upp', ['up', 'agent', 'coordinator'])).toBe('up');
    expect(suggest('coordinater', ['up', 'agent', 'coordinator'])).toBe('coordinator');
    expect(suggest('kubernetes', ['up', 'agent'])).toBeUndefined();
  });

  it('suggestMany adds names a truncated word begins or is part of, best first, capped', () => {
    const fns = ['nvmlDeviceGetTemperature', 'nvmlDeviceGetTemperatureThreshold', 'nvmlDeviceGetPowerUsage', 'nvmlDeviceGetTotalEccErrors'];
    expect(suggest('nvmlDeviceGetTemp', fns)).toBeUndefined();
    expect(suggestMany('nvmlDeviceGetTemp', fns)).toEqual(['nvmlDeviceGetTemperature', 'nvmlDeviceGetTemperatureThreshold']);
    expect(suggestMany('nvmlDeviceGetPowerUsag', fns)).toEqual(['nvmlDeviceGetPowerUsage']);
    expect(suggestMany('nvmlDevice', fns, 2)).toHaveLength(2);
    expect(suggestMany('kubernetes', fns)).toEqual([]);
  });

  it('edit distance is a metric on small strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (a, b, c) => {
        expect(editDistance(a, a)).toBe(0);
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
      }),
    );
  });
});
