import { describe, expect, it } from 'vitest';
import { thermalCheck } from '../../../src/accel/diagnose/thermal-check.js';
import type { DeviceSample } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const gpu = (sample: DeviceSample, more = {}) => device('nvidia', 0, { sample, ...more });

describe('temperature check', () => {
  it('passes below the slowdown threshold', () => {
    expect(runCheck(thermalCheck, 'temperature', gpu({ gpuTempC: 89 }))).toMatchObject({ status: 'pass', observed: '89 °C', expected: '< 90 °C (slowdown)' });
  });

  it('warns at the slowdown threshold and fails at shutdown', () => {
    expect(runCheck(thermalCheck, 'temperature', gpu({ gpuTempC: 90 }))).toMatchObject({ status: 'warn', action: 'cool-down' });
    expect(runCheck(thermalCheck, 'temperature', gpu({ gpuTempC: 94 }))).toMatchObject({ status: 'fail', action: 'cool-down' });
  });

  it('passes a temperature without thresholds (Ascend) and skips an unread one', () => {
    expect(runCheck(thermalCheck, 'temperature', device('ascend', 0)).status).toBe('pass');
    const lost = gpu({ gpuTempC: undefined }, { errors: [{ api: 'nvmlDeviceGetTemperature', code: 'GPU_IS_LOST', value: 15 }] });
    expect(runCheck(thermalCheck, 'temperature', lost)).toMatchObject({ status: 'skip', message: 'temperature not available: nvmlDeviceGetTemperature: GPU_IS_LOST (15)' });
  });
});
