/**
 * A probe reads one group of fields from every device and declares the metrics those fields feed.
 * One probe per file in this folder; index.ts lists them. The metrics renderer walks these
 * declarations, so a metric exists in exactly one place: next to the fields it comes from.
 */
import type { DeviceSnapshot, ProbeGroup, Vendor } from '../types.js';

/**
 * `dcgm`: dcgm-exporter names and labels (gpu, UUID, pci_bus_id, device, modelName, Hostname,
 * DCGM_FI_DRIVER_VERSION); `npu`: npu-exporter names and labels (id, model_name, vdie_id,
 * pcie_bus_info); `native`: brixlet_accelerator_* in base units (vendor, index, uuid, model,
 * pci_bus_id, node).
 */
export type MetricFamily = 'dcgm' | 'npu' | 'native';

export interface MetricSeries {
  /** Labels added to the family's device labels (e.g. `link`, `type`, `scope`). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricDecl {
  readonly family: MetricFamily;
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  /** Series for one device; an empty array (or undefined value) omits the device: never export a missing field as 0. */
  series(device: DeviceSnapshot): readonly MetricSeries[];
}

export interface Probe {
  readonly name: ProbeGroup;
  readonly description: string;
  readonly defaultEnabled: boolean;
  readonly vendors: readonly Vendor[];
  readonly metrics: readonly MetricDecl[];
}

/** The common case: one series whose value is a sample field (scaled), omitted when the field is absent. */
export function fieldSeries(value: number | boolean | undefined, scale = 1): readonly MetricSeries[] {
  if (value === undefined) return [];
  return [{ value: typeof value === 'boolean' ? (value ? 1 : 0) : value * scale }];
}
