/** The sim backend: one AcceleratorBackend per vendor section of a scenario (nvml → nvidia, dcmi → ascend). */
import type { Logger } from '../../common/logger.js';
import type { Scenario } from '../scenario.js';
import type { AcceleratorBackend } from '../types.js';
import { SimBackend } from './backend.js';

export { NVML_EVENT_WAIT_API, SimBackend, type SimBackendOptions } from './backend.js';

/** Unopened backends for the sections the scenario has, NVIDIA first; the caller opens them. */
export function createSimBackends(scenario: Scenario, opts: { log: Logger; now?: () => number; callTimeoutMs?: number }): AcceleratorBackend[] {
  const common = {
    scenario: scenario.name,
    log: opts.log,
    ...(opts.now !== undefined ? { now: opts.now } : {}),
    ...(opts.callTimeoutMs !== undefined ? { callTimeoutMs: opts.callTimeoutMs } : {}),
  };
  const out: SimBackend[] = [];
  if (scenario.nvml !== undefined) out.push(new SimBackend('nvidia', scenario.nvml, common));
  if (scenario.dcmi !== undefined) out.push(new SimBackend('ascend', scenario.dcmi, common));
  return out;
}
