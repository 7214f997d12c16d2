/**
 * The device health policy (ARCHITECTURE.md §3): healthy | degraded | unhealthy | unknown, with the
 * reasons worst first. Unhealthy is sticky, but never "until restart": it clears once a fresh sample
 * shows no unhealthy condition, read without errors, with the recovery action NONE and no new XID —
 * what users of the device plugin asked for (k8s-device-plugin#111, dra-driver#1455).
 */
import { evaluateConditions } from './conditions.js';
import { xidInfo } from './diagnose/xid-catalog.js';
import type { ApiError, DeviceHealth, DeviceIdentity, DeviceSample, XidRecord } from './types.js';

/** k8s-device-plugin's application XIDs: the workload's fault, not the GPU's. */
export const DEFAULT_XID_IGNORE: readonly number[] = [13, 31, 43, 45, 68, 109];

interface Sticky {
  readonly since: number;
  reasons: string[];
}

/** Parses `accel.xidIgnore` ("13,31,43"); empty means nothing is ignored. */
export function parseXidList(text: string): number[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
}

export function describeXid(xid: number): string {
  return `XID ${xid} (${xidInfo(xid).description})`;
}

/** Conditions that make a device unhealthy by themselves, from one sample (the shared rules in conditions.ts). */
export function unhealthyConditions(vendor: DeviceIdentity['vendor'], sample: DeviceSample, errors: readonly ApiError[]): string[] {
  return evaluateConditions(vendor, sample, errors)
    .filter((c) => c.level === 'unhealthy')
    .map((c) => c.reason);
}

/** Conditions that degrade a device (work goes on, slower or at risk): never sticky. */
export function degradedConditions(sample: DeviceSample, vendor: DeviceIdentity['vendor'] = 'nvidia'): string[] {
  return evaluateConditions(vendor, sample, [])
    .filter((c) => c.level === 'degraded')
    .map((c) => c.reason);
}

/**
 * Per-device health with memory: feed it every sample (and the XIDs that arrived since the last
 * one) and it answers the device's health. Pure apart from that memory; time comes in as `now`.
 */
export class HealthTracker {
  private readonly ignore: ReadonlySet<number>;
  private readonly sticky = new Map<string, Sticky>();

  constructor(opts: { readonly xidIgnore?: readonly number[] } = {}) {
    this.ignore = new Set(opts.xidIgnore ?? DEFAULT_XID_IGNORE);
  }

  /**
   * `unknown`: why this device's health cannot be judged now (backend failed, event source failed).
   * A device already unhealthy stays so; otherwise it is unknown — and never cleared while unknown,
   * since an XID may have gone unseen.
   */
  update(
    identity: DeviceIdentity,
    sample: DeviceSample,
    errors: readonly ApiError[],
    newXids: readonly XidRecord[],
    now: number,
    unknown?: string,
  ): DeviceHealth {
    const key = `${identity.vendor}:${identity.index}`;
    const xids = identity.vendor === 'nvidia' ? [...new Set(newXids.map((x) => x.xid).filter((x) => !this.ignore.has(x)))] : [];
    const fatal = [...xids.map(describeXid), ...unhealthyConditions(identity.vendor, sample, errors)];
    const degraded = degradedConditions(sample, identity.vendor);
    let sticky = this.sticky.get(key);

    if (fatal.length > 0) {
      // XID reasons are events: keep those seen earlier while the device is still unhealthy.
      const earlierXids = sticky?.reasons.filter((r) => r.startsWith('XID ') && !fatal.includes(r)) ?? [];
      sticky = { since: sticky?.since ?? now, reasons: [...earlierXids, ...fatal] };
      this.sticky.set(key, sticky);
    } else if (sticky !== undefined && unknown === undefined && errors.length === 0) {
      this.sticky.delete(key);
      sticky = undefined;
    }

    const held = sticky !== undefined && fatal.length === 0 && unknown === undefined ? [`held: ${errors[0]?.api}: ${errors[0]?.code} on the last sample`] : [];
    const tail = [...held, ...(unknown !== undefined ? [unknown] : []), ...degraded];
    if (sticky !== undefined) return { state: 'unhealthy', reasons: [...sticky.reasons, ...tail], since: sticky.since };
    if (unknown !== undefined) return { state: 'unknown', reasons: tail };
    if (degraded.length > 0) return { state: 'degraded', reasons: degraded };
    return { state: 'healthy', reasons: [] };
  }

  /** Drops a device's memory (it disappeared). */
  forget(identity: DeviceIdentity): void {
    this.sticky.delete(`${identity.vendor}:${identity.index}`);
  }
}
