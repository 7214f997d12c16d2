/**
 * The vendor libraries' return codes and their names: nvmlReturn_t (reference §3.1) and DCMI's
 * (reference §3.2, 0 OK, errors counting down from −8001). Vendor-neutral facts, so the NVML, DCMI
 * and sim backends name a code the same way and health/diagnose see one vocabulary whichever
 * backend read the device.
 */
import type { ApiError, Vendor } from './types.js';

export const NVML_SUCCESS = 0;
export const NVML_ERROR_INVALID_ARGUMENT = 2;
export const NVML_ERROR_NOT_SUPPORTED = 3;
export const NVML_ERROR_INSUFFICIENT_SIZE = 7;
export const NVML_ERROR_TIMEOUT = 10;
export const NVML_ERROR_FUNCTION_NOT_FOUND = 13;
export const NVML_ERROR_GPU_IS_LOST = 15;
export const NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25;
export const NVML_ERROR_UNKNOWN = 999;

export const DCMI_OK = 0;
export const DCMI_ERR_INNER = -8005;
export const DCMI_ERR_NOT_SUPPORT = -8255;

/** nvmlReturn_t 0…30 by value; 999 (UNKNOWN) is the one code outside the run. */
const NVML_NAMES: readonly string[] = [
  'SUCCESS',
  'UNINITIALIZED',
  'INVALID_ARGUMENT',
  'NOT_SUPPORTED',
  'NO_PERMISSION',
  'ALREADY_INITIALIZED',
  'NOT_FOUND',
  'INSUFFICIENT_SIZE',
  'INSUFFICIENT_POWER',
  'DRIVER_NOT_LOADED',
  'TIMEOUT',
  'IRQ_ISSUE',
  'LIBRARY_NOT_FOUND',
  'FUNCTION_NOT_FOUND',
  'CORRUPTED_INFOROM',
  'GPU_IS_LOST',
  'RESET_REQUIRED',
  'OPERATING_SYSTEM',
  'LIB_RM_VERSION_MISMATCH',
  'IN_USE',
  'MEMORY',
  'NO_DATA',
  'VGPU_ECC_NOT_SUPPORTED',
  'INSUFFICIENT_RESOURCES',
  'FREQ_NOT_SUPPORTED',
  'ARGUMENT_VERSION_MISMATCH',
  'DEPRECATED',
  'NOT_READY',
  'GPU_NOT_FOUND',
  'INVALID_STATE',
  'RESET_TYPE_NOT_SUPPORTED',
];

const DCMI_NAMES: Readonly<Record<number, string>> = {
  [DCMI_OK]: 'OK',
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
  [DCMI_ERR_NOT_SUPPORT]: 'NOT_SUPPORT',
};

/** A code a table does not know keeps its number visible: `UNKNOWN_42` tells an operator more than `UNKNOWN`. */
const unknown = (code: number) => `UNKNOWN_${code}`;

/** `3` → `NOT_SUPPORTED`. */
export function nvmlReturnName(code: number): string {
  if (code === NVML_ERROR_UNKNOWN) return 'UNKNOWN';
  return NVML_NAMES[code] ?? unknown(code);
}

/** `-8255` → `NOT_SUPPORT`. */
export function dcmiReturnName(code: number): string {
  return DCMI_NAMES[code] ?? unknown(code);
}

/** The vendor library's symbolic name for a return code. */
export function returnName(vendor: Vendor, code: number): string {
  return vendor === 'nvidia' ? nvmlReturnName(code) : dcmiReturnName(code);
}

/** The code the vendor library answers for "this device or driver cannot". */
export function notSupportedCode(vendor: Vendor): number {
  return vendor === 'nvidia' ? NVML_ERROR_NOT_SUPPORTED : DCMI_ERR_NOT_SUPPORT;
}

export function apiError(vendor: Vendor, api: string, code: number): ApiError {
  return { api, code: returnName(vendor, code), value: code };
}

/** `nvmlInitWithFlags: DRIVER_NOT_LOADED (9)`: the form BackendStatus.message uses. */
export function formatApiError(error: ApiError): string {
  return `${error.api}: ${error.code} (${error.value})`;
}
