// The agent's ring follower against a real control app on 127.0.0.1 (registry, pool membership,
// GET /v1/ring, node tokens), driven by real reporters: members, pair keys, version follow, stale.
import { Registry as PromRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createReporter, type Reporter } from '../../src/agent/reporter.js';
import { createRingFollower, membershipFromRing, registerRingMetrics, type RingFollower, staticMembership } from '../../src/agent/ring-follower.js';
import { listen } from '../../src/common/http/listen.js';
import { RING_SLOTS, RING_VNODES } from '../../src/common/pool-ring.js';
import { Readiness } from '../../src/common/readiness.js';
import { buildControlApp } from '../../src/coordinator/control-app.js';
import { createControlAuth } from '../../src/coordinator/registry/control-auth.js';
import { deriveNodeToken } from '../../src/coordinator/registry/node-token.js';
import { derivePairKey, derivePeerSecret } from '../../src/coordinator/registry/pair-keys.js';
import { createPoolMembership, type PoolMembership } from '../../src/coordinator/registry/pool-membership.js';
import { Registry } from '../../src/coordinator/registry/registry.js';
import { type Membership, soloMembership } from '../../src/kvcache/membership.js';
import type { KvSummary } from '../../src/kvcache/types.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

const SECRET = 'cluster-secret-0123456789abcdef';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const kvSource = { summary: () => ({ capacityBytes: 1024, usedBytes: 0, entries: 0, maxEntries: 10, hitRatio: null, policy: 'arc', socket: '/tmp/x.sock' }) as unknown as KvSummary };

async function control(): Promise<{ url: string; registry: Registry; membership: PoolMembership }> {
  const registry = new Registry({ staleAfter: 3, sweepTimer: false });
  const membership = createPoolMembership(registry, { peerSecret: derivePeerSecret(SECRET), initialVersion: 500 });
  const app = await buildControlApp({ log: silentLog, metrics: testMetrics(), readiness: new Readiness(), registry, version: '1', bodyLimit: 1024 * 1024, auth: createControlAuth({ secret: SECRET }), membership });
  const url = await listen(app, { host: '127.0.0.1', port: 0, server: 'control', flag: '--control.port' });
  cleanups.push(() => app.close(), () => membership.dispose(), () => registry.dispose());
  return { url, registry, membership };
}

function agent(url: string, node: string, peerAddress: string | undefined): { reporter: Reporter; ring: RingFollower } {
  const token = deriveNodeToken(SECRET, node);
  const ring = createRingFollower({ coordinator: url, nodeName: node, token, log: silentLog });
  const reporter = createReporter({
    coordinator: url,
    token,
    nodeName: node,
    agentUrl: `http://${node}:9464`,
    version: '1',
    components: ['kvcache'],
    heartbeatMs: 60_000,
    kv: kvSource,
    ...(peerAddress !== undefined && { peerAddress: () => peerAddress }),
    onRingVersion: (v) => ring.offer(v),
    log: silentLog,
  });
  cleanups.push(() => ring.dispose(), () => reporter.dispose());
  return { reporter, ring };
}

/** Resolves with the first membership `ring` adopts that satisfies `ok` (hang guard only). */
function until(ring: RingFollower, ok: (m: Membership) => boolean): Promise<Membership> {
  if (ok(ring.current())) return Promise.resolve(ring.current());
  return new Promise((resolve) => {
    const off = ring.onChange((m) => {
      if (!ok(m)) return;
      off();
      resolve(m);
    });
  });
}

describe('ring follower', () => {
  it('starts alone, follows the coordinator\'s version from report replies, and holds its own pair keys', async () => {
    const c = await control();
    const a = agent(c.url, 'node-a', '10.0.0.1:9465');
    const b = agent(c.url, 'node-b', '10.0.0.2:9465');
    expect(a.ring.current()).toEqual(soloMembership('node-a'));
    expect(await a.reporter.reportNow()).toBe(true);
    expect(await b.reporter.reportNow()).toBe(true);
    // a's reply announced the version before b joined; its next reply announces b.
    await a.reporter.reportNow();
    const m = await until(a.ring, (x) => x.members.length === 2);
    expect(m.version).toBe(c.membership.version);
    expect(m.self).toBe('node-a');
    expect(m.members).toEqual([
      { node: 'node-a', peerAddress: '10.0.0.1:9465' },
      { node: 'node-b', peerAddress: '10.0.0.2:9465' },
    ]);
    expect([...m.pairKeys.keys()]).toEqual(['node-b']);
    expect(m.pairKeys.get('node-b')).toEqual(derivePairKey(derivePeerSecret(SECRET), 'node-a', 'node-b'));
    await b.reporter.reportNow();
    const mb = await until(b.ring, (x) => x.members.length === 2);
    expect(mb.pairKeys.get('node-a')).toEqual(m.pairKeys.get('node-b'));

    const metrics = new PromRegistry();
    registerRingMetrics(metrics, a.ring);
    const text = await metrics.metrics();
    expect(text).toContain(`brixlet_kvcache_ring_version ${c.membership.version}`);
    expect(text).toContain('brixlet_kvcache_ring_members 2');
  });

  it('sees a stale member leave on its next report', async () => {
    const c = await control();
    const a = agent(c.url, 'node-a', '10.0.0.1:9465');
    const b = agent(c.url, 'node-b', '10.0.0.2:9465');
    await b.reporter.reportNow();
    await a.reporter.reportNow();
    await until(a.ring, (x) => x.members.length === 2);
    const before = a.ring.current().version;
    c.registry.removeNode('node-b'); // what a stale node does to the ring, without waiting for it
    await a.reporter.reportNow();
    const m = await until(a.ring, (x) => x.members.length === 1);
    expect(m.version).toBeGreaterThan(before);
    expect(m.pairKeys.size).toBe(0);
  });

  it('an agent without a peer address is no member but still follows (the pool\'s other members, their keys)', async () => {
    const c = await control();
    const a = agent(c.url, 'node-a', '10.0.0.1:9465');
    const quiet = agent(c.url, 'node-q', undefined);
    await a.reporter.reportNow();
    await quiet.reporter.reportNow();
    const m = await until(quiet.ring, (x) => x.version !== 0);
    expect(m.members.map((x) => x.node)).toEqual(['node-a']);
    expect([...m.pairKeys.keys()]).toEqual(['node-a']);
  });

  it('keeps the held membership when the ring cannot be fetched (wrong credentials)', async () => {
    const c = await control();
    await agent(c.url, 'node-a', '10.0.0.1:9465').reporter.reportNow();
    const ring = createRingFollower({ coordinator: c.url, nodeName: 'node-x', token: deriveNodeToken(SECRET, 'node-y'), log: silentLog });
    cleanups.push(() => ring.dispose());
    expect(await ring.refresh()).toBe(false);
    expect(ring.current()).toEqual(soloMembership('node-x'));
  });

  it('without a coordinator: alone at version 0, forever', () => {
    const m = staticMembership(soloMembership('solo'));
    expect(m.current()).toEqual({ version: 0, self: 'solo', members: [], pairKeys: new Map() });
    expect(m.onChange(() => undefined)).toBeTypeOf('function');
  });
});

describe('membershipFromRing', () => {
  const key = Buffer.alloc(32, 1).toString('base64url');
  const ring = (extra: object = {}) => ({ version: 3, slots: RING_SLOTS, vnodes: RING_VNODES, members: [{ node: 'b', peerAddress: 'b:1' }, { node: 'a', peerAddress: 'a:1' }], pairKeys: { b: key }, ...extra });

  it('takes a valid reply: members sorted, keys of other members only', () => {
    const m = membershipFromRing('a', ring({ pairKeys: { a: key, b: key, gone: key } }));
    expect(m.members.map((x) => x.node)).toEqual(['a', 'b']);
    expect([...m.pairKeys.keys()]).toEqual(['b']);
    expect(m.pairKeys.get('b')).toHaveLength(32);
  });

  it.each([
    ['not an object', 'nope'],
    ['a negative version', ring({ version: -1 })],
    ['other ring parameters', ring({ slots: 1024 })],
    ['other virtual nodes', ring({ vnodes: 64 })],
    ['a short key', ring({ pairKeys: { b: Buffer.alloc(16).toString('base64url') } })],
    ['a key that is not base64url', ring({ pairKeys: { b: `${'+'.repeat(42)}A` } })],
    ['a member twice', ring({ members: [{ node: 'a', peerAddress: 'x:1' }, { node: 'a', peerAddress: 'y:1' }] })],
    ['an unknown field', ring({ extra: 1 })],
    ['too many members', ring({ members: Array.from({ length: 4097 }, (_, i) => ({ node: `n${i}`, peerAddress: 'h:1' })) })],
  ])('refuses %s', (_name, body) => {
    expect(() => membershipFromRing('a', body)).toThrow();
  });
});
