import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import { registerOpsRoutes } from '../../../src/common/http/ops-routes.js';
import { Readiness } from '../../../src/common/readiness.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

let app: BrixletServer;
let bare: BrixletServer;
const readiness = new Readiness();

beforeAll(async () => {
  const metrics = testMetrics();
  app = await createServer({ name: 'ops', title: 'ops test', version: '1.2.3', log: silentLog, bodyLimit: 1024, metrics });
  registerOpsRoutes(app, { readiness, metrics });
  bare = await createServer({ name: 'bare', title: 'bare', version: '1', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
  registerOpsRoutes(bare, {});
});
afterAll(async () => {
  await app.close();
  await bare.close();
});

describe('ops routes', () => {
  it('serves liveness, readiness with reasons, metrics and OpenAPI', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    readiness.setDraining();
    const r = await app.inject('/readyz');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ status: 'not ready', reasons: ['shutting down'] });
    expect((await app.inject('/healthz')).statusCode).toBe(200);

    const m = await app.inject('/metrics');
    expect(m.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.body).toContain('brixlet_process_start_time_seconds');

    const doc = (await app.inject('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toEqual({ title: 'ops test', version: '1.2.3' });
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']));
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });

  it('registers only what it was given', async () => {
    expect((await bare.inject('/healthz')).statusCode).toBe(200);
    expect((await bare.inject('/readyz')).statusCode).toBe(404);
    expect((await bare.inject('/metrics')).statusCode).toBe(404);
  });
});
