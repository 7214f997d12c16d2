/**
 * Ascend events. DCMI has no event wait like NVML's (newer drivers add dcmi_subscribe_fault_event,
 * which needs a callback thread and is absent from the drivers in the field), so the backend emits
 * no events: fault codes and health are read by the npu-health group every sample, and the
 * sampler sees a new fault as a change of `npuFaultCodes` within one interval.
 */
import type { AccelEvent } from '../types.js';

export class DcmiEvents {
  private readonly listeners = new Set<(event: AccelEvent) => void>();

  subscribe(listener: (event: AccelEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  clear(): void {
    this.listeners.clear();
  }
}
