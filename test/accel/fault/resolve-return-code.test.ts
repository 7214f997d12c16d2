import { describe, expect, it } from 'vitest';
import { resolveReturnCode } from '../../../src/accel/fault/resolve-return-code.js';

describe('resolveReturnCode', () => {
  it('takes numbers as they are and names with or without the vendor prefix', () => {
    expect(resolveReturnCode('nvidia', 15)).toBe(15);
    expect(resolveReturnCode('nvidia', 'GPU_IS_LOST')).toBe(15);
    expect(resolveReturnCode('nvidia', 'NVML_ERROR_DRIVER_NOT_LOADED')).toBe(9);
    expect(resolveReturnCode('nvidia', 'unknown')).toBe(999);
    expect(resolveReturnCode('ascend', 'INNER_ERR')).toBe(-8005);
    expect(resolveReturnCode('ascend', 'DCMI_ERR_DEVICE_NOT_EXIST')).toBe(-8008);
  });

  it('maps NOT_SUPPORTED / NOT_SUPPORT to each vendor own code and refuses names of the other vendor', () => {
    expect(resolveReturnCode('nvidia', 'NOT_SUPPORT')).toBe(3);
    expect(resolveReturnCode('ascend', 'NOT_SUPPORTED')).toBe(-8255);
    expect(resolveReturnCode('ascend', 'GPU_IS_LOST')).toBeUndefined();
    expect(resolveReturnCode('nvidia', 'INNER_ERR')).toBeUndefined();
  });
});
