/** nvmlReturn_t values and their names (reference §3.1). */
import type { ApiError } from '../types.js';

export const NVML_SUCCESS = 0;
export const NVML_ERROR_INVALID_ARGUMENT = 2;
export const NVML_ERROR_NOT_SUPPORTED = 3;
export const NVML_ERROR_INSUFFICIENT_SIZE = 7;
export const NVML_ERROR_TIMEOUT = 10;
export const NVML_ERROR_FUNCTION_NOT_FOUND = 13;
export const NVML_ERROR_GPU_IS_LOST = 15;
export const NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25;

const NAMES: readonly string[] = [
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

/** `3` → `NOT_SUPPORTED`; codes this table does not know keep their number (`UNKNOWN_42`). */
export function nvmlReturnName(code: number): string {
  if (code === 999) return 'UNKNOWN';
  return NAMES[code] ?? `UNKNOWN_${code}`;
}

export function nvmlError(api: string, code: number): ApiError {
  return { api, code: nvmlReturnName(code), value: code };
}

/** `nvmlInitWithFlags: DRIVER_NOT_LOADED (9)`: the form BackendStatus.message uses. */
export function formatNvmlError(error: ApiError): string {
  return `${error.api}: ${error.code} (${error.value})`;
}
