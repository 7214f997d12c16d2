import { describe, expect, it } from 'vitest';
import { dcmiError } from '../../../src/accel/dcmi/returns.js';
import { nvmlError } from '../../../src/accel/nvml/returns.js';
import { apiError, notSupportedCode, NVML_GPU_IS_LOST, returnName } from '../../../src/accel/sim/returns.js';

// The sim backend must report failures exactly as the native backends would, so health, diagnose
// and /v1/accelerators cannot tell a sim override from a native mock override.
describe('sim return codes', () => {
  it('name NVML codes as the NVML backend does', () => {
    for (const code of [0, 2, 3, 7, 9, 13, 15, 25, 30, 31, 999]) expect(apiError('nvidia', 'nvmlDeviceGetPowerUsage', code)).toEqual(nvmlError('nvmlDeviceGetPowerUsage', code));
  });

  it('name DCMI vendor codes as the DCMI backend does', () => {
    for (const code of [0, -8001, -8005, -8013, -8023, -8255, -9000]) expect(apiError('ascend', 'dcmi_get_device_health', code)).toEqual(dcmiError('dcmi_get_device_health', code));
  });

  it('have no missing-symbol marker: -1 stays a number', () => {
    expect(returnName('ascend', -1)).toBe('UNKNOWN_-1');
  });

  it('use each vendor\'s NOT_SUPPORTED code, which the backend answers for not-supported fields', () => {
    expect(returnName('nvidia', notSupportedCode('nvidia'))).toBe('NOT_SUPPORTED');
    expect(returnName('ascend', notSupportedCode('ascend'))).toBe('NOT_SUPPORT');
  });

  it('GPU_IS_LOST is the NVML code that ends a read', () => {
    expect(returnName('nvidia', NVML_GPU_IS_LOST)).toBe('GPU_IS_LOST');
  });
});
