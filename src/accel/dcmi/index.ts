/** The Huawei Ascend backend (DCMI over koffi); only src/accel/select.ts imports this folder. */
import type { AcceleratorBackend } from '../types.js';
import { DcmiBackend, type DcmiBackendOptions } from './backend.js';

export { DcmiBackend, type DcmiBackendOptions } from './backend.js';

export function createDcmiBackend(opts: DcmiBackendOptions): AcceleratorBackend {
  return new DcmiBackend(opts);
}
