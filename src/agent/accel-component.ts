/**
 * The agent's accelerators component: opens the backends (`--accel`), samples them on an interval,
 * serves GET /v1/accelerators[/:index] from the latest snapshot and adds the accelerator families
 * to /metrics, rendered once per snapshot. With no backend up (no driver, init failed, --accel none)
 * it still serves both, with the backend statuses: a CPU node must not crash-loop its agent.
 */
import { hostname } from 'node:os';
import type { Static } from '@sinclair/typebox';
import { parseXidList } from '../accel/health.js';
import { ProbeErrorTotals } from '../accel/metrics/probe-error-totals.js';
import { renderAccelMetrics } from '../accel/metrics/render-metrics.js';
import { PROBES } from '../accel/probes/index.js';
import type { Probe } from '../accel/probes/probe.js';
import { Sampler } from '../accel/sampler.js';
import { openBackends } from '../accel/select.js';
import type { AcceleratorBackend, AccelSnapshot, DeviceSnapshot } from '../accel/types.js';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import type { BrixletServer } from '../common/http/create-server.js';
import type { Logger } from '../common/logger.js';
import { AcceleratorList, DeviceParams, DeviceQuery, DeviceView } from './accel-schemas.js';
import { registerDiagnoseRoutes } from './diagnose-routes.js';
import type { AgentComponent, AgentContext } from './types.js';

export interface AccelComponentOptions {
  readonly config: Pick<DeepReadonly<Config>, 'accel' | 'nvml' | 'dcmi'>;
  readonly log: Logger;
  /** Already opened backends (tests, fault injection); default: openBackends(config.accel.backend). */
  readonly backends?: readonly AcceleratorBackend[];
  /** Default: every probe (src/accel/probes). */
  readonly probes?: readonly Probe[];
  /** The node name snapshots carry; default the host name (pass the agent's when it is configured). */
  readonly nodeName?: string;
  readonly now?: () => number;
  /** Wraps the backends before the sampler reads them (the fault decorator, FaultComponent.decorate). */
  readonly decorate?: (backends: readonly AcceleratorBackend[]) => readonly AcceleratorBackend[];
}

export interface AccelComponent extends AgentComponent {
  readonly sampler: Sampler;
  readonly backends: readonly AcceleratorBackend[];
  /** For the start-up summary: "8 GPUs (sim:healthy-8x-h100)" or why there are none. */
  summary(): string;
}

export const ACCEL_SUGGESTION = 'try --accel sim:healthy-8x-h100';

export async function createAccelComponent(opts: AccelComponentOptions): Promise<AccelComponent> {
  const { config } = opts;
  const log = opts.log.child({ component: 'accelerators' });
  const opened =
    opts.backends ??
    (await openBackends(config.accel.backend, { nvmlLibrary: config.nvml.library, dcmiLibrary: config.dcmi.library, log, callTimeoutMs: config.accel.callTimeout }));
  const backends = opts.decorate?.(opened) ?? opened;
  const probes = opts.probes ?? PROBES;
  const sampler = new Sampler({
    backends,
    probes,
    intervalMs: config.accel.sampleInterval,
    node: opts.nodeName ?? hostname(),
    log,
    xidIgnore: parseXidList(config.accel.xidIgnore),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
  const errorTotals = new ProbeErrorTotals();
  // Counted per snapshot, scraped or not, so the probe-error counters miss nothing between scrapes.
  sampler.onSnapshot((s) => errorTotals.observe(s));
  const cleanups: (() => void)[] = [];
  let disposed = false;

  function current(): AccelSnapshot {
    const s = sampler.snapshot;
    if (s === undefined) throw new BrixletError('BRX_ERR_ACCEL_UNAVAILABLE', { reason: 'first sample pending' });
    return s;
  }

  let cache: { seq: number; text: string } | undefined;
  function metricsText(hostnameLabel: string): string {
    const s = sampler.snapshot;
    if (s === undefined) return '';
    if (cache?.seq !== s.seq) {
      let text = '';
      try {
        text = renderAccelMetrics(s, { probes, dcgm: config.accel.dcgmMetrics, npu: config.accel.npuMetrics, hostname: hostnameLabel, errorTotals });
      } catch (err) {
        // A renderer bug must not take the rest of /metrics (process, HTTP) down with it.
        log.warn({ err, seq: s.seq }, 'rendering accelerator metrics failed');
      }
      cache = { seq: s.seq, text };
    }
    return cache.text;
  }

  return {
    name: 'accelerators',
    sampler,
    backends,
    readiness: { name: 'accelerators', check: () => (sampler.snapshot === undefined ? 'first sample pending' : undefined) },
    summary: () => describeAccelerators(config.accel.backend, backends),
    register(app: BrixletServer, ctx: AgentContext) {
      registerRoutes(app, current);
      registerDiagnoseRoutes(app, { sampler, expectedCount: config.accel.expectedCount, xidIgnore: parseXidList(config.accel.xidIgnore) });
      cleanups.push(ctx.metrics.addTextSource(() => metricsText(ctx.nodeName)));
      sampler.start();
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const c of cleanups.splice(0)) c();
      await sampler.dispose();
    },
  };
}

function registerRoutes(app: BrixletServer, current: () => AccelSnapshot): void {
  app.get(
    '/v1/accelerators',
    { schema: { summary: 'Accelerator backends and every device: identity, health with reasons, last sample, XIDs.', response: { 200: AcceleratorList } } },
    async () => {
      const s = current();
      // Snapshots are deeply readonly; the schema types are not (accel-schemas.ts checks they match).
      return { node: s.node, seq: s.seq, at: s.at, backends: s.backends, devices: s.devices.map(deviceView), probes: s.probes } as Static<typeof AcceleratorList>;
    },
  );
  app.get(
    '/v1/accelerators/:index',
    {
      schema: {
        summary: 'One device by index (NVML index or Ascend logic id).',
        params: DeviceParams,
        querystring: DeviceQuery,
        response: { 200: DeviceView },
      },
    },
    async (request) => {
      const { index } = request.params;
      const { vendor } = request.query;
      const device = current().devices.find((d) => d.identity.index === index && (vendor === undefined || d.identity.vendor === vendor));
      if (device === undefined) throw new BrixletError('BRX_ERR_ACCEL_DEVICE_NOT_FOUND', { index: vendor === undefined ? index : `${index} (${vendor})` });
      return deviceView(device);
    },
  );
}

function deviceView(d: DeviceSnapshot): Static<typeof DeviceView> {
  const { identity } = d;
  return {
    index: identity.index,
    vendor: identity.vendor,
    uuid: identity.uuid,
    name: identity.name,
    pciBusId: identity.pciBusId,
    backend: d.backend,
    identity,
    health: d.health,
    sample: d.sample,
    unsupported: d.unsupported,
    errors: d.errors,
    recentXids: d.recentXids,
    xidCounts: d.xidCounts,
  } as Static<typeof DeviceView>;
}

/** "8 GPUs (sim:healthy-8x-h100)", "8 GPUs, 4 NPUs (nvml 550.54.15, dcmi 24.1.rc2)", or why there are none. */
export function describeAccelerators(spec: string, backends: readonly AcceleratorBackend[]): string {
  const up = backends.filter((b) => b.status().state === 'up');
  const count = (vendor: string) => up.reduce((n, b) => n + b.devices().filter((d) => d.vendor === vendor).length, 0);
  const gpus = count('nvidia');
  const npus = count('ascend');
  const problems = backends.filter((b) => b.status().state !== 'up').map((b) => `${b.kind}: ${b.status().message ?? b.status().state}`);
  if (gpus + npus === 0) {
    if (spec === 'none' && backends.length === 0) return 'no accelerators (--accel none)';
    const why = problems.length > 0 ? problems.join('; ') : up.length > 0 ? `${up.map((b) => b.kind).join(', ')} found no devices` : 'no NVML or DCMI library found';
    return `no accelerators (${why}; ${ACCEL_SUGGESTION})`;
  }
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const counts = [...(gpus > 0 ? [plural(gpus, 'GPU')] : []), ...(npus > 0 ? [plural(npus, 'NPU')] : [])].join(', ');
  const source = spec.startsWith('sim:') ? spec : up.map((b) => [b.kind, b.status().driverVersion].filter(Boolean).join(' ')).join(', ');
  return `${counts} (${source})${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`;
}
