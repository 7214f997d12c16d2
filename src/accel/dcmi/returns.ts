/** DCMI return codes and their names (reference §3.2): 0 OK, errors count down from −8001. */
import type { ApiError } from '../types.js';

export const DCMI_OK = 0;
export const DCMI_ERR_INNER = -8005;
export const DCMI_ERR_NOT_SUPPORT = -8255;
/** Not a DCMI code: brixlet's marker for a symbol this libdcmi.so does not export. */
export const DCMI_FUNCTION_NOT_FOUND = -1;

const NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  [-1]: 'FUNCTION_NOT_FOUND',
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

/** `-8255` → `NOT_SUPPORT`; unknown codes keep their number (`UNKNOWN_-9000`). */
export function dcmiReturnName(code: number): string {
  return NAMES[code] ?? `UNKNOWN_${code}`;
}

/** NOT_SUPPORT means "this chip or driver cannot", as does a symbol the library lacks. */
export function isDcmiUnsupported(code: number): boolean {
  return code === DCMI_ERR_NOT_SUPPORT || code === DCMI_FUNCTION_NOT_FOUND;
}

export function dcmiError(api: string, code: number): ApiError {
  return { api, code: dcmiReturnName(code), value: code };
}

export function formatDcmiError(error: ApiError): string {
  return `${error.api}: ${error.code} (${error.value})`;
}
