import { describe, expect, it } from 'vitest';
import { delta, fail, pass, seconds, skip, warn } from '../../../src/accel/diagnose/check.js';
import { device } from './fixtures.js';

describe('outcome builders', () => {
  it('pass never recommends an action; warn and fail carry theirs', () => {
    expect(pass('16x', '16x', 'ok')).toEqual({ status: 'pass', action: 'none', observed: '16x', expected: '16x', message: 'ok' });
    expect(warn('monitor', 'a', 'b', 'm')).toMatchObject({ status: 'warn', action: 'monitor' });
    expect(fail('reset-gpu', 'a', 'b', 'm')).toMatchObject({ status: 'fail', action: 'reset-gpu', observed: 'a', expected: 'b', message: 'm' });
  });
});

describe('skip', () => {
  it('names the NOT_SUPPORTED APIs that feed the check, matched by substring', () => {
    const gpu = device('nvidia', 0, { unsupported: ['nvmlDeviceGetRemappedRows', 'nvmlDeviceGetPowerUsage', 'nvmlDeviceGetRetiredPages(DBE)'] });
    const out = skip(gpu, ['RemappedRows', 'RetiredPages'], 'no remap failure', 'Row remapping');
    expect(out).toEqual({
      status: 'skip',
      action: 'none',
      observed: 'not supported',
      expected: 'no remap failure',
      message: 'Row remapping not available: nvmlDeviceGetRemappedRows, nvmlDeviceGetRetiredPages(DBE): NOT_SUPPORTED',
    });
  });

  it('falls back to the failed calls, with their codes, when nothing was unsupported', () => {
    const gpu = device('nvidia', 0, {
      errors: [
        { api: 'nvmlDeviceGetTemperature', code: 'GPU_IS_LOST', value: 15 },
        { api: 'nvmlDeviceGetPowerUsage', code: 'UNKNOWN', value: 999 },
      ],
    });
    const out = skip(gpu, ['Temperature'], '< 90 °C', 'GPU temperature');
    expect(out.observed).toBe('not read');
    expect(out.message).toBe('GPU temperature not available: nvmlDeviceGetTemperature: GPU_IS_LOST (15)');
  });

  it('prefers NOT_SUPPORTED over failures, and says "not read" when neither explains it', () => {
    const both = device('ascend', 0, { unsupported: ['dcmi_get_device_health'], errors: [{ api: 'dcmi_get_device_health', code: 'INNER_ERR', value: -8005 }] });
    expect(skip(both, ['health'], 'e', 'NPU health').message).toBe('NPU health not available: dcmi_get_device_health: NOT_SUPPORTED');
    const neither = device('ascend', 0, { unsupported: ['dcmi_get_device_voltage'] });
    expect(skip(neither, ['health'], 'e', 'NPU health')).toMatchObject({ observed: 'not read', message: 'NPU health not available: not read' });
  });
});

describe('delta', () => {
  it('is the increase over the window', () => {
    expect(delta(12, 10)).toBe(2);
    expect(delta(10, 10)).toBe(0);
  });

  it('is undefined when either end is missing or the counter went down (driver reload reset it)', () => {
    expect(delta(undefined, 1)).toBeUndefined();
    expect(delta(1, undefined)).toBeUndefined();
    expect(delta(3, 10)).toBeUndefined();
  });
});

describe('seconds', () => {
  it('prints whole seconds bare and fractions to one decimal', () => {
    expect(seconds(2000)).toBe('2 s');
    expect(seconds(1500)).toBe('1.5 s');
    expect(seconds(250)).toBe('0.3 s');
  });

  it('says "the window" when the length is unknown', () => {
    expect(seconds(undefined)).toBe('the window');
  });
});
