import { describe, expect, it } from 'vitest';
import { ascendChecks } from '../../../src/accel/diagnose/ascend-checks.js';
import type { DeviceSample } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const npu = (sample: DeviceSample, more = {}) => device('ascend', 5, { sample, ...more });

describe('ascend checks', () => {
  it('pass on a healthy NPU', () => {
    for (const c of ascendChecks) expect(c.run({ level: 1, device: npu({}), xidIgnore: new Set() }).status, c.name).toBe('pass');
  });

  it.each([
    [1, 'warn', 'monitor'],
    [2, 'fail', 'reset-npu'],
    [3, 'fail', 'reset-npu'],
    [4294967295, 'fail', 'reboot-node'],
  ] as const)('health %i → %s / %s', (health, status, action) => {
    expect(runCheck(ascendChecks, 'npu-health', npu({ npuHealth: health }))).toMatchObject({ status, action });
  });

  it('classifies known fault codes and judges unknown ones by the health level', () => {
    expect(runCheck(ascendChecks, 'npu-fault-codes', npu({ npuHealth: 2, npuFaultCodes: [2162314752] }))).toMatchObject({ status: 'fail', action: 'reset-npu', observed: '0x80E24E00' });
    expect(runCheck(ascendChecks, 'npu-fault-codes', npu({ npuFaultCodes: [0x80e3a201] }))).toMatchObject({ status: 'fail', action: 'replace-device' });
    expect(runCheck(ascendChecks, 'npu-fault-codes', npu({ npuHealth: 1, npuFaultCodes: [0x81000001] }))).toMatchObject({ status: 'warn', action: 'monitor' });
    expect(runCheck(ascendChecks, 'npu-fault-codes', npu({ npuHealth: 3, npuFaultCodes: [0x81000001] }))).toMatchObject({ status: 'fail', action: 'reset-npu' });
  });

  it('fails HBM double-bit errors and warns on single-bit ones', () => {
    expect(runCheck(ascendChecks, 'npu-hbm-ecc', npu({ hbmEccDbe: 1 }))).toMatchObject({ status: 'fail', action: 'reset-npu' });
    expect(runCheck(ascendChecks, 'npu-hbm-ecc', npu({ hbmEccSbe: 4 }))).toMatchObject({ status: 'warn', observed: 'single-bit 4, double-bit 0' });
  });

  it.each([
    // A faulty port degrades the chip (health agrees): it still computes, its collective traffic suffers.
    [5, 'warn', 'check-cabling'],
    [3, 'warn', 'check-cabling'],
    [6, 'warn', 'monitor'],
  ] as const)('network health %i → %s / %s', (state, status, action) => {
    expect(runCheck(ascendChecks, 'npu-network', npu({ npuNetworkHealth: state }))).toMatchObject({ status, action });
  });

  it('skips what a lost NPU could not report, naming the failing call', () => {
    const lost = npu({ npuFaultCodes: undefined }, { errors: [{ api: 'dcmi_get_device_errorcode_v2', code: 'DEVICE_NOT_EXIST', value: -8008 }] });
    expect(runCheck(ascendChecks, 'npu-fault-codes', lost).message).toContain('dcmi_get_device_errorcode_v2: DEVICE_NOT_EXIST (-8008)');
  });
});
