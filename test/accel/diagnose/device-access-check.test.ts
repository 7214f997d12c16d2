import { describe, expect, it } from 'vitest';
import { deviceAccessCheck } from '../../../src/accel/diagnose/device-access-check.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

describe('device-access check', () => {
  it('passes when nothing failed', () => {
    expect(runCheck(deviceAccessCheck, 'device-access', device('nvidia', 0)).status).toBe('pass');
  });

  it('fails a lost GPU (15) with reboot-node and counts the failures by code', () => {
    const errors = ['nvmlDeviceGetTemperature', 'nvmlDeviceGetPowerUsage'].map((api) => ({ api, code: 'GPU_IS_LOST', value: 15 }));
    expect(runCheck(deviceAccessCheck, 'device-access', device('nvidia', 3, { errors }))).toMatchObject({
      status: 'fail',
      action: 'reboot-node',
      observed: '2 failed read(s): 2× GPU_IS_LOST (15)',
    });
  });

  it('fails RESET_REQUIRED with reset-gpu and a missing NPU with reboot-node', () => {
    expect(runCheck(deviceAccessCheck, 'device-access', device('nvidia', 0, { errors: [{ api: 'nvmlDeviceGetClockInfo', code: 'RESET_REQUIRED', value: 16 }] })).action).toBe('reset-gpu');
    expect(runCheck(deviceAccessCheck, 'device-access', device('ascend', 6, { errors: [{ api: 'dcmi_get_device_temperature', code: 'DEVICE_NOT_EXIST', value: -8008 }] })).action).toBe('reboot-node');
  });

  it('only warns on other failures (permissions, timeouts)', () => {
    expect(runCheck(deviceAccessCheck, 'device-access', device('nvidia', 0, { errors: [{ api: 'nvmlDeviceGetPowerUsage', code: 'NO_PERMISSION', value: 4 }] }))).toMatchObject({ status: 'warn', action: 'monitor' });
  });
});
