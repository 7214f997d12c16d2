// The composed coordinator: engines from config, from `brixlet up` and from Kubernetes pods (fake API
// server) behind one gateway; node reports on the control port taking an engine out of routing and
// back; every resource released on shutdown.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer, type StoredObject } from '../../mocks/kube-apiserver/index.js';
import { startMockEngines, type RunningMockEngine } from '../../src/mock-engine/index.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import { DisposableStore } from '../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import type { NodeReport } from '../../src/common/node-report.js';
import { type RunningCoordinator, startCoordinator } from '../../src/coordinator/main.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import { silentLog } from '../helpers/apps.js';

const NS = 'serving';
const MODEL = 'mock-llama-3-8b';

let mocks: RunningMockEngine[];
let server: FakeApiServer;
let kube: KubeClient;
let store: DisposableStore;
let c: RunningCoordinator;

interface EngineView {
  name: string;
  source?: string;
  gpuType: string;
  node?: string;
  routable: boolean;
  excludedBecause?: string;
  load: { inFlight: number; total: number };
}

async function engines(): Promise<EngineView[]> {
  return ((await (await fetch(`${c.controlUrl}/v1/engines`)).json()) as { engines: EngineView[] }).engines;
}

async function chat(content: string): Promise<Response> {
  return fetch(`${c.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'routing-strategy': 'least-request' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 3 }),
  });
}

function report(name: string, health: 'healthy' | 'unhealthy'): NodeReport {
  return {
    name,
    agentUrl: `http://${name}:8090`,
    version: 'test',
    components: ['accel'],
    heartbeatMs: 60_000,
    accelerators: [{ vendor: 'nvidia', index: 0, uuid: 'GPU-0', name: 'H100', health, reasons: health === 'healthy' ? [] : ['XID 79'] }],
  };
}

beforeAll(async () => {
  mocks = await startMockEngines(3, { timeScale: 500 });
  const [cfg, up, pod] = mocks as [RunningMockEngine, RunningMockEngine, RunningMockEngine];
  server = await startFakeApiServer({ resources: [{ version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, status: true }], namespace: NS });
  const body: StoredObject = {
    metadata: { name: 'vllm-0', labels: { app: 'vllm', 'brixlet.io/gpu-type': 'l20' } },
    spec: { nodeName: 'gpu-node', containers: [{ name: 'vllm', ports: [{ name: 'http', containerPort: pod.port }] }] },
  };
  const created = server.store.create('pods', NS, body);
  server.store.update('pods', NS, 'vllm-0', { ...created, status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } }, 'status');
  kube = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });

  const { config } = loadConfig({
    flags: {
      'gateway.host': '127.0.0.1',
      'gateway.port': '0',
      'control.host': '127.0.0.1',
      'control.port': '0',
      'gateway.engines': `${cfg.url}#a100`,
      'gateway.engineSelector': 'app=vllm',
      'gateway.probeInterval': '60s',
      'kube.namespace': NS,
    },
    env: {},
  });
  store = new DisposableStore('test');
  c = await startCoordinator(
    { config, log: silentLog, processRegistry: createProcessRegistry(), store, version: 'test' },
    { engines: [{ uid: up.url, name: 'engine-up', url: up.url, models: [MODEL], gpuType: 'h100', source: 'up' }], kube },
  );
  // Ready once every engine known at start has been probed.
  const deadline = Date.now() + 5000;
  while ((await fetch(`${c.controlUrl}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`not ready: ${JSON.stringify(c.readiness.state())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterAll(async () => {
  await store.dispose();
  await kube.dispose();
  await server.close();
  await Promise.all(mocks.map((m) => m.close()));
});

it('routes over engines from config, from brixlet up and from Kubernetes pods', async () => {
  const list = await engines();
  expect(list.map((e) => [e.name, e.source, e.gpuType, e.node ?? '-']).sort()).toEqual(
    [
      [`127.0.0.1:${mocks[0]!.port}`, 'static', 'a100', '-'],
      ['engine-up', 'up', 'h100', '-'],
      ['vllm-0', 'kube', 'l20', 'gpu-node'],
    ].sort(),
  );
  // Each engine answers when it is the least loaded, whatever source declared it.
  for (const target of c.engines.all()) {
    const others = c.engines.all().filter((e) => e !== target);
    for (const e of others) e.load.inFlight += 5;
    const res = await chat(`hello ${target.name}`);
    for (const e of others) e.load.inFlight -= 5;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-brixlet-target')).toBe(target.name);
    await res.json();
  }
  expect(list.every((e) => e.routable)).toBe(true);
  const models = (await (await fetch(`${c.gatewayUrl}/v1/models`)).json()) as { data: { id: string }[] };
  expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  const metrics = await (await fetch(`${c.controlUrl}/metrics`)).text();
  expect(metrics).toMatch(/brixlet_router_requests_total\{model="mock-llama-3-8b",policy="least-request",engine="[^"]+",code="200"\} \d/);
  expect(metrics).toMatch(/brixlet_router_in_flight\{engine="vllm-0"\} 0/);
  expect(metrics).toContain('brixlet_router_decision_seconds_bucket');
});

it('takes an engine out of routing while its node reports an unhealthy GPU, and back on recovery', async () => {
  const put = (health: 'healthy' | 'unhealthy') =>
    fetch(`${c.controlUrl}/v1/nodes/gpu-node`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report('gpu-node', health)) });
  expect((await put('unhealthy')).status).toBe(200);
  const pod = (await engines()).find((e) => e.name === 'vllm-0');
  expect(pod).toMatchObject({ routable: false, excludedBecause: expect.stringContaining('GPU') });
  const podEngine = c.engines.all().find((e) => e.name === 'vllm-0')!;
  const before = podEngine.load.total;
  for (let i = 0; i < 6; i++) {
    const res = await chat(`excluded ${i}`);
    expect(res.headers.get('x-brixlet-target')).not.toBe('vllm-0');
    await res.text();
  }
  expect(podEngine.load.total).toBe(before);

  expect((await put('healthy')).status).toBe(200);
  expect((await engines()).find((e) => e.name === 'vllm-0')).toMatchObject({ routable: true });
  // The others are busier on paper: the recovered engine takes the next request.
  const others = c.engines.all().filter((e) => e.name !== 'vllm-0');
  for (const e of others) e.load.inFlight += 5;
  const res = await chat('back');
  for (const e of others) e.load.inFlight -= 5;
  expect(res.headers.get('x-brixlet-target')).toBe('vllm-0');
  await res.text();
});

it('drops an engine whose pod is deleted', async () => {
  server.store.remove('pods', NS, 'vllm-0');
  const deadline = Date.now() + 3000;
  while ((await engines()).some((e) => e.name === 'vllm-0')) {
    if (Date.now() > deadline) throw new Error('pod engine still listed');
    await new Promise((r) => setTimeout(r, 20));
  }
  expect((await engines()).map((e) => e.name)).not.toContain('vllm-0');
});

it('releases everything on shutdown: listeners closed, no engine left in flight', async () => {
  const { gatewayUrl, controlUrl } = c;
  await store.dispose();
  await expect(fetch(`${gatewayUrl}/healthz`)).rejects.toThrow();
  await expect(fetch(`${controlUrl}/healthz`)).rejects.toThrow();
  for (const e of c.engines.all()) expect(e.load.inFlight).toBe(0);
  expect(store.pending()).toEqual([]);
});
