import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentApp } from '../../src/agent/agent-app.js';
import type { AgentComponent } from '../../src/agent/types.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import { Readiness } from '../../src/common/readiness.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

let app: BrixletServer;
let warm = false;
const readiness = new Readiness();
const startedAt = new Date(Date.now() - 5000);

const probe: AgentComponent = {
  name: 'probe',
  readiness: { name: 'probe', check: () => (warm ? undefined : 'first sample pending') },
  register(a) {
    a.post('/v1/probe', { schema: { body: Type.Object({ n: Type.Integer() }) } }, async (req) => ({ twice: req.body.n * 2 }));
  },
  dispose() {},
};

const switchedOff: AgentComponent = { name: 'faults', enabled: false, dispose() {} };

beforeAll(async () => {
  const { config } = loadConfig({ flags: { 'agent.bodyLimit': '2KiB' } });
  app = await buildAgentApp({ config, log: silentLog, metrics: testMetrics(), readiness, version: '9.9.9', nodeName: 'gpu-node-1', components: [probe, switchedOff], startedAt });
});
afterAll(() => app.close());

describe('agent app', () => {
  it('reports identity, version and enabled components on /v1/info (not the switched-off ones)', async () => {
    const res = await app.inject('/v1/info');
    expect(res.statusCode).toBe(200);
    const info = res.json();
    expect(info).toMatchObject({ name: 'brixlet-agent', version: '9.9.9', node: 'gpu-node-1', components: ['probe'], startedAt: startedAt.toISOString() });
    expect(info.uptimeSeconds).toBeGreaterThanOrEqual(5);
  });

  it('serves component routes and folds component readiness into /readyz', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/probe', payload: { n: 21 } })).json()).toEqual({ twice: 42 });
    const notYet = await app.inject('/readyz');
    expect(notYet.statusCode).toBe(503);
    expect(notYet.json().reasons).toEqual(['probe: first sample pending']);
    warm = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('serves health, metrics and an OpenAPI document listing its routes', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/metrics')).body).toContain('brixlet_http_requests_total{server="agent"');
    const paths = Object.keys((await app.inject('/openapi.json')).json().paths);
    expect(paths).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/v1/info', '/v1/probe']));
  });

  it('applies the configured body limit and 404s unknown routes with a code', async () => {
    const big = await app.inject({ method: 'POST', url: '/v1/probe', payload: { n: 1, pad: 'x'.repeat(4096) } });
    expect(big.statusCode).toBe(413);
    const missing = await app.inject({ method: 'DELETE', url: '/v1/info' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('BRX_ERR_HTTP_NOT_FOUND');
  });
});
