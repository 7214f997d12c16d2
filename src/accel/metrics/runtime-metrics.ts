/**
 * Metrics that come from the runtime rather than from a probe's fields: XIDs (event stream),
 * health (policy), probe errors, backends and probe timings (sampler), identity-only series.
 */
import type { AccelSnapshot, DeviceSnapshot, HealthState } from '../types.js';
import type { MetricFamily, MetricSeries } from '../probes/probe.js';
import type { ProbeErrorTotals } from './probe-error-totals.js';

export interface RenderContext {
  readonly snapshot: AccelSnapshot;
  readonly errorTotals: ProbeErrorTotals;
}

interface DeclHead {
  readonly family: MetricFamily;
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
}

/** Per-device series; the renderer adds the family's device labels. */
export interface DeviceDecl extends DeclHead {
  series(device: DeviceSnapshot, ctx: RenderContext): readonly MetricSeries[];
}

/** Node-level series: only the labels given here. */
export interface NodeDecl extends DeclHead {
  series(ctx: RenderContext): readonly MetricSeries[];
}

/** dcgm-exporter's default --xid-count-window-size. */
export const XID_WINDOW_MS = 300_000;

const HEALTH_STATES: readonly HealthState[] = ['healthy', 'degraded', 'unhealthy', 'unknown'];

function recentXidCounts(device: DeviceSnapshot, now: number): readonly MetricSeries[] {
  const since = now - XID_WINDOW_MS;
  const counts = new Map<number, number>();
  for (const r of device.recentXids) if (r.at > since && r.at <= now) counts.set(r.xid, (counts.get(r.xid) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([xid, n]) => ({ labels: { xid: String(xid), window_size_in_ms: String(XID_WINDOW_MS) }, value: n }));
}

export const RUNTIME_DEVICE_METRICS: readonly DeviceDecl[] = [
  {
    family: 'dcgm',
    name: 'DCGM_FI_DEV_XID_ERRORS',
    type: 'gauge',
    help: 'Value of the last XID error encountered.',
    // dcgm-exporter reports 0 until the first XID: the event stream was read, no XID is a value.
    series: (d) => [{ value: d.recentXids.at(-1)?.xid ?? 0 }],
  },
  {
    family: 'dcgm',
    name: 'DCGM_EXP_XID_ERRORS_COUNT',
    type: 'gauge',
    help: 'XID errors reported within the last window_size_in_ms milliseconds, by XID.',
    series: (d, ctx) => recentXidCounts(d, ctx.snapshot.at),
  },
  {
    family: 'npu',
    name: 'npu_chip_info_name',
    type: 'gauge',
    help: 'the Ascend npu name with value \'1\'',
    series: (d) => [{ labels: { name: d.identity.name }, value: 1 }],
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_xid_errors_total',
    type: 'counter',
    help: 'XID errors reported by the driver since the agent started, by XID number.',
    series: (d) =>
      Object.entries(d.xidCounts)
        .map(([xid, n]) => [Number(xid), n] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([xid, n]) => ({ labels: { xid: String(xid) }, value: n })),
  },
  {
    // The {xid} series above can only appear with their first XID (the numbers are not known before),
    // so increase()/rate() on them miss that first one; this one is 0 from the first sample that finds
    // an NVIDIA device, so alerts and panels that count XIDs per device see every one. Other vendors
    // have no XIDs: their series appears only if one is injected (fault rules).
    family: 'native',
    name: 'brixlet_accelerator_xid_errors_all_total',
    type: 'counter',
    help: 'XID errors reported by the driver since the agent started, all XID numbers together; 0 from the first sample that finds an NVIDIA device.',
    series: (d) => {
      const total = Object.values(d.xidCounts).reduce((a, n) => a + n, 0);
      return d.identity.vendor === 'nvidia' || total > 0 ? [{ value: total }] : [];
    },
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_healthy',
    type: 'gauge',
    help: 'Whether the device can take work: 1 when healthy or degraded, 0 when unhealthy or unknown.',
    series: (d) => [{ value: d.health.state === 'healthy' || d.health.state === 'degraded' ? 1 : 0 }],
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_health_state',
    type: 'gauge',
    help: 'Device health state, one series per state, 1 for the current one.',
    series: (d) => HEALTH_STATES.map((state) => ({ labels: { state }, value: d.health.state === state ? 1 : 0 })),
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_probe_errors_total',
    type: 'counter',
    help: 'Failed vendor library calls (other than NOT_SUPPORTED) since the agent started, by API and return code.',
    series: (d, ctx) => ctx.errorTotals.of(d).map((t) => ({ labels: { api: t.api, code: t.code }, value: t.count })),
  },
];

export const RUNTIME_NODE_METRICS: readonly NodeDecl[] = [
  {
    family: 'npu',
    name: 'machine_npu_nums',
    type: 'gauge',
    help: 'Amount of npu installed on the machine.',
    series: ({ snapshot }) => {
      if (!snapshot.backends.some((b) => b.vendor === 'ascend' && b.state === 'up')) return [];
      let n = 0;
      for (const d of snapshot.devices) if (d.identity.vendor === 'ascend') n += 1;
      return [{ value: n }];
    },
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_devices',
    type: 'gauge',
    help: 'Accelerators found on the node, by vendor (vendors whose library was looked for).',
    series: ({ snapshot }) => {
      const vendors = [...new Set(snapshot.backends.map((b) => b.vendor))];
      return vendors.map((vendor) => ({
        labels: { vendor },
        value: snapshot.devices.filter((d) => d.identity.vendor === vendor).length,
      }));
    },
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_backend_up',
    type: 'gauge',
    help: 'Whether the vendor backend is up (1) or absent/failed (0).',
    series: ({ snapshot }) => snapshot.backends.map((b) => ({ labels: { vendor: b.vendor, backend: b.kind }, value: b.state === 'up' ? 1 : 0 })),
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_probe_duration_seconds',
    type: 'gauge',
    help: 'How long the probe took on every device in the last sample, seconds.',
    series: ({ snapshot }) => snapshot.probes.map((p) => ({ labels: { probe: p.probe }, value: p.durationSeconds })),
  },
  {
    family: 'native',
    name: 'brixlet_accelerator_probe_success',
    type: 'gauge',
    help: 'Whether the probe read every device without error in the last sample (1) or not (0).',
    series: ({ snapshot }) => snapshot.probes.map((p) => ({ labels: { probe: p.probe }, value: p.success ? 1 : 0 })),
  },
];
