import { describe, expect, it } from 'vitest';
import type { ActiveFault } from '../../../src/accel/fault/engine.js';
import { buildDevicePlans, selectedCalls, setField, targets } from '../../../src/accel/fault/fault-plan.js';
import { parseFaultRule } from '../../../src/accel/fault/rule.js';
import type { DeviceIdentity, DeviceSample, Vendor } from '../../../src/accel/types.js';

const dev = (index: number, vendor: Vendor = 'nvidia'): DeviceIdentity => ({ vendor, index, uuid: `UUID-${index}`, name: 'x', pciBusId: `00000000:0${index}:00.0` });
const rule = (input: unknown, id = 'r') => parseFaultRule(input, { id, now: 0 });
const active = (input: unknown, id = 'r'): ActiveFault => ({ rule: rule(input, id), calls: 0, applied: 0, latched: false, xidDelivered: new Set(), random: () => 0 });

describe('targets', () => {
  it('matches by index, * and uuid, and both must agree when both are given', () => {
    expect(targets(rule({ target: { device: 1 }, effect: { xid: 79 } }), dev(1))).toBe(true);
    expect(targets(rule({ target: { device: 1 }, effect: { xid: 79 } }), dev(2))).toBe(false);
    expect(targets(rule({ target: { device: '*' }, effect: { xid: 79 } }), dev(5))).toBe(true);
    expect(targets(rule({ effect: { xid: 79 } }), dev(5))).toBe(true);
    expect(targets(rule({ target: { uuid: 'UUID-3' }, effect: { xid: 79 } }), dev(3))).toBe(true);
    expect(targets(rule({ target: { uuid: 'UUID-3' }, effect: { xid: 79 } }), dev(4))).toBe(false);
    expect(targets(rule({ target: { device: 3, uuid: 'UUID-4' }, effect: { xid: 79 } }), dev(3))).toBe(false);
  });
});

describe('selectedCalls', () => {
  it('an api alias selects the call under its label', () => {
    const r = rule({ what: { api: 'nvmlDeviceGetMemoryInfo' }, effect: { return: 'GPU_IS_LOST' } });
    expect(selectedCalls(r, 'nvidia').map((c) => c.label)).toEqual(['nvmlDeviceGetMemoryInfo_v2']);
  });

  it('a qualified label selects only that variant; the bare name selects every variant', () => {
    const sm = rule({ what: { api: 'nvmlDeviceGetClockInfo(SM)' }, effect: { return: 'NOT_SUPPORTED' } });
    expect(selectedCalls(sm, 'nvidia').map((c) => c.label)).toEqual(['nvmlDeviceGetClockInfo(SM)']);
    const all = rule({ what: { api: 'nvmlDeviceGetClockInfo' }, effect: { return: 'NOT_SUPPORTED' } });
    expect(selectedCalls(all, 'nvidia').map((c) => c.label)).toEqual(['nvmlDeviceGetClockInfo(GRAPHICS)', 'nvmlDeviceGetClockInfo(SM)', 'nvmlDeviceGetClockInfo(MEM)']);
  });

  it('class lost fails every Ascend call except the health call, and lists the shared HBM call once', () => {
    const labels = selectedCalls(rule({ target: { vendor: 'ascend' }, what: { class: 'lost' }, effect: { return: -8005 } }), 'ascend').map((c) => c.label);
    expect(labels).not.toContain('dcmi_get_device_health');
    expect(labels).toContain('dcmi_get_device_errorcode_v2');
    expect(labels.filter((l) => l === 'dcmi_get_device_hbm_info')).toHaveLength(1);
  });

  it('class ecc selects the ecc group; npu-fault-code selects exactly the error-code call', () => {
    const ecc = selectedCalls(rule({ what: { class: 'ecc' }, effect: { return: 'UNKNOWN' }, target: { vendor: 'nvidia' } }), 'nvidia').map((c) => c.label);
    expect(ecc).toHaveLength(8);
    expect(ecc.every((l) => /EccMode|EccErrors|MemoryErrorCounter/.test(l))).toBe(true);
    const fc = selectedCalls(rule({ what: { class: 'npu-fault-code' }, effect: { return: -8005 } }), 'ascend').map((c) => c.label);
    expect(fc).toEqual(['dcmi_get_device_errorcode_v2']);
  });
});

describe('buildDevicePlans', () => {
  it('leaves untargeted devices and init rules out, and puts a return code on the selected call of its group only', () => {
    const plans = buildDevicePlans('nvidia', [dev(0), dev(1)], [
      active({ target: { device: 1 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'GPU_IS_LOST' } }),
      active({ what: { api: 'init' }, effect: { return: 'DRIVER_NOT_LOADED' } }, 'init'),
    ]);
    expect([...plans.keys()]).toEqual([1]);
    const plan = plans.get(1)!;
    expect(Object.keys(plan)).toEqual(['thermal']);
    const call = plan.thermal![0]!.calls;
    expect(call).toEqual([{ label: 'nvmlDeviceGetTemperature', fields: ['gpuTempC'], code: 15 }]);
  });

  it('routes value overrides to the producing call and keeps rules in priority order', () => {
    const a = active({ target: { device: 0 }, effect: { values: { gpuTempC: 99, powerW: 700 } } }, 'a');
    const b = active({ target: { device: 0 }, effect: { values: { gpuTempC: 50 } } }, 'b');
    const plan = buildDevicePlans('nvidia', [dev(0)], [a, b]).get(0)!;
    expect(plan.thermal!.map((e) => e.fault.rule.id)).toEqual(['a', 'b']);
    expect(plan.thermal![0]!.calls).toEqual([{ label: 'nvmlDeviceGetTemperature', fields: ['gpuTempC'], values: [['gpuTempC', 99]] }]);
    expect(plan.power!.map((e) => e.fault.rule.id)).toEqual(['a']);
    expect(plan.power![0]!.calls[0]).toMatchObject({ label: 'nvmlDeviceGetPowerUsage', values: [['powerW', 700]] });
  });

  it('an Ascend npuHealth effect and fault codes land on the health group calls, hex codes as numbers', () => {
    const plan = buildDevicePlans('ascend', [dev(0, 'ascend')], [active({ target: { device: 0 }, what: { class: 'npu-fault-code' }, effect: { faultCodes: ['0x80E24E00'], npuHealth: 2 } })]).get(0)!;
    expect(Object.keys(plan)).toEqual(['npu-health']);
    expect(plan['npu-health']![0]!.calls).toEqual([
      { label: 'dcmi_get_device_health', fields: ['npuHealth'], values: [['npuHealth', 2]] },
      { label: 'dcmi_get_device_errorcode_v2', fields: ['npuFaultCodes'], addCodes: [0x80e24e00] },
    ]);
  });

  it('an XID-only rule becomes the event wait on NVIDIA, once, and nothing on Ascend', () => {
    const f = active({ target: { device: 2 }, what: { class: 'xid' }, effect: { xid: 79 } });
    const plan = buildDevicePlans('nvidia', [dev(2)], [f]).get(2)!;
    const groups = Object.values(plan).filter((g) => g !== undefined);
    expect(groups.flat().flatMap((e) => e.calls)).toHaveLength(Object.keys(plan).length);
    expect(groups.flat()[0]!.calls).toEqual([{ label: 'nvmlEventSetWait_v2', fields: [], xidOnly: true }]);
    const xidOnAscend = active({ target: { device: 2 }, effect: { xid: 79 } });
    expect(buildDevicePlans('ascend', [dev(2, 'ascend')], [xidOnAscend]).size).toBe(0);
  });

  it('an override of a field the vendor does not read plans nothing', () => {
    const f = active({ target: { device: 0 }, effect: { values: { pcieGen: 3 } } });
    expect(buildDevicePlans('ascend', [dev(0, 'ascend')], [f]).size).toBe(0);
  });
});

describe('setField', () => {
  it('replaces plain fields', () => {
    const s: DeviceSample = { gpuTempC: 40 };
    setField(s, 'gpuTempC', 95);
    expect(s.gpuTempC).toBe(95);
  });

  it('merges NVLink overrides by link number, keeping counters and sorting; a new link defaults to active', () => {
    const s: DeviceSample = {
      nvlinks: [
        { link: 2, active: true, replayErrors: 5 },
        { link: 0, active: true },
      ],
    } as DeviceSample;
    setField(s, 'nvlinks', [{ link: 2, active: false }, { link: 1, crcFlitErrors: 7 }]);
    expect(s.nvlinks).toEqual([
      { link: 0, active: true },
      { link: 1, active: true, crcFlitErrors: 7 },
      { link: 2, active: false, replayErrors: 5 },
    ]);
  });
});
