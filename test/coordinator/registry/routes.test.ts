import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeReport } from '../../../src/common/node-report.js';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { bearerToken, createControlAuth } from '../../../src/coordinator/registry/control-auth.js';
import { deriveNodeToken } from '../../../src/coordinator/registry/node-token.js';
import { registerNodeRoutes } from '../../../src/coordinator/registry/routes.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const TOKEN = 'control-token-0123456789';
let t = Date.parse('2026-02-03T04:05:06Z');

function report(name: string, extra: Partial<NodeReport> = {}): NodeReport {
  return { name, agentUrl: `http://${name}:9464`, version: '1', components: ['accelerators'], heartbeatMs: 1000, ...extra };
}

async function nodeApp(registry: Registry, token?: string): Promise<BrixletServer> {
  const app = await createServer({ name: 'control', title: 't', version: '1', log: silentLog, bodyLimit: 64 * 1024, metrics: testMetrics() });
  await registerNodeRoutes(app, { registry, ...(token !== undefined && { auth: createControlAuth({ secret: token }) }) });
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

describe('node routes with a cluster secret and node tokens', () => {
  const registry = new Registry({ sweepTimer: false, maxHeartbeatMs: 60_000 });
  const tokenA = deriveNodeToken(TOKEN, 'gpu-a');
  const tokenB = deriveNodeToken(TOKEN, 'gpu-b');
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  let seq = 0;
  const signed = (name: string, extra: Partial<NodeReport> = {}): NodeReport => report(name, { bootId: `boot-${name}`, seq: ++seq, ...extra });
  const gpu = (health: 'healthy' | 'unhealthy') => ({ vendor: 'nvidia' as const, index: 0, uuid: 'GPU-0', name: 'H100', health, reasons: health === 'healthy' ? [] : ['XID 79'] });
  let app: BrixletServer;
  beforeAll(async () => {
    app = await nodeApp(registry, TOKEN);
  });
  afterAll(() => app.close());

  it('refuses writes without valid credentials before reading the body: 401, the error body, WWW-Authenticate: Bearer', async () => {
    const cases: (Record<string, string> | undefined)[] = [undefined, as('wrong-token-0123456789'), { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }, as(`${TOKEN}x`), as(tokenA.slice(0, -1))];
    for (const headers of cases) {
      const put = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-a', payload: signed('gpu-a'), ...(headers && { headers }) });
      expect(put.statusCode).toBe(401);
      expect(put.headers['www-authenticate']).toBe('Bearer realm="brixlet"');
      expect(put.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_UNAUTHORIZED', type: 'invalid_request_error' });
      const del = await app.inject({ method: 'DELETE', url: '/v1/nodes/gpu-a', ...(headers && { headers }) });
      expect(del.statusCode).toBe(401);
      expect(del.headers['www-authenticate']).toBe('Bearer realm="brixlet"');
    }
    // Unauthenticated garbage is refused as unauthorized, not parsed.
    const garbage = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-a', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(garbage.statusCode).toBe(401);
    expect(registry.size).toBe(0);
  });

  it('a node token writes its own report only: a forged report for another node is refused and changes nothing', async () => {
    expect((await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-a', payload: signed('gpu-a', { accelerators: [gpu('healthy')] }), headers: as(tokenA) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-b', payload: signed('gpu-b', { accelerators: [gpu('healthy')] }), headers: as(tokenB) })).statusCode).toBe(200);
    const before = registry.getNode('gpu-b');
    // gpu-a's agent claims gpu-b's GPU failed, for an hour: the finding that took a real node's engines out of routing.
    const forged = await app.inject({
      method: 'PUT',
      url: '/v1/nodes/gpu-b',
      payload: report('gpu-b', { bootId: 'forger', seq: 1, heartbeatMs: 3_600_000, accelerators: [gpu('unhealthy')] }),
      headers: as(tokenA),
    });
    expect(forged.statusCode).toBe(401);
    expect(forged.json().error.code).toBe('BRX_ERR_REGISTRY_UNAUTHORIZED');
    expect(registry.getNode('gpu-b')).toEqual(before);
    expect(registry.isRoutable('gpu-b', ['GPU-0']).ok).toBe(true);
    // The cluster secret is the admin credential: it may write any report.
    expect((await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-b', payload: signed('gpu-b'), headers: { authorization: `bearer  ${TOKEN}` } })).statusCode).toBe(200);
  });

  it('DELETE needs the cluster secret: a node token, even the node\'s own, gets 403', async () => {
    const own = await app.inject({ method: 'DELETE', url: '/v1/nodes/gpu-a', headers: as(tokenA) });
    expect(own.statusCode).toBe(403);
    expect(own.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_FORBIDDEN', message: expect.stringContaining('cluster secret') });
    expect((await app.inject({ method: 'DELETE', url: '/v1/nodes/gpu-a', headers: as(tokenB) })).statusCode).toBe(401);
    expect(registry.getNode('gpu-a')).toBeDefined();
    expect((await app.inject({ method: 'DELETE', url: '/v1/nodes/gpu-a', headers: as(TOKEN) })).statusCode).toBe(200);
    expect(registry.getNode('gpu-a')).toBeUndefined();
  });

  it('reads stay open and carry no credentials', async () => {
    const list = await app.inject('/v1/nodes');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(TOKEN);
    expect(list.body).not.toContain('brxn1.');
    expect((await app.inject('/v1/nodes/gpu-b')).statusCode).toBe(200);
  });

  it('caps the heartbeat a report claims and says so in the reply', async () => {
    const put = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-c', payload: signed('gpu-c', { heartbeatMs: 3_600_000 }), headers: as(deriveNodeToken(TOKEN, 'gpu-c')) });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ heartbeatMs: 60_000, node: { heartbeatMs: 60_000 } });
  });

  it('needs bootId and seq, and refuses a replayed or older seq of the same boot with 409', async () => {
    const token = as(deriveNodeToken(TOKEN, 'gpu-d'));
    for (const missing of ['bootId', 'seq'] as const) {
      const payload: Partial<NodeReport> = { ...signed('gpu-d') };
      delete payload[missing];
      const res = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-d', payload, headers: token });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_INVALID_NODE', message: expect.stringContaining('bootId and seq are required') });
    }
    const first = report('gpu-d', { bootId: 'boot-1', seq: 7, version: 'seven' });
    expect((await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-d', payload: first, headers: token })).statusCode).toBe(200);
    for (const replay of [first, { ...first, seq: 6, version: 'older' }]) {
      const res = await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-d', payload: replay, headers: token });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('BRX_ERR_REGISTRY_REPLAY');
    }
    expect(registry.getNode('gpu-d')?.version).toBe('seven');
    // A restarted agent (new bootId) starts its seq over.
    expect((await app.inject({ method: 'PUT', url: '/v1/nodes/gpu-d', payload: report('gpu-d', { bootId: 'boot-2', seq: 1 }), headers: token })).statusCode).toBe(200);
  });
});

describe('bearerToken', () => {
  it('takes only "Bearer <one word>", scheme case-insensitive', () => {
    expect(bearerToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(bearerToken(`BEARER\t${TOKEN} `)).toBe(TOKEN);
    for (const bad of [undefined, '', TOKEN, `Bearer ${TOKEN} extra`, 'Bearer', `Basic ${TOKEN}`]) expect(bearerToken(bad)).toBeUndefined();
  });
});
