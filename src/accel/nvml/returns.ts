/** The nvmlReturn_t codes and helpers the NVML backend uses; the table lives in ../return-codes.ts. */
import type { ApiError } from '../types.js';
import { apiError, formatApiError } from '../return-codes.js';

export {
  NVML_ERROR_ARGUMENT_VERSION_MISMATCH,
  NVML_ERROR_FUNCTION_NOT_FOUND,
  NVML_ERROR_GPU_IS_LOST,
  NVML_ERROR_INSUFFICIENT_SIZE,
  NVML_ERROR_INVALID_ARGUMENT,
  NVML_ERROR_NOT_SUPPORTED,
  NVML_ERROR_TIMEOUT,
  NVML_SUCCESS,
  nvmlReturnName,
} from '../return-codes.js';

export function nvmlError(api: string, code: number): ApiError {
  return apiError('nvidia', api, code);
}

export const formatNvmlError: (error: ApiError) => string = formatApiError;
