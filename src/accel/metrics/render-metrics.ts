/**
 * Renders an accelerator snapshot as Prometheus text (exposition format 0.0.4). Runs once per
 * snapshot; the agent caches the text. Metric order is declaration order (probes in the order
 * given, then runtime metrics), series within a metric follow device order. Declarations are
 * compiled once per probe list, device labels once per render, so the per-series work is one
 * string concatenation.
 */
import type { AccelSnapshot } from '../types.js';
import type { MetricFamily, MetricSeries, Probe } from '../probes/probe.js';
import { escapeHelp, formatLabelPairs, formatValue } from './exposition.js';
import { type DeviceLabels, deviceLabels, familyCovers } from './labels.js';
import { ProbeErrorTotals } from './probe-error-totals.js';
import { type DeviceDecl, type NodeDecl, type RenderContext, RUNTIME_DEVICE_METRICS, RUNTIME_NODE_METRICS } from './runtime-metrics.js';

export interface RenderAccelMetricsOptions {
  readonly probes: readonly Probe[];
  /** dcgm-exporter compatible DCGM_* families for NVIDIA GPUs. */
  readonly dcgm: boolean;
  /** npu-exporter compatible npu_* / machine_npu_nums families for Ascend NPUs. */
  readonly npu: boolean;
  /** The dcgm-exporter `Hostname` label. */
  readonly hostname: string;
  /** Running probe-error totals; defaults to one shared by the process. */
  readonly errorTotals?: ProbeErrorTotals;
}

interface MetricGroup {
  readonly family: MetricFamily;
  readonly name: string;
  /** `# HELP` and `# TYPE` lines, written once per name. */
  readonly header: string;
  readonly decls: DeviceDecl[];
}

const defaultErrorTotals = new ProbeErrorTotals();
const compiled = new WeakMap<readonly Probe[], readonly MetricGroup[]>();

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** Groups declarations by name (first occurrence fixes the position); a name must keep one type. */
function compile(probes: readonly Probe[]): readonly MetricGroup[] {
  const cached = compiled.get(probes);
  if (cached !== undefined) return cached;
  const groups = new Map<string, MetricGroup & { readonly type: string }>();
  const add = (decl: DeviceDecl) => {
    const existing = groups.get(decl.name);
    if (existing === undefined) {
      groups.set(decl.name, { family: decl.family, name: decl.name, type: decl.type, header: header(decl.name, decl.type, decl.help), decls: [decl] });
    } else if (existing.type !== decl.type || existing.family !== decl.family) {
      throw new TypeError(`metric ${decl.name} is declared twice with different types or families`);
    } else {
      existing.decls.push(decl);
    }
  };
  for (const probe of probes) for (const m of probe.metrics) add({ ...m, series: (d) => m.series(d) });
  for (const m of RUNTIME_DEVICE_METRICS) add(m);
  const list = [...groups.values()];
  compiled.set(probes, list);
  return list;
}

function extraLabels(series: MetricSeries): string {
  if (series.labels === undefined) return '';
  return `,${formatLabelPairs(Object.entries(series.labels))}`;
}

function nodeLine(name: string, series: MetricSeries): string {
  const value = formatValue(series.value);
  if (value === undefined) return '';
  if (series.labels === undefined) return `${name} ${value}\n`;
  return `${name}{${formatLabelPairs(Object.entries(series.labels))}} ${value}\n`;
}

export function renderAccelMetrics(snapshot: AccelSnapshot, opts: RenderAccelMetricsOptions): string {
  const errorTotals = opts.errorTotals ?? defaultErrorTotals;
  errorTotals.observe(snapshot);
  const ctx: RenderContext = { snapshot, errorTotals };
  const enabled = (family: MetricFamily) => family === 'native' || (family === 'dcgm' ? opts.dcgm : opts.npu);
  const devices = snapshot.devices;
  const labels: DeviceLabels[] = devices.map((d) => deviceLabels(snapshot, d, opts.hostname));

  let out = '';
  for (const group of compile(opts.probes)) {
    if (!enabled(group.family)) continue;
    let body = '';
    for (const decl of group.decls) {
      for (let i = 0; i < devices.length; i++) {
        const device = devices[i]!;
        if (!familyCovers(group.family, device)) continue;
        const prefix = `${group.name}{${labels[i]![group.family]}`;
        for (const s of decl.series(device, ctx)) {
          const value = formatValue(s.value);
          if (value !== undefined) body += `${prefix}${extraLabels(s)}} ${value}\n`;
        }
      }
    }
    if (body !== '') out += group.header + body;
  }
  for (const decl of RUNTIME_NODE_METRICS as readonly NodeDecl[]) {
    if (!enabled(decl.family)) continue;
    let body = '';
    for (const s of decl.series(ctx)) body += nodeLine(decl.name, s);
    if (body !== '') out += header(decl.name, decl.type, decl.help) + body;
  }
  return out;
}
