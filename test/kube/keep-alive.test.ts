import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import { KeepAliveKubeConfig } from '../../src/kube/keep-alive.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import { createListWatch } from '../../src/kube/list-watch.js';
import type { KubeObject } from '../../src/kube/types.js';
import { NODES, RAY, startServer } from './helpers.js';

let server: FakeApiServer;
const clients: KubeClient[] = [];

beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await server.close();
});

function client(opts: Parameters<typeof createKubeClient>[0] = {}): KubeClient {
  const c = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {}, ...opts });
  clients.push(c);
  return c;
}

function inCluster(): KubeClient {
  return client({ kubeconfigText: undefined, inCluster: true, serviceAccountDir: server.serviceAccountDir(), env: server.inClusterEnv() });
}

/** Resolves once `check` holds; the timeout only catches a hang. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('keep-alive connections of a KubeClient', () => {
  it('sends sequential requests of every kind over one TLS connection, and dispose closes it', async () => {
    const kube = client();
    expect(kube.kubeConfig).toBeInstanceOf(KeepAliveKubeConfig);
    const rays = kube.customObjects(RAY);
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const lists = createListWatch<KubeObject>(kube.kubeConfig, RAY, { namespace: 'serving' });
    for (let i = 0; i < 10; i++) {
      await rays.create({ metadata: { name: `r-${i}` } });
      await rays.mergePatch(`r-${i}`, { metadata: { labels: { i: String(i) } } });
      await core.listNode();
      await lists.list();
    }
    expect((await rays.list()).items).toHaveLength(10);
    expect(server.requests.length).toBeGreaterThanOrEqual(41);
    expect(server.tlsConnections).toBe(1);
    expect(server.openConnections).toBe(1);
    await kube.dispose();
    await until(() => server.openConnections === 0, 'the pooled connection to close');
    // After dispose a request still works, on a connection of its own that does not stay open.
    expect((await rays.get('r-0')).metadata?.name).toBe('r-0');
    expect(server.tlsConnections).toBe(2);
    await until(() => server.openConnections === 0, 'the one-off connection to close');
  });

  it('bounds the connections: concurrent requests queue for maxSockets connections', async () => {
    const kube = client({ maxSockets: 2 });
    const rays = kube.customObjects(RAY);
    await Promise.all(Array.from({ length: 12 }, (_, i) => rays.create({ metadata: { name: `c-${i}` } })));
    expect((await rays.list()).items).toHaveLength(12);
    expect(server.tlsConnections).toBe(2);
  });

  it('watches keep connections of their own: informers never starve the pool', async () => {
    const kube = client({ maxSockets: 1 });
    const informers = [kube.informer(RAY), kube.informer(RAY, { labelSelector: 'a=b' }), kube.informer(NODES)];
    await until(() => informers.every((i) => i.synced) && server.openWatches === 3, 'three synced informers with open watches');
    await kube.customObjects(RAY).create({ metadata: { name: 'while-watching' } });
    await until(() => informers[0]?.get('serving/while-watching') !== undefined, 'the informer to see the write');
    // One pooled connection for the three lists and the create, one per watch.
    expect(server.tlsConnections).toBe(4);
    await kube.dispose();
    await until(() => server.openConnections === 0, 'watches and pool to close');
  });

  it('re-reads a rotated service-account token for every request on the kept connection', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const dir = server.serviceAccountDir();
    const rays = inCluster().customObjects(RAY);
    expect((await rays.list()).items).toEqual([]);
    writeFileSync(join(dir, 'token'), 'rotated-but-not-known');
    // The tokenFile provider re-reads the file once its copy is older than 60 s.
    vi.setSystemTime(Date.now() + 61_000);
    await expect(rays.list()).rejects.toMatchObject({ code: 'BRX_ERR_KUBE_UNAUTHORIZED' });
    writeFileSync(join(dir, 'token'), server.token);
    vi.setSystemTime(Date.now() + 61_000);
    expect((await rays.list()).items).toEqual([]);
    expect(server.tlsConnections).toBe(1);
  });

  it('a rotated CA file moves requests to a new connection and closes the old one', async () => {
    const dir = server.serviceAccountDir();
    const kube = inCluster();
    const rays = kube.customObjects(RAY);
    await rays.create({ metadata: { name: 'before' } });
    await rays.get('before');
    expect(server.tlsConnections).toBe(1);
    // New bytes (a bundle holding the same certificate twice): new TLS material for the pool.
    writeFileSync(join(dir, 'ca.crt'), `${server.ca}\n${server.ca}`);
    await rays.create({ metadata: { name: 'after' } });
    await createListWatch<KubeObject>(kube.kubeConfig, RAY, { namespace: 'serving' }).list();
    expect(server.tlsConnections).toBe(2);
    await until(() => server.openConnections === 1, 'the connection made with the old CA to close');
    expect((kube.kubeConfig as KeepAliveKubeConfig).pooledSockets).toBe(1);
  });
});
