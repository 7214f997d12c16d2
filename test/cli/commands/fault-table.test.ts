import type { Static } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { parseFaultRule } from '../../../src/accel/fault/rule.js';
import type { FaultRuleView } from '../../../src/agent/fault-schemas.js';
import { describeEffect, describeTarget, describeWhat, remaining, renderPresets, renderRuleAdded, renderRules, renderTrace, table } from '../../../src/cli/commands/fault-table.js';
import { createStyle } from '../../../src/cli/style.js';

type Rule = Static<typeof FaultRuleView>;
const plain = createStyle({ isTTY: false }, {});
const color = createStyle({ isTTY: true }, {});
const NOW = 1_000_000;
const view = (input: unknown, id = 'r1', extra: Partial<Rule> = {}): Rule =>
  ({ ...parseFaultRule(input, { id, now: NOW }), calls: 4, applied: 3, latched: false, ...extra }) as Rule;

describe('table', () => {
  it('pads every column but the last to its widest cell, two spaces apart, no trailing blanks', () => {
    expect(table(['A', 'BB', 'C'], [['xxx', 'y', ''], ['z', 'wwww', 'last']], plain)).toBe('A    BB    C\nxxx  y\nz    wwww  last\n');
  });

  it('bolds only the header line when styled', () => {
    const out = table(['H'], [['v']], color);
    expect(out).toBe('\x1b[1mH\x1b[0m\nv\n');
  });
});

describe('describe*', () => {
  it('names the target: library for init rules, uuid, gpuN / npuN, or all', () => {
    expect(describeTarget(view({ target: { device: 3 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'GPU_IS_LOST' } }))).toBe('gpu3');
    expect(describeTarget(view({ target: { device: 2 }, what: { class: 'npu-health' }, effect: { npuHealth: 3 } }))).toBe('npu2');
    expect(describeTarget(view({ target: { device: '*' }, effect: { xid: 79 } }))).toBe('nvidia all');
    expect(describeTarget(view({ target: { uuid: 'GPU-1' }, effect: { xid: 79 } }))).toBe('nvidia GPU-1');
    expect(describeTarget(view({ what: { api: 'init' }, effect: { return: 'DRIVER_NOT_LOADED' } }))).toBe('nvidia library');
    expect(describeTarget({ target: { device: 0 }, vendors: ['nvidia', 'ascend'], init: false })).toBe('gpu0');
    expect(describeTarget({ target: {}, vendors: ['nvidia', 'ascend'], init: false })).toBe('nvidia+ascend all');
  });

  it('names what: api, class, or every call', () => {
    expect(describeWhat({ what: { api: 'nvmlDeviceGetClockInfo(SM)' } })).toBe('nvmlDeviceGetClockInfo(SM)');
    expect(describeWhat({ what: { class: 'ecc' } })).toBe('class ecc');
    expect(describeWhat({ what: {} })).toBe('every call');
  });

  it('lists every part of the effect; fault codes as upper-case hex; nested values as JSON', () => {
    expect(describeEffect({ effect: {} })).toBe('-');
    expect(describeEffect({ effect: { return: 'GPU_IS_LOST', xid: 79 } })).toBe('return GPU_IS_LOST, XID 79');
    expect(describeEffect({ effect: { npuHealth: 3, faultCodes: [0x80e24e00, '0x1a'] } })).toBe('health 3, codes 0x80E24E00,0x1A');
    expect(describeEffect({ effect: { values: { gpuTempC: 97, nvlinks: [{ link: 0, active: false }] } } })).toBe('gpuTempC=97 nvlinks=[{"link":0,"active":false}]');
  });
});

describe('remaining', () => {
  it.each([
    [0, 'expired'],
    [-5, 'expired'],
    [1, '1s'],
    [59_000, '59s'],
    [59_001, '1m00s'],
    [598_000, '9m58s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m'],
    [86_400_000, '24h00m'],
  ])('%i ms → %s', (ms, text) => {
    expect(remaining(ms)).toBe(text);
  });
});

describe('render*', () => {
  it('renderRules: one aligned row per rule with trigger summary, applied/calls and time left', () => {
    const a = view({ target: { device: 3 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'GPU_IS_LOST' } }, 'a');
    const b = view({ target: { device: 0 }, what: { class: 'xid' }, effect: { xid: 79 }, trigger: { afterCalls: 2, probability: 0.5, times: 3, startInMs: 10 }, sticky: true, ttlMs: 30_000 }, 'b', { applied: 0, calls: 1 });
    const lines = renderRules([a, b], plain, NOW).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^a\s+gpu3\s+nvmlDeviceGetTemperature\s+return GPU_IS_LOST\s+always\s+3\/4\s+10m00s$/);
    expect(lines[2]).toMatch(/^b\s+gpu0\s+class xid\s+XID 79\s+after 2 p=0\.5 ×3 window sticky\s+0\/1\s+30s$/);
    expect(lines[1]!.indexOf('gpu3')).toBe(lines[2]!.indexOf('gpu0'));
    expect(renderRules([], plain)).toBe('no fault rules\n');
  });

  it('renderRuleAdded: one summary line', () => {
    const a = view({ target: { device: 1 }, what: { class: 'lost' }, effect: { return: 'GPU_IS_LOST', xid: 79 } }, 'gpu-lost.1');
    expect(renderRuleAdded(a, NOW + 2_000)).toBe('added gpu-lost.1: gpu1, class lost → return GPU_IS_LOST, XID 79 (expires in 9m58s)\n');
  });

  it('renderPresets: a table of name, vendor, scope, description', () => {
    const out = renderPresets([{ name: 'gpu-lost', vendor: 'nvidia', scope: 'device', description: 'GPU falls off the bus' }], plain);
    expect(out).toBe('PRESET    VENDOR  SCOPE   DESCRIPTION\ngpu-lost  nvidia  device  GPU falls off the bus\n');
  });

  it('renderTrace: UTC time of day, npu/gpu device, "-" for init and no roll, applied results in red', () => {
    const at = Date.UTC(2024, 0, 1, 12, 34, 56, 789);
    const out = renderTrace(
      [
        { at, rule: 'r', api: 'nvmlInitWithFlags', vendor: 'nvidia', device: null, call: 1, applied: false, reason: 'before-window' },
        { at, rule: 'r', api: 'dcmi_get_device_health', vendor: 'ascend', device: 2, call: 2, rolled: 0.12345, applied: true, reason: 'applied' },
      ],
      color,
    );
    const lines = out.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^12:34:56\.789\s+r\s+nvmlInitWithFlags\s+-\s+1\s+-\s+before-window$/);
    expect(lines[2]).toMatch(/^12:34:56\.789\s+r\s+dcmi_get_device_health\s+npu2\s+2\s+0\.123\s+/);
    expect(lines[2]!.endsWith(color.red('applied'))).toBe(true);
    expect(color.red('applied')).not.toBe('applied');
    expect(renderTrace([], plain)).toBe('no evaluations traced\n');
  });
});
