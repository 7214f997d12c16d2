import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeReport } from '../../../src/common/node-report.js';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { bearerMatches, registerNodeRoutes } from '../../../src/coordinator/registry/routes.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const TOKEN = 'control-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let t = Date.parse('2026-02-03T04:05:06Z');

function report(name: string, extra: Partial<NodeReport> = {}): NodeReport {
  return { name, agentUrl: `http://${name}:9464`, version: '1', components: ['accelerators'], heartbeatMs: 1000, ...extra };
}

async function nodeApp(registry: Registry, token?: string): Promise<BrixletServer> {
  const app = await createServer({ name: 'control', title: 't', version: '1', log: silentLog, bodyLimit: 64 * 1024, metrics: testMetrics() });
  await registerNodeRoutes(app, { registry, ...(token !== undefined && { token }) });
  return app;
}

describe('node routes without a token', () => {
  const registry = new Registry({ now: () => t, sweepTimer: false });
  let app: BrixletServer;
  beforeAll(async () => {
    app = await nodeApp(registry);
  });
  afterAll(() => app.close());

  it('takes a report, lists it, serves it by name', async () => {
    expect((await app.inject('/v1/nodes')).json()).toEqual({ nodes: [] });
    const put = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-1', payload: report('gpu-1', { accelerators: [{ vendor: 'nvidia', index: 0, uuid: 'GPU-0', name: 'H100', health: 'unhealthy', reasons: ['XID 79'] }] }) });
    expect(put.statusCode).toBe(200);
    const view = {
      ...report('gpu-1'),
      accelerators: [{ vendor: 'nvidia', index: 0, uuid: 'GPU-0', name: 'H100', health: 'unhealthy', reasons: ['XID 79'] }],
      firstSeen: '2026-02-03T04:05:06.000Z',
      lastSeen: '2026-02-03T04:05:06.000Z',
      state: 'ready',
      unhealthyGpus: 1,
    };
    expect(put.json()).toEqual({ node: view, heartbeatMs: 1000 });
    expect((await app.inject('/v1/nodes')).json()).toEqual({ nodes: [view] });
    expect((await app.inject('/v1/nodes/gpu-1')).json()).toEqual(view);
    t += 3001;
    expect((await app.inject('/v1/nodes/gpu-1')).json()).toMatchObject({ state: 'stale', staleSince: '2026-02-03T04:05:09.000Z' });
  });

  it('answers 404 with the registry code for an unknown node (GET and DELETE)', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await app.inject({ method, url: '/v1/nodes/nobody' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_NODE_NOT_FOUND', message: 'no node named nobody has reported' });
    }
  });

  it('rejects a body whose name differs from the path, and a body off the schema', async () => {
    const mismatch = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-2', payload: report('gpu-3') });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_INVALID_NODE', message: 'invalid node report: /name is "gpu-3" but the URL names "gpu-2"' });
    const bad = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-2', payload: { ...report('gpu-2'), kv: { capacityBytes: -1 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BRX_ERR_HTTP_BAD_REQUEST');
    const garbage = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-2', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
    expect(garbage.statusCode).toBe(400);
    expect(registry.getNode('gpu-2')).toBeUndefined();
  });

  it('deletes a node and returns it', async () => {
    await app.inject({ method: 'PUT', url: '/v1/nodes/gone', payload: report('gone') });
    const del = await app.inject({ method: 'DELETE', url: '/v1/nodes/gone' });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ name: 'gone', agentUrl: 'http://gone:9464' });
    expect(registry.getNode('gone')).toBeUndefined();
  });
});

describe('node routes with a token', () => {
  const registry = new Registry({ sweepTimer: false });
  let app: BrixletServer;
  beforeAll(async () => {
    app = await nodeApp(registry, TOKEN);
  });
  afterAll(() => app.close());

  it('refuses reports and deletes without the right bearer token, before reading the body', async () => {
    const cases: (Record<string, string> | undefined)[] = [undefined, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of cases) {
      const put = await app.inject({ method: 'PUT', url: '/v1/nodes/n', payload: report('n'), ...(headers && { headers }) });
      expect(put.statusCode).toBe(401);
      expect(put.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_UNAUTHORIZED' });
    }
    // Unauthenticated garbage is refused as unauthorized, not parsed.
    const garbage = await app.inject({ method: 'PUT', url: '/v1/nodes/n', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(garbage.statusCode).toBe(401);
    expect(registry.size).toBe(0);
  });

  it('accepts the right token (scheme case-insensitive); reads stay open; delete needs it', async () => {
    expect((await app.inject({ method: 'PUT', url: '/v1/nodes/n', payload: report('n'), headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/v1/nodes/n', payload: report('n'), headers: { authorization: `bearer  ${TOKEN}` } })).statusCode).toBe(200);
    expect((await app.inject('/v1/nodes')).json().nodes).toHaveLength(1);
    expect((await app.inject('/v1/nodes/n')).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/v1/nodes/n' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'DELETE', url: '/v1/nodes/n', headers: auth })).statusCode).toBe(200);
    expect(registry.size).toBe(0);
  });
});

describe('bearerMatches', () => {
  it('matches only "Bearer <token>" with the exact token', async () => {
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256').update(TOKEN).digest();
    expect(bearerMatches(`Bearer ${TOKEN}`, expected)).toBe(true);
    expect(bearerMatches(`BEARER\t${TOKEN} `, expected)).toBe(true);
    for (const bad of [undefined, '', TOKEN, `Bearer ${TOKEN} extra`, `Bearer`, `Bearer ${TOKEN.slice(1)}`]) expect(bearerMatches(bad, expected)).toBe(false);
  });
});
