/** The NVIDIA backend (NVML over koffi); only src/accel/select.ts imports this folder. */
import type { AcceleratorBackend } from '../types.js';
import { NvmlBackend, type NvmlBackendOptions } from './backend.js';

export { NvmlBackend, type NvmlBackendOptions } from './backend.js';

export function createNvmlBackend(opts: NvmlBackendOptions): AcceleratorBackend {
  return new NvmlBackend(opts);
}
