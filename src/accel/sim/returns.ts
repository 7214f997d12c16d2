/**
 * Return codes the sim backend reports, with the same numbers and symbolic names as the vendor
 * libraries, so an override written for the native mock (`"nvmlDeviceGetPowerUsage": 15`) reads the
 * same through the sim backend, and health/diagnose see the codes they would see on hardware.
 */
import type { ApiError, Vendor } from '../types.js';

export const NVML_SUCCESS = 0;
export const NVML_NOT_SUPPORTED = 3;
export const NVML_GPU_IS_LOST = 15;
export const DCMI_OK = 0;
export const DCMI_NOT_SUPPORT = -8255;

const NVML_NAMES: Readonly<Record<number, string>> = {
  0: 'SUCCESS',
  1: 'UNINITIALIZED',
  2: 'INVALID_ARGUMENT',
  3: 'NOT_SUPPORTED',
  4: 'NO_PERMISSION',
  5: 'ALREADY_INITIALIZED',
  6: 'NOT_FOUND',
  7: 'INSUFFICIENT_SIZE',
  8: 'INSUFFICIENT_POWER',
  9: 'DRIVER_NOT_LOADED',
  10: 'TIMEOUT',
  11: 'IRQ_ISSUE',
  12: 'LIBRARY_NOT_FOUND',
  13: 'FUNCTION_NOT_FOUND',
  14: 'CORRUPTED_INFOROM',
  15: 'GPU_IS_LOST',
  16: 'RESET_REQUIRED',
  17: 'OPERATING_SYSTEM',
  18: 'LIB_RM_VERSION_MISMATCH',
  19: 'IN_USE',
  20: 'MEMORY',
  21: 'NO_DATA',
  22: 'VGPU_ECC_NOT_SUPPORTED',
  23: 'INSUFFICIENT_RESOURCES',
  24: 'FREQ_NOT_SUPPORTED',
  25: 'ARGUMENT_VERSION_MISMATCH',
  26: 'DEPRECATED',
  27: 'NOT_READY',
  28: 'GPU_NOT_FOUND',
  29: 'INVALID_STATE',
  30: 'RESET_TYPE_NOT_SUPPORTED',
  999: 'UNKNOWN',
};

const DCMI_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  [-8001]: 'INVALID_PARAMETER',
  [-8002]: 'OPER_NOT_PERMITTED',
  [-8003]: 'MEM_OPERATE_FAIL',
  [-8004]: 'SECURE_FUN_FAIL',
  [-8005]: 'INNER_ERR',
  [-8006]: 'TIME_OUT',
  [-8007]: 'INVALID_DEVICE_ID',
  [-8008]: 'DEVICE_NOT_EXIST',
  [-8009]: 'IOCTL_FAIL',
  [-8010]: 'SEND_MSG_FAIL',
  [-8011]: 'RECV_MSG_FAIL',
  [-8012]: 'NOT_READY',
  [-8013]: 'NOT_SUPPORT_IN_CONTAINER',
  [-8014]: 'FILE_OPERATE_FAIL',
  [-8015]: 'RESET_FAIL',
  [-8016]: 'ABORT_OPERATE',
  [-8017]: 'IS_UPGRADING',
  [-8020]: 'RESOURCE_OCCUPIED',
  [-8022]: 'PARTITION_NOT_RIGHT',
  [-8023]: 'CONFIG_INFO_NOT_EXIST',
  [-8255]: 'NOT_SUPPORT',
};

/** The vendor's symbolic name for a return code; unknown codes keep their number visible. */
export function returnName(vendor: Vendor, code: number): string {
  const names = vendor === 'nvidia' ? NVML_NAMES : DCMI_NAMES;
  return names[code] ?? `UNKNOWN_${code}`;
}

export function notSupportedCode(vendor: Vendor): number {
  return vendor === 'nvidia' ? NVML_NOT_SUPPORTED : DCMI_NOT_SUPPORT;
}

export function apiError(vendor: Vendor, api: string, code: number): ApiError {
  return { api, code: returnName(vendor, code), value: code };
}
