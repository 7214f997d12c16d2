import { afterEach, describe, expect, it } from 'vitest';
import type { Probe } from '../../src/accel/probes/probe.js';
import { loadScenarioFile, resolveScenario, type Scenario } from '../../src/accel/scenario.js';
import { createSimBackends } from '../../src/accel/sim/index.js';
import type { AccelEvent, AcceleratorBackend, BackendStatus, GroupRead } from '../../src/accel/types.js';
import { type AccelComponent, createAccelComponent, describeAccelerators } from '../../src/agent/accel-component.js';
import { buildAgentApp } from '../../src/agent/agent-app.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import { Readiness } from '../../src/common/readiness.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

const h100 = loadScenarioFile(resolveScenario('healthy-8x-h100'));
const ascend = loadScenarioFile(resolveScenario('healthy-8x-ascend910b'));
const both: Scenario = { name: 'both', description: 'both vendors', nvml: h100.nvml, dcmi: ascend.dcmi };

const open: { app: BrixletServer; accel: AccelComponent }[] = [];
afterEach(async () => {
  for (const { app, accel } of open.splice(0)) {
    await app.close();
    await accel.dispose();
  }
});

async function simBackends(s: Scenario): Promise<AcceleratorBackend[]> {
  const backends = createSimBackends(s, { log: silentLog });
  for (const b of backends) await b.open();
  return backends;
}

async function agent(opts: { backend?: string; backends?: AcceleratorBackend[]; probes?: readonly Probe[]; flags?: Record<string, string> } = {}) {
  const { config } = loadConfig({ flags: { 'accel.backend': opts.backend ?? 'none', ...opts.flags } });
  const accel = await createAccelComponent({
    config,
    log: silentLog,
    nodeName: 'gpu-node-1',
    ...(opts.backends !== undefined ? { backends: opts.backends } : {}),
    ...(opts.probes !== undefined ? { probes: opts.probes } : {}),
  });
  const readiness = new Readiness();
  const app = await buildAgentApp({ config, log: silentLog, metrics: testMetrics(), readiness, version: '1.0.0', nodeName: 'gpu-node-1', components: [accel] });
  open.push({ app, accel });
  return { app, accel, readiness };
}

/** A backend whose reads wait for `release`: the first snapshot stays pending until then. */
let released = false;
let release: () => void = () => undefined;
const stuck: AcceleratorBackend = {
  kind: 'sim',
  vendor: 'nvidia',
  open: async () => stuck.status(),
  status: (): BackendStatus => ({ kind: 'sim', vendor: 'nvidia', state: 'up' }),
  devices: () => [{ vendor: 'nvidia', index: 0, uuid: 'GPU-x', name: 'X', pciBusId: '00000000:01:00.0' }],
  read: () =>
    new Promise<GroupRead>((resolve) => {
      release = () => {
        released = true;
        resolve({ values: {}, errors: [], unsupported: [] });
      };
      if (released) release();
    }),
  onEvent: (_l: (e: AccelEvent) => void) => () => undefined,
  close: async () => undefined,
};

describe('accelerators component', () => {
  it('answers 503 and is not ready until the first snapshot', async () => {
    released = false;
    const { app, readiness } = await agent({ backends: [stuck] });
    const res = await app.inject('/v1/accelerators');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('BRX_ERR_ACCEL_UNAVAILABLE');
    expect((await app.inject('/v1/accelerators/0')).statusCode).toBe(503);
    expect(readiness.state()).toEqual({ ready: false, reasons: ['accelerators: first sample pending'] });
    release();
  });

  it('opens the configured backend itself: sim:healthy-8x-h100 gives eight healthy GPUs on /v1/accelerators', async () => {
    const { app, accel, readiness } = await agent({ backend: 'sim:healthy-8x-h100' });
    expect(accel.summary()).toBe('8 GPUs (sim:healthy-8x-h100)');
    await accel.sampler.sampleNow();
    expect(readiness.state().ready).toBe(true);
    const res = await app.inject('/v1/accelerators');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ node: 'gpu-node-1', backends: [{ kind: 'sim', vendor: 'nvidia', state: 'up', driverVersion: '550.54.15' }] });
    expect(body.devices).toHaveLength(8);
    expect(body.devices[0]).toMatchObject({
      index: 0,
      vendor: 'nvidia',
      uuid: 'GPU-344e1aa0-d0ea-ba06-729f-5261a1d94e06',
      name: 'NVIDIA H100 80GB HBM3',
      pciBusId: '00000000:18:00.0',
      backend: 'sim',
      health: { state: 'healthy', reasons: [] },
      sample: { powerW: 312.45, memoryFreeBytes: 80688971776, eccEnabled: true, processes: [{ pid: 4242, usedMemoryBytes: 4294967296 }] },
      unsupported: [],
      errors: [],
      recentXids: [],
      xidCounts: {},
    });
    expect(body.devices[0].sample.nvlinks).toHaveLength(18);
    expect(body.probes.length).toBeGreaterThan(0);
  });

  it('serves every sample field the sampler produced (schemas drop nothing)', async () => {
    const backends = await simBackends(both);
    const { app, accel } = await agent({ backends });
    const snap = await accel.sampler.sampleNow();
    const body = (await app.inject('/v1/accelerators')).json();
    expect(body.devices.map((d: { sample: object }) => d.sample)).toEqual(snap.devices.map((d) => JSON.parse(JSON.stringify(d.sample))));
    expect(body.devices.map((d: { identity: object }) => d.identity)).toEqual(snap.devices.map((d) => d.identity));
  });

  it('finds one device by index, NVIDIA first unless ?vendor= says otherwise; 404 and 400 otherwise', async () => {
    const { app, accel } = await agent({ backends: await simBackends(both) });
    await accel.sampler.sampleNow();
    expect((await app.inject('/v1/accelerators/3')).json()).toMatchObject({ index: 3, vendor: 'nvidia', uuid: 'GPU-a82870e4-4f56-2317-3807-fad5699c7e11' });
    const npu = (await app.inject('/v1/accelerators/3?vendor=ascend')).json();
    expect(npu).toMatchObject({ index: 3, vendor: 'ascend', name: 'Ascend910B3', sample: { npuHealth: 0, powerW: 110.5 } });
    const missing = await app.inject('/v1/accelerators/8');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: 'BRX_ERR_ACCEL_DEVICE_NOT_FOUND', message: 'no accelerator with index 8' });
    expect((await app.inject('/v1/accelerators/x')).statusCode).toBe(400);
    expect((await app.inject('/v1/accelerators/0?vendor=amd')).statusCode).toBe(400);
  });

  it('publishes both routes with their schemas in /openapi.json', async () => {
    const { app } = await agent();
    await app.ready();
    const spec = (await app.inject('/openapi.json')).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/accelerators', '/v1/accelerators/{index}']));
    const one = spec.paths['/v1/accelerators/{index}'].get;
    expect(one.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual(['path:index', 'query:vendor']);
    expect(one.responses['200'].content['application/json'].schema.properties.health).toBeDefined();
  });

  it('renders the accelerator metrics once per snapshot on /metrics', async () => {
    let renders = 0;
    const probe: Probe = {
      name: 'thermal',
      description: 'thermal',
      defaultEnabled: true,
      vendors: ['nvidia'],
      metrics: [
        {
          family: 'native',
          name: 'test_gpu_temp_celsius',
          type: 'gauge',
          help: 'GPU temperature.',
          series: (d) => {
            renders++;
            return d.sample.gpuTempC === undefined ? [] : [{ value: d.sample.gpuTempC }];
          },
        },
      ],
    };
    const backends = await simBackends(h100);
    const { app, accel } = await agent({ backends, probes: [probe] });
    await accel.sampler.sampleNow();
    const first = (await app.inject('/metrics')).body;
    expect(first.match(/^test_gpu_temp_celsius\{.*\} 41$/gm)).toHaveLength(8);
    expect(first).toContain('brixlet_process_cpu_seconds_total');
    const after = renders;
    const again = (await app.inject('/metrics')).body;
    expect(again.match(/^test_gpu_temp_celsius.*$/gm)).toEqual(first.match(/^test_gpu_temp_celsius.*$/gm));
    expect(renders).toBe(after);
    await accel.sampler.sampleNow();
    await app.inject('/metrics');
    expect(renders).toBe(after + 8);
  });

  it('shows eight GPUs in the real metric families with sim:healthy-8x-h100', async () => {
    const { app, accel } = await agent({ backend: 'sim:healthy-8x-h100' });
    await accel.sampler.sampleNow();
    const text = (await app.inject('/metrics')).body;
    expect(text.match(/^DCGM_FI_DEV_GPU_TEMP\{[^}]*\} 41$/gm)).toHaveLength(8);
    expect(text).toContain('Hostname="gpu-node-1"');
  });

  it('keeps serving /metrics and /v1/accelerators with no backend up', async () => {
    for (const backend of ['none', 'auto']) {
      const { app, accel, readiness } = await agent({ backend, flags: { 'nvml.library': '/nonexistent/libnvidia-ml.so.1', 'dcmi.library': '/nonexistent/libdcmi.so' } });
      await accel.sampler.sampleNow();
      expect(readiness.state().ready).toBe(true);
      const body = (await app.inject('/v1/accelerators')).json();
      expect(body.devices).toEqual([]);
      expect((await app.inject('/metrics')).statusCode).toBe(200);
    }
    const failed = await simBackends({ name: 'f', description: 'f', nvml: { init: 9, devices: [{}] } });
    const { app, accel } = await agent({ backend: 'sim:f', backends: failed });
    await accel.sampler.sampleNow();
    const body = (await app.inject('/v1/accelerators')).json();
    expect(body.backends).toEqual([expect.objectContaining({ state: 'failed', message: 'nvmlInitWithFlags: DRIVER_NOT_LOADED (9)' })]);
    expect(accel.summary()).toBe('no accelerators (sim: nvmlInitWithFlags: DRIVER_NOT_LOADED (9); try --accel sim:healthy-8x-h100)');
  });

  it('dispose stops sampling, closes the backends and removes its metrics', async () => {
    let closed = 0;
    const backends = (await simBackends(h100)).map((b) => Object.assign(b, { close: async () => void closed++ }));
    const { app, accel } = await agent({ backends });
    await accel.sampler.sampleNow();
    await accel.dispose();
    await accel.dispose();
    expect(closed).toBe(1);
    expect((await app.inject('/metrics')).body).not.toContain('DCGM_FI_DEV_GPU_TEMP');
  });
});

describe('describeAccelerators', () => {
  const fake = (kind: 'nvml' | 'dcmi', vendor: 'nvidia' | 'ascend', n: number, state: BackendStatus['state'] = 'up', extra: Partial<BackendStatus> = {}): AcceleratorBackend => ({
    ...stuck,
    kind,
    vendor,
    status: () => ({ kind, vendor, state, ...extra }),
    devices: () => Array.from({ length: n }, (_, index) => ({ vendor, index, uuid: '', name: '', pciBusId: '' })),
  });

  it('counts GPUs and NPUs and names the source', () => {
    expect(describeAccelerators('auto', [fake('nvml', 'nvidia', 1, 'up', { driverVersion: '550.54.15' })])).toBe('1 GPU (nvml 550.54.15)');
    expect(describeAccelerators('auto', [fake('nvml', 'nvidia', 8), fake('dcmi', 'ascend', 4, 'failed', { message: 'dcmi_init: INNER_ERR (-8005)' })])).toBe(
      '8 GPUs (nvml); dcmi: dcmi_init: INNER_ERR (-8005)',
    );
    expect(describeAccelerators('sim:both', [fake('nvml', 'nvidia', 8), fake('dcmi', 'ascend', 8)])).toBe('8 GPUs, 8 NPUs (sim:both)');
  });

  it('says why there are none and what to try', () => {
    expect(describeAccelerators('none', [])).toBe('no accelerators (--accel none)');
    expect(describeAccelerators('auto', [])).toBe('no accelerators (no NVML or DCMI library found; try --accel sim:healthy-8x-h100)');
    expect(describeAccelerators('nvml', [fake('nvml', 'nvidia', 0, 'absent', { message: 'libnvidia-ml.so.1 not found' })])).toBe(
      'no accelerators (nvml: libnvidia-ml.so.1 not found; try --accel sim:healthy-8x-h100)',
    );
  });
});
