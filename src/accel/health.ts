/**
 * The device health policy (ARCHITECTURE.md §3): healthy | degraded | unhealthy | unknown, with the
 * reasons worst first. Unhealthy is sticky, but never "until restart": it clears once a fresh sample
 * shows no unhealthy condition, read without errors, with the recovery action NONE and no new XID —
 * what users of the device plugin asked for (k8s-device-plugin#111, dra-driver#1455).
 */
import { RECOVERY_ACTIONS, xidInfo } from './diagnose/xid-catalog.js';
import type { ApiError, DeviceHealth, DeviceIdentity, DeviceSample, XidRecord } from './types.js';

/** k8s-device-plugin's application XIDs: the workload's fault, not the GPU's. */
export const DEFAULT_XID_IGNORE: readonly number[] = [13, 31, 43, 45, 68, 109];

const NVML_GPU_IS_LOST = 15;
const NVML_RESET_REQUIRED = 16;
const NPU_ABSENT = 0xffffffff;

const CLOCK_EVENTS: readonly (readonly [number, string])[] = [
  [0x8, 'HW slowdown'],
  [0x40, 'HW thermal slowdown'],
  [0x80, 'HW power brake'],
];

const NPU_LEVELS: Readonly<Record<number, string>> = { 1: 'minor', 2: 'major', 3: 'critical' };

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

/** Conditions that make a device unhealthy by themselves, from one sample. */
export function unhealthyConditions(vendor: DeviceIdentity['vendor'], sample: DeviceSample, errors: readonly ApiError[]): string[] {
  const out: string[] = [];
  if (vendor === 'nvidia') {
    const lost = errors.find((e) => e.value === NVML_GPU_IS_LOST);
    if (lost !== undefined) out.push(`GPU is lost (${lost.api}: ${lost.code})`);
    const reset = errors.find((e) => e.value === NVML_RESET_REQUIRED);
    if (reset !== undefined) out.push(`GPU reset required (${reset.api}: ${reset.code})`);
  }
  if (sample.eccDbeVolatile !== undefined && sample.eccDbeVolatile > 0) out.push(`ECC double-bit errors: ${sample.eccDbeVolatile} (volatile)`);
  if (sample.remapFailure === true) out.push('row remap failure');
  if (sample.recoveryAction !== undefined && sample.recoveryAction !== 0) {
    out.push(`recovery action ${RECOVERY_ACTIONS[sample.recoveryAction]?.name ?? 'UNKNOWN'} (${sample.recoveryAction})`);
  }
  const h = sample.npuHealth;
  if (h === NPU_ABSENT) out.push('NPU not present (health 0xFFFFFFFF)');
  else if (h !== undefined && h >= 2) out.push(`NPU ${NPU_LEVELS[h] ?? 'unknown'} alarm (health ${h})`);
  return out;
}

/** Conditions that degrade a device (work goes on, slower or at risk): never sticky. */
export function degradedConditions(sample: DeviceSample): string[] {
  const out: string[] = [];
  if (sample.npuHealth === 1) out.push('NPU minor alarm (health 1)');
  if (sample.npuFaultCodes !== undefined && sample.npuFaultCodes.length > 0) {
    out.push(`NPU fault codes: ${sample.npuFaultCodes.map((c) => `0x${(c >>> 0).toString(16).toUpperCase().padStart(8, '0')}`).join(', ')}`);
  }
  if (sample.remapPending === true) out.push('row remap pending (reset the GPU)');
  if (sample.retiredPagesPending === true) out.push('retired pages pending (reset the GPU)');
  const { pcieGen, pcieGenMax, pcieWidth, pcieWidthMax, gpuTempC, slowdownTempC } = sample;
  if (pcieGen !== undefined && pcieGenMax !== undefined && pcieGen < pcieGenMax) out.push(`PCIe link gen ${pcieGen} below max ${pcieGenMax}`);
  if (pcieWidth !== undefined && pcieWidthMax !== undefined && pcieWidth < pcieWidthMax) out.push(`PCIe link width x${pcieWidth} below max x${pcieWidthMax}`);
  const down = (sample.nvlinks ?? []).filter((l) => !l.active).map((l) => l.link);
  if (down.length > 0) out.push(`NVLink inactive: link ${down.join(', ')}`);
  if (gpuTempC !== undefined && slowdownTempC !== undefined && slowdownTempC > 0 && gpuTempC >= slowdownTempC) {
    out.push(`temperature ${gpuTempC} °C at or above slowdown threshold ${slowdownTempC} °C`);
  }
  const reasons = sample.clockEventReasons ?? 0;
  const events = CLOCK_EVENTS.filter(([bit]) => (reasons & bit) !== 0).map(([, name]) => name);
  if (events.length > 0) out.push(`clock events: ${events.join(', ')}`);
  return out;
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
    const degraded = degradedConditions(sample);
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
