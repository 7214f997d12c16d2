/**
 * Runs every diagnose check over a snapshot (level 1) or over two snapshots a window apart
 * (level 2: counter deltas and XIDs that arrived in between) and returns an ordered report:
 * node-level results first, then NVIDIA and Ascend devices by index, checks in a fixed order.
 */
import type { AccelSnapshot, DeviceSnapshot, Vendor } from '../types.js';
import { ascendChecks } from './ascend-checks.js';
import type { CheckOutcome, DeviceCheck } from './check.js';
import { deviceAccessCheck } from './device-access-check.js';
import type { DiagnoseReport, DiagnoseResult, DiagnoseSeverity, DiagnoseStatus } from './diagnose-report.js';
import { eccChecks } from './ecc-checks.js';
import { deviceCountCheck, driverChecks } from './node-checks.js';
import { nvlinkChecks } from './nvlink-checks.js';
import { pcieChecks } from './pcie-checks.js';
import { powerChecks } from './power-checks.js';
import { recoveryCheck } from './recovery-check.js';
import { retirementChecks } from './retirement-checks.js';
import { thermalCheck } from './thermal-check.js';
import { xidCheck } from './xid-check.js';

export interface RunDiagnoseOptions {
  readonly level: 1 | 2;
  readonly snapshot: AccelSnapshot;
  /** Level 2: a second snapshot taken a window after `snapshot`. */
  readonly later?: AccelSnapshot;
  /** Devices expected on the node; 0 = do not check. */
  readonly expectedCount: number;
  readonly xidIgnore: readonly number[];
}

/** The checks each vendor's devices get, in report order. */
export const DEVICE_CHECKS: Readonly<Record<Vendor, readonly DeviceCheck[]>> = {
  nvidia: [deviceAccessCheck, ...pcieChecks, ...eccChecks, ...retirementChecks, ...nvlinkChecks, thermalCheck, ...powerChecks, recoveryCheck, xidCheck],
  ascend: [deviceAccessCheck, ...ascendChecks, thermalCheck],
};

const VENDOR_ORDER: Readonly<Record<Vendor, number>> = { nvidia: 0, ascend: 1 };

const SEVERITY: Readonly<Record<DiagnoseStatus, DiagnoseSeverity>> = { pass: 'info', skip: 'info', warn: 'warning', fail: 'critical' };

const key = (d: DeviceSnapshot) => `${d.identity.vendor}:${d.identity.index}`;

export function runDiagnose(opts: RunDiagnoseOptions): DiagnoseReport {
  const { level, snapshot } = opts;
  const later = level === 2 ? opts.later : undefined;
  const current = later ?? snapshot;
  const windowMs = later === undefined ? undefined : Math.max(0, later.at - snapshot.at);
  const xidIgnore = new Set(opts.xidIgnore);
  const results: DiagnoseResult[] = [];

  for (const n of [...driverChecks(current), deviceCountCheck(current, opts.expectedCount)]) {
    const { check, vendor, ...outcome } = n;
    results.push(toResult(check, null, vendor, undefined, outcome));
  }

  const earlier = new Map(later === undefined ? [] : snapshot.devices.map((d) => [key(d), d]));
  const devices = [...current.devices].sort((a, b) => VENDOR_ORDER[a.identity.vendor] - VENDOR_ORDER[b.identity.vendor] || a.identity.index - b.identity.index);
  for (const device of devices) {
    const before = earlier.get(key(device));
    const { vendor, index, uuid } = device.identity;
    for (const check of DEVICE_CHECKS[vendor]) {
      results.push(toResult(check.name, index, vendor, uuid, check.run({ level, device, before, windowMs, xidIgnore })));
    }
  }

  if (later !== undefined) {
    const present = new Set(later.devices.map(key));
    for (const gone of snapshot.devices.filter((d) => !present.has(key(d)))) {
      const { vendor, index, uuid } = gone.identity;
      results.push(
        toResult('device-access', index, vendor, uuid, {
          status: 'fail',
          action: 'reboot-node',
          observed: 'disappeared during the window',
          expected: 'present',
          message: 'the device was listed at the start of the window and not at the end',
        }),
      );
    }
  }

  const summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) summary[r.status]++;
  return {
    level,
    node: current.node,
    at: new Date(current.at).toISOString(),
    ...(windowMs === undefined ? {} : { windowMs }),
    summary,
    results,
  };
}

function toResult(check: string, device: number | null, vendor: Vendor | null, uuid: string | undefined, o: CheckOutcome): DiagnoseResult {
  return {
    check,
    device,
    vendor,
    ...(uuid === undefined ? {} : { uuid }),
    status: o.status,
    severity: SEVERITY[o.status],
    action: o.action,
    observed: o.observed,
    expected: o.expected,
    message: o.message,
  };
}
