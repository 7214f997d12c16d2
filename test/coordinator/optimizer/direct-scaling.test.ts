// The coordinator with --optimizer.scale: the plan in force is written to the Deployments' scale
// subresource on the fake API server, within --optimizer.scale-bounds; bad bounds stop the start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeApiServer, startFakeApiServer } from '../../../mocks/kube-apiserver/index.js';
import { loadConfig } from '../../../src/common/config/load-config.js';
import { DisposableStore } from '../../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../../src/common/metrics.js';
import { type RunningCoordinator, startCoordinator } from '../../../src/coordinator/main.js';
import { parseScaleBounds } from '../../../src/coordinator/optimizer/scaler.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { silentLog } from '../../helpers/apps.js';

const NS = 'llm';
const dir = mkdtempSync(join(tmpdir(), 'brixlet-scale-'));
const profile = (gpu: string, cost: number, tputs: number[][]) => JSON.stringify({ gpu, cost, tputs, indexes: [[8, 128], [256, 2048]] });
writeFileSync(join(dir, 'a10.json'), profile('a10', 0.3, [[10, 2], [3, 0.5]]));
writeFileSync(join(dir, 'l20.json'), profile('l20', 1, [[30, 8], [10, 2]]));

let server: FakeApiServer;
let kube: KubeClient;
let store: DisposableStore;
let c: RunningCoordinator;

const start = (flags: Record<string, string>, s: DisposableStore) =>
  startCoordinator(
    {
      config: loadConfig({ flags: { 'gateway.host': '127.0.0.1', 'gateway.port': '0', 'control.host': '127.0.0.1', 'control.port': '0', 'kube.namespace': NS, ...flags }, env: {} }).config,
      log: silentLog,
      processRegistry: createProcessRegistry(),
      store: s,
      version: 'test',
    },
    { kube },
  );

beforeAll(async () => {
  server = await startFakeApiServer({
    namespace: NS,
    resources: [{ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, status: true, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } }],
  });
  kube = createKubeClient({ kubeconfigText: server.kubeconfig() });
  for (const name of ['a10', 'l20']) server.store.create('deployments.apps', NS, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS }, spec: { replicas: 0 } });
  store = new DisposableStore('test');
  c = await start(
    {
      'optimizer.profiles': `llama=${join(dir, 'a10.json')},llama=${join(dir, 'l20.json')}`,
      'optimizer.scale': 'true',
      'optimizer.scaleBounds': 'a10=:1,l20=:1',
      'optimizer.interval': '500ms',
    },
    store,
  );
});
afterAll(async () => {
  await store.dispose();
  await kube.dispose();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const replicas = (name: string) => (server.store.get('deployments.apps', NS, name)?.spec as { replicas: number }).replicas;

it('writes the plan in force to deployments/scale, capped by the deployments\' bounds', async () => {
  const now = Date.now();
  for (let k = 0; k < 600; k++) c.monitor.record('llama', 300, 10, now - k * 17); // ≈ 60 req/s of (in 256, out 8): 2+ GPUs of some type
  c.planner!.markDirty('load');
  const planned = (name: string) => c.planner!.deployment(NS, name)?.replicas ?? 0;
  const settled = () => Math.max(planned('a10'), planned('l20')) >= 2 && ['a10', 'l20'].every((d) => replicas(d) === Math.min(planned(d), 1));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !settled()) await new Promise((r) => setTimeout(r, 100));
  // Some deployment is planned above its bound of 1; each holds min(plan, 1).
  expect(Math.max(planned('a10'), planned('l20'))).toBeGreaterThanOrEqual(2);
  expect(replicas('a10')).toBe(Math.min(planned('a10'), 1));
  expect(replicas('l20')).toBe(Math.min(planned('l20'), 1));
  expect(replicas('a10') + replicas('l20')).toBeGreaterThan(0);
  expect(server.requests.some((r) => r.method === 'PATCH' && /\/apis\/apps\/v1\/namespaces\/llm\/deployments\/(a10|l20)\/scale$/.test(r.path))).toBe(true);

  // Every write the API server took is counted on the coordinator's /metrics (the loop goes on: read between two counts).
  const patches = () => server.requests.filter((r) => r.method === 'PATCH' && /\/deployments\/(a10|l20)\/scale$/.test(r.path)).length;
  const before = patches();
  const text = await (await fetch(`${c.controlUrl}/metrics`)).text();
  const after = patches();
  const scaled = [...text.matchAll(/^brixlet_optimizer_scale_requests_total\{namespace="llm",deployment="(?:a10|l20)",direction="(up|down)",result="scaled"\} (\d+)$/gm)];
  const sum = scaled.reduce((a, m) => a + Number(m[2]), 0);
  expect(scaled.some((m) => m[1] === 'up')).toBe(true);
  expect(sum).toBeGreaterThanOrEqual(before);
  expect(sum).toBeLessThanOrEqual(after);
  expect(text).not.toContain('brixlet_optimizer_scale_errors_total{');
}, 30_000);

it('refuses to start on bad bounds, naming the flag and the entry', async () => {
  const s = new DisposableStore('bad');
  await expect(start({ 'optimizer.profiles': `llama=${join(dir, 'a10.json')}`, 'optimizer.scale': 'true', 'optimizer.scaleBounds': 'a10=3:1' }, s)).rejects.toMatchObject({
    code: 'BRX_ERR_OPTIMIZER_CONFIG',
    message: expect.stringContaining("--optimizer.scale-bounds: 'a10=3:1': MIN is above MAX"),
  });
  await s.dispose();
});

it('parses [NAMESPACE/]NAME=MIN:MAX bounds', () => {
  expect(parseScaleBounds('a10=1:4, other/l20=:8,h100=2:', NS)).toEqual({ [`${NS}/a10`]: { min: 1, max: 4 }, 'other/l20': { max: 8 }, [`${NS}/h100`]: { min: 2 } });
  expect(() => parseScaleBounds('a10=1-4', NS)).toThrow(/NAME=MIN:MAX/);
  expect(() => parseScaleBounds('a10=1:4,a10=2:3', NS)).toThrow(/twice/);
});
