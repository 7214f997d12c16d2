import { describe, expect, it } from 'vitest';
import { deviceCountCheck, driverChecks } from '../../../src/accel/diagnose/node-checks.js';
import { gpus, snapshot } from './fixtures.js';

const failed = (value: number, code: string) => ({ kind: 'nvml' as const, vendor: 'nvidia' as const, state: 'failed' as const, error: { api: 'nvmlInit_v2', code, value }, message: `nvmlInit_v2: ${code} (${value})` });

describe('driver check', () => {
  it('passes an initialised library and shows its versions', () => {
    expect(driverChecks(snapshot(gpus(1)))).toEqual([expect.objectContaining({ vendor: 'nvidia', status: 'pass', observed: 'nvml up, driver 550.54.15, library 12.550.54.15' })]);
  });

  it.each([
    [9, 'DRIVER_NOT_LOADED', 'reinstall-driver'],
    [12, 'LIBRARY_NOT_FOUND', 'reinstall-driver'],
    [18, 'LIB_RM_VERSION_MISMATCH', 'reboot-node'],
  ] as const)('fails init code %i (%s) with %s', (value, code, action) => {
    const [r] = driverChecks(snapshot([], { backends: [failed(value, code)] }));
    expect(r).toMatchObject({ status: 'fail', action, observed: `nvml init failed: ${code} (${value})` });
    expect(r?.message).toContain(`nvmlInit_v2: ${code}`);
  });

  it('fails an absent library and a node with no backend at all', () => {
    const [absent] = driverChecks(snapshot([], { backends: [{ kind: 'nvml', vendor: 'nvidia', state: 'absent', message: 'libnvidia-ml.so.1 not found' }] }));
    expect(absent).toMatchObject({ status: 'fail', observed: 'nvml absent' });
    expect(driverChecks(snapshot([], { backends: [] }))).toEqual([expect.objectContaining({ vendor: null, status: 'fail', action: 'reinstall-driver' })]);
  });
});

describe('device-count check', () => {
  it('skips without an expected count, passes a match', () => {
    expect(deviceCountCheck(snapshot(gpus(8)), 0)).toMatchObject({ status: 'skip', observed: '8' });
    expect(deviceCountCheck(snapshot(gpus(8)), 8)).toMatchObject({ status: 'pass', observed: '8', expected: '8' });
  });

  it('fails missing devices and warns on extra ones', () => {
    expect(deviceCountCheck(snapshot(gpus(7)), 8)).toMatchObject({ status: 'fail', action: 'reboot-node' });
    expect(deviceCountCheck(snapshot(gpus(8)), 4)).toMatchObject({ status: 'warn', action: 'check-config' });
  });

  it('warns when a library is up but sees no device', () => {
    expect(deviceCountCheck(snapshot([], { backends: [{ kind: 'nvml', vendor: 'nvidia', state: 'up' }] }), 0)).toMatchObject({ status: 'warn' });
  });
});

describe('device-count with the library down', () => {
  it('blames the driver rather than the hardware', () => {
    const r = deviceCountCheck(snapshot([], { backends: [failed(18, 'LIB_RM_VERSION_MISMATCH')] }), 8);
    expect(r).toMatchObject({ status: 'fail', action: 'reboot-node' });
    expect(r.message).toContain('the nvidia library is not up');
    expect(deviceCountCheck(snapshot([], { backends: [] }), 8)).toMatchObject({ status: 'fail', action: 'reinstall-driver' });
  });
});
