import { describe, expect, it } from 'vitest';
import { formatNvmlError, nvmlError, nvmlReturnName } from '../../../src/accel/nvml/returns.js';

describe('nvmlReturnName', () => {
  it.each([
    [0, 'SUCCESS'],
    [3, 'NOT_SUPPORTED'],
    [7, 'INSUFFICIENT_SIZE'],
    [9, 'DRIVER_NOT_LOADED'],
    [10, 'TIMEOUT'],
    [12, 'LIBRARY_NOT_FOUND'],
    [13, 'FUNCTION_NOT_FOUND'],
    [15, 'GPU_IS_LOST'],
    [18, 'LIB_RM_VERSION_MISMATCH'],
    [25, 'ARGUMENT_VERSION_MISMATCH'],
    [29, 'INVALID_STATE'],
    [999, 'UNKNOWN'],
  ])('%i is %s', (code, name) => expect(nvmlReturnName(code)).toBe(name));

  it('keeps the number of a code it does not know', () => {
    expect(nvmlReturnName(77)).toBe('UNKNOWN_77');
    expect(nvmlReturnName(-1)).toBe('UNKNOWN_-1');
  });
});

describe('nvmlError', () => {
  it('carries the api, the name and the raw value, and formats like a status message', () => {
    const e = nvmlError('nvmlDeviceGetPowerUsage', 3);
    expect(e).toEqual({ api: 'nvmlDeviceGetPowerUsage', code: 'NOT_SUPPORTED', value: 3 });
    expect(formatNvmlError(nvmlError('nvmlInitWithFlags', 9))).toBe('nvmlInitWithFlags: DRIVER_NOT_LOADED (9)');
  });
});
