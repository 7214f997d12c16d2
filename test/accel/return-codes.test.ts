import { describe, expect, it } from 'vitest';
import {
  apiError,
  DCMI_ERR_INNER,
  DCMI_ERR_NOT_SUPPORT,
  dcmiReturnName,
  formatApiError,
  notSupportedCode,
  NVML_ERROR_GPU_IS_LOST,
  NVML_ERROR_NOT_SUPPORTED,
  nvmlReturnName,
  returnName,
} from '../../src/accel/return-codes.js';

describe('nvmlReturnName', () => {
  it('names every nvmlReturn_t by its value (the table is positional, so one missing entry shifts the rest)', () => {
    expect(nvmlReturnName(0)).toBe('SUCCESS');
    expect(nvmlReturnName(1)).toBe('UNINITIALIZED');
    expect(nvmlReturnName(NVML_ERROR_NOT_SUPPORTED)).toBe('NOT_SUPPORTED');
    expect(nvmlReturnName(NVML_ERROR_GPU_IS_LOST)).toBe('GPU_IS_LOST');
    expect(nvmlReturnName(20)).toBe('MEMORY');
    expect(nvmlReturnName(28)).toBe('GPU_NOT_FOUND');
    expect(nvmlReturnName(30)).toBe('RESET_TYPE_NOT_SUPPORTED');
    expect(nvmlReturnName(999)).toBe('UNKNOWN');
  });

  it('keeps the number of codes past the table, negative or fractional', () => {
    expect(nvmlReturnName(31)).toBe('UNKNOWN_31');
    expect(nvmlReturnName(-1)).toBe('UNKNOWN_-1');
    expect(nvmlReturnName(1.5)).toBe('UNKNOWN_1.5');
  });
});

describe('dcmiReturnName', () => {
  it('names the DCMI codes, with the gaps in the numbering left unknown', () => {
    expect(dcmiReturnName(0)).toBe('OK');
    expect(dcmiReturnName(DCMI_ERR_INNER)).toBe('INNER_ERR');
    expect(dcmiReturnName(-8017)).toBe('IS_UPGRADING');
    expect(dcmiReturnName(-8018)).toBe('UNKNOWN_-8018');
    expect(dcmiReturnName(-8020)).toBe('RESOURCE_OCCUPIED');
    expect(dcmiReturnName(DCMI_ERR_NOT_SUPPORT)).toBe('NOT_SUPPORT');
  });

  it('knows only vendor codes: the DCMI backend\'s missing-symbol marker (-1) is not one', () => {
    expect(dcmiReturnName(-1)).toBe('UNKNOWN_-1');
  });
});

describe('returnName by vendor', () => {
  it('reads the same number differently per vendor', () => {
    expect(returnName('nvidia', 0)).toBe('SUCCESS');
    expect(returnName('ascend', 0)).toBe('OK');
    expect(returnName('nvidia', 3)).toBe('NOT_SUPPORTED');
    expect(returnName('ascend', 3)).toBe('UNKNOWN_3');
    expect(returnName('ascend', -8255)).toBe('NOT_SUPPORT');
    expect(returnName('nvidia', -8255)).toBe('UNKNOWN_-8255');
  });

  it('gives each vendor its own NOT_SUPPORTED code', () => {
    expect(notSupportedCode('nvidia')).toBe(3);
    expect(notSupportedCode('ascend')).toBe(-8255);
  });
});

describe('apiError and formatApiError', () => {
  it('carries the api, the vendor name and the raw value', () => {
    expect(apiError('nvidia', 'nvmlDeviceGetPowerUsage', 15)).toEqual({ api: 'nvmlDeviceGetPowerUsage', code: 'GPU_IS_LOST', value: 15 });
    expect(apiError('ascend', 'dcmi_init', -8005)).toEqual({ api: 'dcmi_init', code: 'INNER_ERR', value: -8005 });
  });

  it('formats like a BackendStatus message', () => {
    expect(formatApiError(apiError('nvidia', 'nvmlInitWithFlags', 9))).toBe('nvmlInitWithFlags: DRIVER_NOT_LOADED (9)');
    expect(formatApiError(apiError('ascend', 'dcmi_get_card_list', -9000))).toBe('dcmi_get_card_list: UNKNOWN_-9000 (-9000)');
  });
});
