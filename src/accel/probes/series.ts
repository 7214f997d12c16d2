/**
 * Small builders the probe files share, so each probe reads as a list of metric declarations.
 * A series whose value is undefined is dropped here: a field that was not read never becomes a 0.
 */
import type { DeviceSnapshot, Vendor } from '../types.js';
import type { MetricDecl, MetricFamily, MetricSeries } from './probe.js';

export const BYTES_PER_MIB = 1024 * 1024;

/** dcgm-exporter and npu-exporter report memory in whole MiB ("MB" in npu-exporter's help). */
export function wholeMib(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.floor(bytes / BYTES_PER_MIB);
}

export function percentToRatio(percent: number | undefined): number | undefined {
  return percent === undefined ? undefined : percent / 100;
}

export function mhzToHertz(mhz: number | undefined): number | undefined {
  return mhz === undefined ? undefined : mhz * 1e6;
}

export function flag(value: boolean | undefined): number | undefined {
  return value === undefined ? undefined : value ? 1 : 0;
}

/** Series with extra labels; entries whose value is undefined are left out. */
export function labeled(
  entries: readonly (readonly [Readonly<Record<string, string>>, number | undefined])[],
): readonly MetricSeries[] {
  const out: MetricSeries[] = [];
  for (const [labels, value] of entries) if (value !== undefined) out.push({ labels, value });
  return out;
}

/** One unlabelled series, or none when the value is absent. */
export function single(value: number | undefined): readonly MetricSeries[] {
  return value === undefined ? [] : [{ value }];
}

/** Only for devices of one vendor: the same sample field can mean different things per vendor. */
export function onlyFor(vendor: Vendor, series: (device: DeviceSnapshot) => readonly MetricSeries[]) {
  return (device: DeviceSnapshot): readonly MetricSeries[] => (device.identity.vendor === vendor ? series(device) : []);
}

export function gauge(
  family: MetricFamily,
  name: string,
  help: string,
  series: (device: DeviceSnapshot) => readonly MetricSeries[],
): MetricDecl {
  return { family, name, type: 'gauge', help, series };
}

export function counter(
  family: MetricFamily,
  name: string,
  help: string,
  series: (device: DeviceSnapshot) => readonly MetricSeries[],
): MetricDecl {
  return { family, name, type: 'counter', help, series };
}
