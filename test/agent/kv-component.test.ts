import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildAgentApp } from '../../src/agent/agent-app.js';
import { createKvComponent, type KvComponent, peerAdvertiseAddress } from '../../src/agent/kv-component.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import { Readiness } from '../../src/common/readiness.js';
import { chainKeys } from '../../src/kvcache/client/chain-keys.js';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

const root = mkdtempSync('/dev/shm/brixlet-kv-component-test-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const TOKEN = 'kv-api-token-0123456789';
const tokenFile = join(root, 'api-token');
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });

const open: { app: BrixletServer; kv: KvComponent }[] = [];
afterEach(async () => {
  for (const { app, kv } of open.splice(0)) {
    await app.close();
    await kv.dispose();
  }
});

async function agent(name: string, flags: Record<string, string> = {}) {
  const { config } = loadConfig({
    flags: { 'kv.dir': join(root, name, 'slabs'), 'kv.socket': join(root, name, 'kv.sock'), 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB', ...flags },
  });
  const kv = await createKvComponent(config, silentLog);
  const readiness = new Readiness();
  const metrics = testMetrics();
  const app = await buildAgentApp({ config, log: silentLog, metrics, readiness, version: '1.0.0', nodeName: 'n1', components: [kv] });
  open.push({ app, kv });
  return { app, kv, readiness, metrics };
}

describe('kv component', () => {
  it('starts the shard, serves its summary at /v1/kvcache and its metrics on /metrics', async () => {
    const { app, kv, readiness, metrics } = await agent('on', { 'agent.apiTokenFile': tokenFile });
    expect(kv.enabled).toBe(true);
    expect(kv.socketPath).toBe(join(root, 'on', 'kv.sock'));
    expect(readiness.state()).toEqual({ ready: true, reasons: [] });

    const c = await KvClient.connect({ socketPath: kv.socketPath as string, namespace: 'n', blockSize: 64 * 1024 });
    const block = Buffer.from('a block');
    expect([...(await c.put(chainKeys([block]), [block]))]).toEqual([0]);
    await c.get(chainKeys([block]));
    await c.close();

    const res = await app.inject({ url: '/v1/kvcache', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      enabled: true,
      pool: 'default',
      redacted: false,
      socket: kv.socketPath,
      dir: join(root, 'on', 'slabs'),
      slabs: { count: 1, size: 16 * 2 ** 20 },
      capacityBytes: 16 * 2 ** 20,
      entries: 1,
      hitRatio: 1,
      namespaces: [{ name: 'n', blockSize: 64 * 1024, entries: 1, hitRatio: 1 }],
    });
    expect(body.generation).toMatch(/^[0-9a-f]{8}$/);
    expect((await app.inject('/v1/info')).json().components).toEqual(['kvcache']);
    const text = await metrics.render();
    expect(text).toMatch(/^brixlet_kvcache_\w+/m);
    const openapi = (await app.inject('/openapi.json')).json();
    expect(openapi.paths['/v1/kvcache'].get.responses['200']).toBeDefined();
  });

  it('is not ready once its socket file is gone, and dispose removes socket and slabs', async () => {
    const { kv, readiness } = await agent('gone');
    const files = kv.service?.summary().slabs.files ?? [];
    expect(files.every((f) => existsSync(f))).toBe(true);
    unlinkSync(kv.socketPath as string);
    expect(readiness.state().reasons).toEqual([`kvcache: socket ${kv.socketPath} is gone`]);
    await kv.dispose();
    await kv.dispose();
    expect(files.some((f) => existsSync(f))).toBe(false);
    expect(readiness.state().reasons).toEqual(['kvcache: shard closed']);
  });

  it('disabled: starts nothing and /v1/kvcache answers 404 BRX_ERR_KV_DISABLED, absent from OpenAPI', async () => {
    const { app, kv } = await agent('off', { 'kv.enabled': 'false' });
    expect(kv.enabled).toBe(false);
    expect(kv.socketPath).toBeUndefined();
    expect(existsSync(join(root, 'off'))).toBe(false);
    const res = await app.inject('/v1/kvcache');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'BRX_ERR_KV_DISABLED' } });
    expect((await app.inject('/v1/info')).json().components).toEqual([]);
    expect((await app.inject('/openapi.json')).json().paths['/v1/kvcache']).toBeUndefined();
  });

  it('GET /v1/kvcache shows namespace names, layouts and slab paths only with the API token', async () => {
    const { app, kv } = await agent('names', { 'agent.apiTokenFile': tokenFile });
    const c = await KvClient.connect({ socketPath: kv.socketPath as string, namespace: 'tenant-a/llama', layout: 'secret-layout', blockSize: 64 * 1024 });
    const block = Buffer.from('a block');
    await c.put(chainKeys([block]), [block]);
    await c.close();
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }]) {
      const body = (await app.inject({ url: '/v1/kvcache', headers })).json();
      expect(body.redacted).toBe(true);
      expect(body.namespaces).toEqual([expect.objectContaining({ name: '', layout: '', entries: 1, blockSize: 64 * 1024 })]);
      expect(body.slabs.files).toEqual([]);
      expect(JSON.stringify(body)).not.toMatch(/tenant-a|secret-layout|slab-/);
    }
    const named = (await app.inject({ url: '/v1/kvcache', headers: { authorization: `bearer ${TOKEN}` } })).json();
    expect(named.namespaces[0]).toMatchObject({ name: 'tenant-a/llama', layout: 'secret-layout' });
    expect(named.slabs.files).toHaveLength(1);
  });

  it('without a configured token nobody sees names over HTTP', async () => {
    const { app, kv } = await agent('no-token');
    const c = await KvClient.connect({ socketPath: kv.socketPath as string, namespace: 'tenant-a', blockSize: 64 * 1024 });
    await c.close();
    const body = (await app.inject({ url: '/v1/kvcache', headers: { authorization: 'Bearer ' } })).json();
    expect(body.redacted).toBe(true);
    expect(JSON.stringify(body)).not.toMatch(/tenant-a/);
  });

  it('refuses a token file that group or others can read', async () => {
    const loose = join(root, 'loose-token');
    writeFileSync(loose, `${TOKEN}\n`, { mode: 0o644 });
    await expect(agent('loose', { 'agent.apiTokenFile': loose })).rejects.toMatchObject({ code: 'BRX_ERR_KV_API_TOKEN' });
    expect(existsSync(join(root, 'loose'))).toBe(false);
  });

  it('hosts --kv.pools as separate shards: a namespace written in one is invisible in the other; all listed and scraped', async () => {
    const pools = `name=b,socket=${join(root, 'two', 'b.sock')},dir=${join(root, 'two', 'b-slabs')},capacity=16MiB`;
    const { app, kv, metrics } = await agent('two', { 'kv.pools': pools, 'agent.apiTokenFile': tokenFile });
    expect(kv.pools.map((p) => p.options.pool)).toEqual(['default', 'b']);
    const [a, b] = kv.pools.map((p) => p.socketPath) as [string, string];
    const block = Buffer.from('tenant a data');
    const keys = chainKeys([block]);
    const ca = await KvClient.connect({ socketPath: a, namespace: 'shared-name', blockSize: 64 * 1024 });
    expect([...(await ca.put(keys, [block]))]).toEqual([0]);
    expect(await ca.exists(keys)).toBe(1);
    const cb = await KvClient.connect({ socketPath: b, namespace: 'shared-name', blockSize: 64 * 1024 });
    const miss = await cb.lookup(keys);
    expect(miss.hits).toBe(0);
    const statsB = await cb.stats();
    expect(statsB.pool).toBe('b');
    expect(statsB.entries).toBe(0);
    expect(statsB.namespaces.map((n) => n.entries)).toEqual([0]);
    await cb.close();
    await ca.close();
    const body = (await app.inject({ url: '/v1/kvcache', headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(body.pool).toBe('default');
    expect(body.pools.map((p: { pool: string; entries: number; socket: string }) => [p.pool, p.entries, p.socket])).toEqual([
      ['default', 1, a],
      ['b', 0, b],
    ]);
    const text = await metrics.render();
    expect(text).toMatch(/^brixlet_kvcache_capacity_bytes 16777216$/m);
    expect(text).toMatch(/^brixlet_kvcache_capacity_bytes\{pool="b"\} 16777216$/m);
    await kv.dispose();
    expect(existsSync(a) || existsSync(b)).toBe(false);
  });

  it('refuses to start on a directory another shard holds', async () => {
    await agent('busy');
    await expect(agent('busy', { 'kv.socket': join(root, 'busy', 'other.sock') })).rejects.toMatchObject({ code: 'BRX_ERR_KV_IN_USE' });
  });
});

describe('kv component: peer listener', () => {
  /** A free TCP port (bound, then released). */
  async function freePort(): Promise<number> {
    const { createServer } = await import('node:net');
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it('serves the pool to a peer holding the pair key, at the advertised address', async () => {
    const { randomBytes } = await import('node:crypto');
    const { PeerClient } = await import('../../src/kvcache/peer/peer-client.js');
    const key = randomBytes(32);
    const port = await freePort();
    const aMembership = { current: () => ({ version: 1, self: 'n1', members: [], pairKeys: new Map([['n2', key]]) }), onChange: () => () => undefined };
    const { config } = loadConfig({
      flags: { 'kv.dir': join(root, 'peer', 'slabs'), 'kv.socket': join(root, 'peer', 'kv.sock'), 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB', 'kv.peerPort': String(port), 'kv.peerHost': '127.0.0.1' },
    });
    const kv = await createKvComponent(config, silentLog);
    const metrics = testMetrics();
    const app = await buildAgentApp({ config, log: silentLog, metrics, readiness: new Readiness(), version: '1.0.0', nodeName: 'n1', components: [kv], membership: aMembership });
    open.push({ app, kv });
    expect(kv.peerAddress()).toBe(`127.0.0.1:${port}`);

    const c = await KvClient.connect({ socketPath: kv.socketPath as string, namespace: 'n', blockSize: 64 * 1024 });
    const block = Buffer.from('a block read by another agent');
    const k = chainKeys([block]);
    await c.put(k, [block]);
    await c.close();

    const bMembership = { current: () => ({ version: 1, self: 'n2', members: [{ node: 'n1', peerAddress: kv.peerAddress() as string }], pairKeys: new Map([['n1', key]]) }), onChange: () => () => undefined };
    const peer = new PeerClient({ self: 'n2', pool: 'default', membership: bMembership, deadlineMs: 20_000 });
    const dest = new Uint8Array(64 * 1024);
    const r = await peer.mget('n1', 'n', k, [dest]);
    expect(Buffer.from(dest.subarray(0, r.lengths[0])).equals(block)).toBe(true);
    await peer.close();
    const text = await metrics.render();
    expect(text).toMatch(/^brixlet_kvcache_peer_requests_total\{op="MGET",status="OK"\} 1$/m);
    expect(text).toMatch(/^brixlet_kvcache_peer_bytes_total\{direction="sent"\} 29$/m);
  });

  it('with the peer port on, the agent reads other agents through its own peer client (received bytes counted); LOOKUP_REMOTE of a chain no agent holds answers with no hits', async () => {
    const { randomBytes } = await import('node:crypto');
    const key = randomBytes(32);
    const [p1, p2] = [await freePort(), await freePort()];
    const start = async (self: string, other: string, port: number, members: { node: string; peerAddress: string }[]) => {
      const { config } = loadConfig({
        flags: { 'kv.dir': join(root, self, 'slabs'), 'kv.socket': join(root, self, 'kv.sock'), 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB', 'kv.peerPort': String(port), 'kv.peerHost': '127.0.0.1' },
      });
      const kv = await createKvComponent(config, silentLog);
      const metrics = testMetrics();
      const membership = { current: () => ({ version: 1, self, members, pairKeys: new Map([[other, key]]) }), onChange: () => () => undefined };
      const app = await buildAgentApp({ config, log: silentLog, metrics, readiness: new Readiness(), version: '1.0.0', nodeName: self, components: [kv], membership });
      open.push({ app, kv });
      return { kv, metrics };
    };
    const n1 = await start('r1', 'r2', p1, []);
    const n2 = await start('r2', 'r1', p2, [{ node: 'r1', peerAddress: `127.0.0.1:${p1}` }]);
    const block = Buffer.from('a block read by another agent');
    const k = chainKeys([block]);
    const c1 = await KvClient.connect({ socketPath: n1.kv.socketPath as string, namespace: 'n', blockSize: 64 * 1024 });
    await c1.put(k, [block]);
    await c1.close();
    const transport = n2.kv.peerClient('default');
    expect(transport).toBeDefined();
    const dest = new Uint8Array(64 * 1024);
    expect((await transport!.mget('r1', 'n', k, [dest])).lengths[0]).toBe(block.length);
    expect(await n2.metrics.render()).toMatch(/^brixlet_kvcache_peer_bytes_total\{direction="received"\} 29$/m);
    const c2 = await KvClient.connect({ socketPath: n2.kv.socketPath as string, namespace: 'n', blockSize: 64 * 1024 });
    expect(c2.remoteRead).toBe(true);
    const nowhere = chainKeys(Array.from({ length: 8 }, (_, i) => Buffer.from(`held by nobody ${i}`)));
    expect(await c2.lookup(nowhere, { remoteBudgetMs: 5 })).toMatchObject({ hits: 0, remoteHits: 0 });
    await c2.close();
  });

  it('a block made hot through one agent is published to its chain\'s home, found by the other agent\'s directory and read by its LOOKUP_REMOTE', async () => {
    const { randomBytes } = await import('node:crypto');
    const key = randomBytes(32);
    const [p1, p2] = [await freePort(), await freePort()];
    const members = [
      { node: 'd1', peerAddress: `127.0.0.1:${p1}` },
      { node: 'd2', peerAddress: `127.0.0.1:${p2}` },
    ];
    const start = async (self: string, other: string, port: number) => {
      const { config } = loadConfig({
        flags: { 'kv.dir': join(root, self, 'slabs'), 'kv.socket': join(root, self, 'kv.sock'), 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB', 'kv.peerPort': String(port), 'kv.peerHost': '127.0.0.1', 'kv.remoteBudgetMax': '20s' },
      });
      const kv = await createKvComponent(config, silentLog);
      const metrics = testMetrics();
      const membership = { current: () => ({ version: 1, self, members, pairKeys: new Map([[other, key]]) }), onChange: () => () => undefined };
      const app = await buildAgentApp({ config, log: silentLog, metrics, readiness: new Readiness(), version: '1.0.0', nodeName: self, components: [kv], membership });
      open.push({ app, kv });
      return { kv, metrics };
    };
    const n1 = await start('d1', 'd2', p1);
    const n2 = await start('d2', 'd1', p2);
    const blocks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(32 * 1024, i + 1));
    const k = chainKeys(blocks);
    const c1 = await KvClient.connect({ socketPath: n1.kv.socketPath as string, namespace: 'n', blockSize: 64 * 1024 });
    await c1.put(k, blocks);
    // A write alone is never published; the engine's read makes the blocks hot.
    expect(await n2.kv.directory()!.lookup('n', k, 20_000)).toMatchObject({ holders: [] });
    expect((await c1.get(k)).length).toBe(8);
    await c1.close();
    // Published within a flush period (25 ms); the wait only guards against a hang.
    await vi.waitFor(async () => expect((await n2.kv.directory()!.lookup('n', k, 20_000)).holders).toEqual(['d1']), { timeout: 20_000, interval: 20 });
    const c2 = await KvClient.connect({ socketPath: n2.kv.socketPath as string, namespace: 'n', blockSize: 64 * 1024 });
    const r = await c2.lookup(k, { remoteBudgetMs: 20_000 });
    expect({ hits: r.hits, remoteHits: r.remoteHits }).toEqual({ hits: 8, remoteHits: 8 });
    await c2.release(r.leases.map((l) => l.leaseId));
    await c2.close();
    expect(await n1.metrics.render()).toMatch(/^brixlet_kvcache_publish_deltas_total\{state="applied"\} [1-9]/m);
    expect(await n2.metrics.render()).toMatch(/^brixlet_kvcache_directory_lookups_total\{result="hit"\} [1-9]/m);
  });

  it('a peer port that cannot be bound leaves the engine socket serving', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { kv } = await agent('peer-busy', { 'kv.peerPort': String(port), 'kv.peerHost': '127.0.0.1' });
      expect(kv.peerAddress()).toBeUndefined();
      const c = await KvClient.connect({ socketPath: kv.socketPath as string, namespace: 'n', blockSize: 64 * 1024 });
      await c.ping();
      await c.close();
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('advertises --kv.peer-advertise, else the reported host at the peer port', () => {
    expect(peerAdvertiseAddress({ kv: { peerAdvertise: '10.1.2.3:7000', peerHost: '0.0.0.0' } }, 9465)).toBe('10.1.2.3:7000');
    expect(peerAdvertiseAddress({ kv: { peerAdvertise: '', peerHost: '0.0.0.0' }, agent: { advertiseUrl: 'http://node-7.example:9464' } }, 9465)).toBe('node-7.example:9465');
    expect(peerAdvertiseAddress({ kv: { peerAdvertise: '', peerHost: '::1' } }, 9465)).toBe('[::1]:9465');
    expect(peerAdvertiseAddress({ kv: { peerAdvertise: '', peerHost: '0.0.0.0' }, agent: { host: '10.0.0.5' } }, 9465)).toBe('10.0.0.5:9465');
  });
});
