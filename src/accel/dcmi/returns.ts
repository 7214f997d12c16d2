/** The DCMI codes and helpers the DCMI backend uses; the table lives in ../return-codes.ts. */
import type { ApiError } from '../types.js';
import { dcmiReturnName as vendorName, DCMI_ERR_NOT_SUPPORT, formatApiError } from '../return-codes.js';

export { DCMI_ERR_INNER, DCMI_ERR_NOT_SUPPORT, DCMI_OK } from '../return-codes.js';

/** Not a DCMI code: brixlet's marker for a symbol this libdcmi.so does not export. */
export const DCMI_FUNCTION_NOT_FOUND = -1;

/** `-8255` → `NOT_SUPPORT`, plus brixlet's missing-symbol marker; unknown codes keep their number (`UNKNOWN_-9000`). */
export function dcmiReturnName(code: number): string {
  return code === DCMI_FUNCTION_NOT_FOUND ? 'FUNCTION_NOT_FOUND' : vendorName(code);
}

/** NOT_SUPPORT means "this chip or driver cannot", as does a symbol the library lacks. */
export function isDcmiUnsupported(code: number): boolean {
  return code === DCMI_ERR_NOT_SUPPORT || code === DCMI_FUNCTION_NOT_FOUND;
}

export function dcmiError(api: string, code: number): ApiError {
  return { api, code: dcmiReturnName(code), value: code };
}

export const formatDcmiError: (error: ApiError) => string = formatApiError;
