/**
 * Return codes the sim backend reports: the vendor libraries' own numbers and names (from
 * ../return-codes.ts), so an override written for the native mock (`"nvmlDeviceGetPowerUsage": 15`)
 * reads the same through the sim backend, and health/diagnose see the codes they would see on
 * hardware. Unlike the DCMI backend, the sim has no missing-symbol marker: every API "exists".
 */
export { apiError, notSupportedCode, NVML_ERROR_GPU_IS_LOST as NVML_GPU_IS_LOST, returnName } from '../return-codes.js';
