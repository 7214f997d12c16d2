import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import { Readiness } from '../../src/common/readiness.js';
import { buildControlApp } from '../../src/coordinator/control-app.js';
import { Registry } from '../../src/coordinator/registry/registry.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

const registry = new Registry(() => new Date('2026-02-03T04:05:06Z'));
const readiness = new Readiness();
let app: BrixletServer;
beforeAll(async () => {
  app = await buildControlApp({ log: silentLog, metrics: testMetrics(), readiness, registry, version: '1', bodyLimit: 4096 });
});
afterAll(() => app.close());

it('lists registered nodes', async () => {
  expect((await app.inject('/v1/nodes')).json()).toEqual({ nodes: [] });
  registry.upsertNode({ name: 'gpu-1', agentUrl: 'http://10.0.0.1:9464', version: '1', components: ['accel'] });
  expect((await app.inject('/v1/nodes')).json()).toEqual({
    nodes: [
      { name: 'gpu-1', agentUrl: 'http://10.0.0.1:9464', version: '1', components: ['accel'], firstSeen: '2026-02-03T04:05:06.000Z', lastSeen: '2026-02-03T04:05:06.000Z' },
    ],
  });
});

it('serves health, readiness, metrics and OpenAPI', async () => {
  expect((await app.inject('/healthz')).statusCode).toBe(200);
  expect((await app.inject('/readyz')).statusCode).toBe(200);
  expect((await app.inject('/metrics')).body).toContain('brixlet_process_resident_memory_bytes');
  expect(Object.keys((await app.inject('/openapi.json')).json().paths)).toEqual(expect.arrayContaining(['/v1/nodes', '/metrics']));
  readiness.setDraining();
  expect((await app.inject('/readyz')).statusCode).toBe(503);
});
