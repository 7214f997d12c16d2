import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { parseFaultRule } from '../../src/accel/fault/rule.js';
import { FaultIdParams, FaultRuleList, FaultRuleView, PresetBody, PresetParams, TraceEntryView, TraceQuery } from '../../src/agent/fault-schemas.js';

const paths = (schema: Parameters<typeof Value.Errors>[0], v: unknown) => [...new Set([...Value.Errors(schema, v)].map((e) => e.path))];

const view = () => ({ ...parseFaultRule({ target: { device: 1 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'GPU_IS_LOST' } }, { id: 'r1', now: 1000 }), calls: 3, applied: 2, latched: false });

describe('fault API schemas', () => {
  it('a rule the engine normalised fits FaultRuleView and FaultRuleList', () => {
    const v = view();
    expect(paths(FaultRuleView, v)).toEqual([]);
    expect(paths(FaultRuleList, { rules: [v], limit: 256, generation: 4 })).toEqual([]);
    const windowed = { ...parseFaultRule({ effect: { xid: 79 }, trigger: { startInMs: 10, durationMs: 5 } }, { id: 'w', now: 0 }), calls: 0, applied: 0, latched: false };
    expect(paths(FaultRuleView, windowed)).toEqual([]);
  });

  it('FaultRuleView rejects a wrong vendor and missing counters at their paths', () => {
    expect(paths(FaultRuleView, { ...view(), vendors: ['amd'] })).toContain('/vendors/0');
    const { applied: _a, ...noApplied } = view();
    expect(paths(FaultRuleView, noApplied)).toContain('/applied');
  });

  it('FaultIdParams and PresetParams use the rule id / preset name patterns', () => {
    expect(Value.Check(FaultIdParams, { id: 'gpu-lost.3' })).toBe(true);
    expect(paths(FaultIdParams, { id: '../etc' })).toContain('/id');
    expect(Value.Check(PresetParams, { name: 'nvlink-down' })).toBe(true);
    expect(paths(PresetParams, { name: 'NVLink' })).toContain('/name');
  });

  it('PresetBody accepts preset parameters and rejects unknown ones and out-of-range links', () => {
    expect(paths(PresetBody, { target: { device: 3 }, params: { code: 12, links: [0, 1], tempC: 97 }, ttlMs: 60_000, sticky: true })).toEqual([]);
    expect(paths(PresetBody, { params: { temp: 97 } })).toContain('/params/temp');
    expect(paths(PresetBody, { params: { links: [18] } })).toContain('/params/links/0');
    expect(paths(PresetBody, { params: { links: [] } })).toContain('/params/links');
    expect(paths(PresetBody, { device: 3 })).toContain('/device');
  });

  it('TraceQuery bounds the limit; a trace entry allows a null device for init calls', () => {
    expect(Value.Check(TraceQuery, { limit: 10_000 })).toBe(true);
    expect(paths(TraceQuery, { limit: 0 })).toContain('/limit');
    expect(paths(TraceQuery, { limit: 10_001 })).toContain('/limit');
    const entry = { at: 1, rule: 'r', api: 'nvmlInitWithFlags', vendor: 'nvidia', device: null, call: 1, applied: true, reason: 'applied' };
    expect(paths(TraceEntryView, entry)).toEqual([]);
    expect(paths(TraceEntryView, { ...entry, device: '0' })).toContain('/device');
  });
});
