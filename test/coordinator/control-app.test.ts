import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import type { NodeReport } from '../../src/common/node-report.js';
import { Readiness } from '../../src/common/readiness.js';
import { buildControlApp } from '../../src/coordinator/control-app.js';
import { isLoopbackHost } from '../../src/coordinator/main.js';
import { createControlAuth } from '../../src/coordinator/registry/control-auth.js';
import { Registry } from '../../src/coordinator/registry/registry.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

const TOKEN = 'control-token-0123456789';
let t = Date.parse('2026-02-03T04:05:06Z');
const registry = new Registry({ now: () => t, sweepTimer: false });
const readiness = new Readiness();
let app: BrixletServer;
beforeAll(async () => {
  app = await buildControlApp({ log: silentLog, metrics: testMetrics(), readiness, registry, version: '1', bodyLimit: 64 * 1024, auth: createControlAuth({ secret: TOKEN }) });
});
afterAll(() => app.close());

function report(name: string, extra: Partial<NodeReport> = {}): NodeReport {
  return { name, agentUrl: `http://${name}:9464`, version: '1', components: [], heartbeatMs: 1000, ...extra };
}

it('serves the node routes, guarded by the configured token', async () => {
  expect((await app.inject({ method: 'PUT', url: '/v1/nodes/a', payload: report('a') })).statusCode).toBe(401);
  const put = await app.inject({ method: 'PUT', url: '/v1/nodes/a', payload: report('a', { bootId: 'b', seq: 1 }), headers: { authorization: `Bearer ${TOKEN}` } });
  expect(put.statusCode).toBe(200);
  expect((await app.inject('/v1/nodes')).json().nodes.map((n: { name: string }) => n.name)).toEqual(['a']);
});

it('exports node counts by state and unhealthy accelerators on /metrics, read at scrape time', async () => {
  const gpu = { vendor: 'nvidia' as const, index: 0, uuid: 'GPU-0', name: 'H100', health: 'unhealthy' as const, reasons: ['XID 79'] };
  registry.upsertNode(report('b', { accelerators: [gpu, { ...gpu, index: 1, uuid: 'GPU-1' }] }));
  t += 2000;
  registry.upsertNode(report('c'));
  t += 1500; // a and b are now silent for more than 3 heartbeats
  const text = (await app.inject('/metrics')).body;
  expect(text).toContain('brixlet_registry_nodes{state="ready"} 1');
  expect(text).toContain('brixlet_registry_nodes{state="stale"} 2');
  expect(text).toContain('brixlet_registry_unhealthy_accelerators 2');
});

it('serves health, readiness, metrics and OpenAPI', async () => {
  expect((await app.inject('/healthz')).statusCode).toBe(200);
  expect((await app.inject('/readyz')).statusCode).toBe(200);
  expect((await app.inject('/metrics')).body).toContain('brixlet_process_resident_memory_bytes');
  const spec = (await app.inject('/openapi.json')).json();
  expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/nodes', '/v1/nodes/{name}', '/metrics']));
  expect(Object.keys(spec.paths['/v1/nodes/{name}'])).toEqual(expect.arrayContaining(['get', 'put', 'delete']));
  expect(spec.paths['/v1/nodes/{name}'].put.requestBody.content['application/json'].schema.properties.accelerators).toBeDefined();
  readiness.setDraining();
  expect((await app.inject('/readyz')).statusCode).toBe(503);
});

it('a second control app on the same metrics registry does not clash', async () => {
  const metrics = testMetrics();
  const one = await buildControlApp({ log: silentLog, metrics, readiness, registry, version: '1', bodyLimit: 4096 });
  const two = await buildControlApp({ log: silentLog, metrics, readiness, registry, version: '1', bodyLimit: 4096 });
  await Promise.all([one.close(), two.close()]);
});

it('serves GET /v1/engines when given the engine set, and not otherwise', async () => {
  const { createEngineSet } = await import('../../src/coordinator/engines/engine-set.js');
  const engines = createEngineSet({ specs: [{ uid: 'http://10.0.0.5:8000', name: '10.0.0.5:8000', url: 'http://10.0.0.5:8000', models: ['m'], source: 'static' }], log: silentLog, probeInterval: 1000 });
  const withEngines = await buildControlApp({ log: silentLog, metrics: testMetrics(), readiness, registry, version: '1', bodyLimit: 4096, engines });
  try {
    const res = await withEngines.inject('/v1/engines');
    expect(res.statusCode).toBe(200);
    expect(res.json().engines.map((e: { name: string }) => e.name)).toEqual(['10.0.0.5:8000']);
    expect((await app.inject('/v1/engines')).statusCode).toBe(404);
  } finally {
    await withEngines.close();
    await engines.dispose();
  }
});

it('knows which control listeners only this machine reaches', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
  for (const host of ['0.0.0.0', '::', '', '10.0.0.5', '128.0.0.1', '127.0.0.1.example.com', 'localhost.example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
});
