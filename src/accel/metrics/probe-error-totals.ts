/**
 * Running totals behind brixlet_accelerator_probe_errors_total{api,code}. A snapshot carries only
 * the failed calls of its own sample, so the counter has to be accumulated across snapshots.
 * `observe` counts each snapshot once, whoever calls it first: the agent can call it from the
 * sampler's onSnapshot so that snapshots nobody scraped still count, and the renderer calls it
 * again harmlessly. A seq that does not move forward means a new sampler: the totals restart from
 * zero, which Prometheus reads as an ordinary counter reset.
 */
import type { AccelSnapshot, DeviceSnapshot } from '../types.js';

export interface ErrorTotal {
  readonly api: string;
  readonly code: string;
  readonly count: number;
}

function deviceKey(device: DeviceSnapshot): string {
  return `${device.identity.vendor}/${device.identity.index}/${device.identity.uuid}`;
}

export class ProbeErrorTotals {
  #last: AccelSnapshot | undefined;
  readonly #byDevice = new Map<string, Map<string, { api: string; code: string; count: number }>>();

  observe(snapshot: AccelSnapshot): void {
    if (snapshot === this.#last) return;
    // A sampler publishes one object per seq: another object with a seq not above the last one
    // comes from another sampler (a restart, or a second one in the same process).
    if (this.#last !== undefined && snapshot.seq <= this.#last.seq) this.#byDevice.clear();
    this.#last = snapshot;
    for (const device of snapshot.devices) {
      if (device.errors.length === 0) continue;
      const key = deviceKey(device);
      let totals = this.#byDevice.get(key);
      if (totals === undefined) this.#byDevice.set(key, (totals = new Map()));
      for (const e of device.errors) {
        const k = `${e.api}\0${e.code}`;
        const t = totals.get(k);
        if (t === undefined) totals.set(k, { api: e.api, code: e.code, count: 1 });
        else t.count += 1;
      }
    }
  }

  /** Totals of one device, in the order the errors were first seen. */
  of(device: DeviceSnapshot): readonly ErrorTotal[] {
    const totals = this.#byDevice.get(deviceKey(device));
    return totals === undefined ? [] : [...totals.values()];
  }
}
