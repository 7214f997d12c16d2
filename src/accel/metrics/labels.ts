/**
 * The device labels of each metric family, in the order the compatible exporters write them, so
 * existing dashboards, recording rules and joins keep working.
 */
import type { AccelSnapshot, DeviceSnapshot } from '../types.js';
import type { MetricFamily } from '../probes/probe.js';
import { formatLabelPairs } from './exposition.js';

export interface DeviceLabels {
  /** Pre-rendered `name="value",…` per family (no braces), escaped. */
  readonly dcgm: string;
  readonly npu: string;
  readonly native: string;
}

/** dcgm-exporter: gpu, UUID, pci_bus_id, device, modelName, Hostname, DCGM_FI_DRIVER_VERSION. */
export function dcgmLabelPairs(device: DeviceSnapshot, hostname: string, driverVersion: string): (readonly [string, string])[] {
  const id = device.identity;
  return [
    ['gpu', String(id.index)],
    ['UUID', id.uuid],
    ['pci_bus_id', id.pciBusId],
    // The minor number names /dev/nvidiaN; it equals the index on most hosts, not on all.
    ['device', `nvidia${id.minor ?? id.index}`],
    ['modelName', id.name],
    ['Hostname', hostname],
    ['DCGM_FI_DRIVER_VERSION', driverVersion],
  ];
}

/** npu-exporter v5+: id (physical id), model_name, vdie_id, pcie_bus_info. */
export function npuLabelPairs(device: DeviceSnapshot): (readonly [string, string])[] {
  const id = device.identity;
  return [
    ['id', String(id.phyId ?? id.index)],
    ['model_name', id.name],
    ['vdie_id', id.uuid],
    ['pcie_bus_info', id.pciBusId],
  ];
}

export function nativeLabelPairs(device: DeviceSnapshot, node: string): (readonly [string, string])[] {
  const id = device.identity;
  return [
    ['vendor', id.vendor],
    ['index', String(id.index)],
    ['uuid', id.uuid],
    ['model', id.name],
    ['pci_bus_id', id.pciBusId],
    ['node', node],
  ];
}

/** The driver version label comes from the status of the backend that read the device. */
export function driverVersionOf(snapshot: AccelSnapshot, device: DeviceSnapshot): string {
  for (const b of snapshot.backends) {
    if (b.kind === device.backend && b.vendor === device.identity.vendor) return b.driverVersion ?? '';
  }
  return '';
}

export function deviceLabels(snapshot: AccelSnapshot, device: DeviceSnapshot, hostname: string): DeviceLabels {
  return {
    dcgm: formatLabelPairs(dcgmLabelPairs(device, hostname, driverVersionOf(snapshot, device))),
    npu: formatLabelPairs(npuLabelPairs(device)),
    native: formatLabelPairs(nativeLabelPairs(device, snapshot.node)),
  };
}

/** Which devices a family describes: the compatible families mirror a single vendor's exporter. */
export function familyCovers(family: MetricFamily, device: DeviceSnapshot): boolean {
  if (family === 'dcgm') return device.identity.vendor === 'nvidia';
  if (family === 'npu') return device.identity.vendor === 'ascend';
  return true;
}
