import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TTL_MS, FaultCode, FaultRuleInput, FaultValues, MAX_TTL_MS } from '../../../src/accel/fault/rule-schema.js';

const paths = (schema: Parameters<typeof Value.Errors>[0], v: unknown) => [...new Set([...Value.Errors(schema, v)].map((e) => e.path))];

describe('FaultRuleInput', () => {
  it('accepts the rules clients really send', () => {
    const good = [
      { target: { device: 1 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'GPU_IS_LOST' } },
      { id: 'thermal.0', target: { device: '*', vendor: 'nvidia' }, what: { api: 'nvmlDeviceGetClockInfo(SM)' }, effect: { return: 3 }, trigger: { afterCalls: 2, probability: 0.5, seed: 7, times: 3 }, sticky: true, ttlMs: MAX_TTL_MS },
      { target: { uuid: 'NPU-00000001-00000002-00000003-00000004-00000005' }, what: { class: 'npu-fault-code' }, effect: { faultCodes: ['0x80E24E00', 12345] } },
      { what: { api: 'dcmi_get_device_errorcode_v2' }, effect: { return: -8005 } },
      { what: { api: 'nvmlDeviceGetTotalEccErrors(UNCORRECTED,VOLATILE)' }, effect: { values: { nvlinks: [{ link: 17, active: false, crcFlitErrors: 3 }], eccEnabled: true } } },
      { what: { class: 'init' }, effect: { return: 'DRIVER_NOT_LOADED' } },
      { effect: { xid: 79 }, trigger: { startInMs: 1000, durationMs: 5000 } },
    ];
    for (const r of good) expect(paths(FaultRuleInput, r), JSON.stringify(r)).toEqual([]);
  });

  it.each([
    ['missing effect', { what: { api: '*' } }, '/effect'],
    ['unknown top-level key (typo)', { effect: { xid: 79 }, stiky: true }, '/stiky'],
    ['unknown effect key', { effect: { retrun: 3 } }, '/effect/retrun'],
    ['api not a vendor function', { what: { api: 'cudaMalloc' }, effect: { return: 3 } }, '/what/api'],
    ['unknown class', { what: { class: 'fire' }, effect: { return: 3 } }, '/what/class'],
    ['device past 1023', { target: { device: 1024 }, effect: { xid: 79 } }, '/target/device'],
    ['unknown vendor', { target: { vendor: 'amd' }, effect: { xid: 79 } }, '/target/vendor'],
    ['xid 0', { effect: { xid: 0 } }, '/effect/xid'],
    ['return code past int32', { effect: { return: 0x80000000 } }, '/effect/return'],
    ['return name with a space', { effect: { return: 'GPU LOST' } }, '/effect/return'],
    ['fault code hex too long', { effect: { faultCodes: ['0x123456789'] } }, '/effect/faultCodes/0'],
    ['fault codes empty', { effect: { faultCodes: [] } }, '/effect/faultCodes'],
    ['probability above 1', { effect: { xid: 79 }, trigger: { probability: 1.5 } }, '/trigger/probability'],
    ['durationMs 0', { effect: { xid: 79 }, trigger: { durationMs: 0 } }, '/trigger/durationMs'],
    ['ttl past a day', { effect: { xid: 79 }, ttlMs: MAX_TTL_MS + 1 }, '/ttlMs'],
    ['id starting with a dot', { id: '.x', effect: { xid: 79 } }, '/id'],
    ['nvlink number 18', { effect: { values: { nvlinks: [{ link: 18 }] } } }, '/effect/values/nvlinks/0/link'],
    ['unknown nvlink key', { effect: { values: { nvlinks: [{ link: 1, up: true }] } } }, '/effect/values/nvlinks/0/up'],
    ['percent above 100', { effect: { values: { gpuUtilPercent: 101 } } }, '/effect/values/gpuUtilPercent'],
    ['temperature below absolute zero', { effect: { values: { gpuTempC: -300 } } }, '/effect/values/gpuTempC'],
    ['unknown value field', { effect: { values: { gpuTemp: 90 } } }, '/effect/values/gpuTemp'],
  ])('rejects %s at its path', (_name, input, path) => {
    expect(Value.Check(FaultRuleInput, input)).toBe(false);
    expect(paths(FaultRuleInput, input)).toContain(path);
  });
});

describe('pieces', () => {
  it('FaultCode takes u32 numbers and 0x text only', () => {
    expect(Value.Check(FaultCode, 0xffffffff)).toBe(true);
    expect(Value.Check(FaultCode, '0Xdead')).toBe(true);
    expect(Value.Check(FaultCode, 0x100000000)).toBe(false);
    expect(Value.Check(FaultCode, -1)).toBe(false);
    expect(Value.Check(FaultCode, 'dead')).toBe(false);
  });

  it('FaultValues is partial: an empty object is structurally fine (parseFaultRule rejects it)', () => {
    expect(Value.Check(FaultValues, {})).toBe(true);
  });

  it('the default TTL is inside the maximum', () => {
    expect(DEFAULT_TTL_MS).toBeLessThan(MAX_TTL_MS);
    expect(MAX_TTL_MS).toBe(86_400_000);
  });
});
