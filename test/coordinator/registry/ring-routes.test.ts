import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import type { NodeReport } from '../../../src/common/node-report.js';
import { RING_SLOTS, RING_VNODES } from '../../../src/common/pool-ring.js';
import { createControlAuth } from '../../../src/coordinator/registry/control-auth.js';
import type { KubeNodeAuth } from '../../../src/coordinator/registry/kube-node-auth.js';
import { deriveNodeToken } from '../../../src/coordinator/registry/node-token.js';
import { derivePairKey, derivePeerSecret } from '../../../src/coordinator/registry/pair-keys.js';
import { createPoolMembership, type PoolMembership } from '../../../src/coordinator/registry/pool-membership.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { registerRingRoutes } from '../../../src/coordinator/registry/ring-routes.js';
import { registerNodeRoutes } from '../../../src/coordinator/registry/routes.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const SECRET = 'cluster-secret-0123456789';
const as = (token: string) => ({ authorization: `Bearer ${token}` });
let t = Date.parse('2026-02-03T04:05:06Z');
let seq = 0;

function report(name: string, peerAddress?: string, extra: Partial<NodeReport> = {}): NodeReport {
  const kv = { capacityBytes: 1024, usedBytes: 0, entries: 0, hitRatio: null, policy: 's3fifo', socket: '/tmp/kv.sock', ...(peerAddress !== undefined && { peerAddress }) };
  return { name, agentUrl: `http://${name}:9464`, version: '1', components: ['kv'], heartbeatMs: 1000, bootId: `boot-${name}`, seq: ++seq, kv, ...extra };
}

async function ringApp(registry: Registry, membership: PoolMembership, auth = createControlAuth({ secret: SECRET })): Promise<BrixletServer> {
  const app = await createServer({ name: 'control', title: 't', version: '1', log: silentLog, bodyLimit: 64 * 1024, metrics: testMetrics() });
  await registerNodeRoutes(app, { registry, auth, membership });
  registerRingRoutes(app, { membership, auth });
  return app;
}

describe('pair keys', () => {
  it('follow the documented derivation and are symmetric', () => {
    const peerSecret = derivePeerSecret(SECRET);
    expect(peerSecret).toEqual(createHmac('sha256', SECRET).update('brixlet peer secret v1').digest());
    const ab = derivePairKey(peerSecret, 'node-b', 'node-a');
    expect(ab).toEqual(createHmac('sha256', peerSecret).update('brixlet peer key v1\nnode-a\nnode-b').digest());
    expect(derivePairKey(peerSecret, 'node-a', 'node-b')).toEqual(ab);
    expect(ab).toHaveLength(32);
    expect(derivePairKey(peerSecret, 'node-a', 'node-c')).not.toEqual(ab);
  });
});

describe('GET /v1/ring with node tokens', () => {
  const registry = new Registry({ now: () => t, sweepTimer: false });
  const membership = createPoolMembership(registry, { peerSecret: derivePeerSecret(SECRET), initialVersion: 100 });
  let app: BrixletServer;
  const put = async (r: NodeReport) => {
    const res = await app.inject({ method: 'PUT', url: `/v1/nodes/${r.name}`, payload: r, headers: as(deriveNodeToken(SECRET, r.name)) });
    expect(res.statusCode).toBe(200);
    return res.json() as { ringVersion: number };
  };
  beforeAll(async () => {
    app = await ringApp(registry, membership);
  });
  afterAll(async () => {
    await app.close();
    membership.dispose();
  });

  it('publishes ready nodes with a peer address, versioned, open to read and without keys', async () => {
    expect((await app.inject('/v1/ring')).json()).toEqual({ version: 100, slots: RING_SLOTS, vnodes: RING_VNODES, members: [] });
    expect((await put(report('node-b', '10.0.0.2:9465'))).ringVersion).toBe(101);
    expect((await put(report('node-a', '10.0.0.1:9465'))).ringVersion).toBe(102);
    // No peer address (peer transport off): not a member, no new version.
    expect((await put(report('node-c'))).ringVersion).toBe(102);
    const ring = await app.inject('/v1/ring');
    expect(ring.statusCode).toBe(200);
    expect(ring.json()).toEqual({
      version: 102,
      slots: RING_SLOTS,
      vnodes: RING_VNODES,
      members: [
        { node: 'node-a', peerAddress: '10.0.0.1:9465' },
        { node: 'node-b', peerAddress: '10.0.0.2:9465' },
      ],
    });
  });

  it('keeps the version over heartbeats and other report changes; bumps it when an address changes', async () => {
    expect((await put(report('node-a', '10.0.0.1:9465', { components: ['kv', 'accelerators'] }))).ringVersion).toBe(102);
    expect((await put(report('node-a', '10.0.0.1:9465'))).ringVersion).toBe(102);
    expect((await put(report('node-a', '10.0.0.9:9465'))).ringVersion).toBe(103);
    expect((await app.inject('/v1/ring')).json().members[0]).toEqual({ node: 'node-a', peerAddress: '10.0.0.9:9465' });
  });

  it('gives a node token its own pair keys only', async () => {
    const res = await app.inject({ url: '/v1/ring?node=node-a', headers: as(deriveNodeToken(SECRET, 'node-a')) });
    expect(res.statusCode).toBe(200);
    const keys = res.json().pairKeys as Record<string, string>;
    expect(Object.keys(keys)).toEqual(['node-b']);
    expect(Buffer.from(keys['node-b']!, 'base64url')).toEqual(derivePairKey(derivePeerSecret(SECRET), 'node-a', 'node-b'));
    // node-b gets the same key for the pair from its side.
    const b = await app.inject({ url: '/v1/ring?node=node-b', headers: as(deriveNodeToken(SECRET, 'node-b')) });
    expect(b.json().pairKeys).toEqual({ 'node-a': keys['node-b'] });
    // Another node's token, no token, a wrong token: refused, and no key in the body.
    for (const headers of [as(deriveNodeToken(SECRET, 'node-b')), {}, as('nope-0123456789')]) {
      const denied = await app.inject({ url: '/v1/ring?node=node-a', headers });
      expect(denied.statusCode).toBe(401);
      expect(denied.json().error.code).toBe('BRX_ERR_REGISTRY_UNAUTHORIZED');
      expect(denied.body).not.toContain(keys['node-b']);
    }
    // The cluster secret may act as any one node (it may write any report already).
    expect((await app.inject({ url: '/v1/ring?node=node-b', headers: as(SECRET) })).json().pairKeys).toEqual({ 'node-a': keys['node-b'] });
    // The open read never carries keys, whatever credentials come with it.
    expect((await app.inject({ url: '/v1/ring', headers: as(SECRET) })).json().pairKeys).toBeUndefined();
  });

  it('drops a stale node (version bump) and takes it back on its next report', async () => {
    t += 2000;
    await put(report('node-b', '10.0.0.2:9465'));
    t += 2000; // node-a silent for 4 heartbeats of 1 s: stale after 3
    registry.sweep();
    const ring = (await app.inject('/v1/ring')).json();
    expect(ring.version).toBe(104);
    expect(ring.members).toEqual([{ node: 'node-b', peerAddress: '10.0.0.2:9465' }]);
    expect((await put(report('node-a', '10.0.0.9:9465'))).ringVersion).toBe(105);
    expect((await app.inject({ method: 'DELETE', url: '/v1/nodes/node-b', headers: as(SECRET) })).statusCode).toBe(200);
    expect((await app.inject('/v1/ring')).json()).toMatchObject({ version: 106, members: [{ node: 'node-a' }] });
  });

  it('refuses an empty node name', async () => {
    expect((await app.inject('/v1/ring?node=')).statusCode).toBe(400);
  });
});

describe('GET /v1/ring with ServiceAccount tokens', () => {
  it('gives an agent pod the pair keys of the node it runs on only', async () => {
    const registry = new Registry({ sweepTimer: false });
    const membership = createPoolMembership(registry, { peerSecret: Buffer.alloc(32, 7), initialVersion: 1 });
    const kube: KubeNodeAuth = { nodeOf: async (token) => ({ node: token === 'sa-on-a' ? 'node-a' : 'node-b', user: 'system:serviceaccount:brixlet:agent' }) };
    const app = await ringApp(registry, membership, createControlAuth({ kube }));
    try {
      for (const [name, token] of [['node-a', 'sa-on-a'], ['node-b', 'sa-on-b']] as const) {
        expect((await app.inject({ method: 'PUT', url: `/v1/nodes/${name}`, payload: report(name, `${name}:9465`), headers: as(token) })).statusCode).toBe(200);
      }
      const own = await app.inject({ url: '/v1/ring?node=node-a', headers: as('sa-on-a') });
      expect(Object.keys(own.json().pairKeys)).toEqual(['node-b']);
      const other = await app.inject({ url: '/v1/ring?node=node-a', headers: as('sa-on-b') });
      expect(other.statusCode).toBe(403);
      expect(other.json().error.message).toContain('may not read the pair keys of node node-a');
    } finally {
      await app.close();
      membership.dispose();
    }
  });
});
