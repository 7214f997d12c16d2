import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import type { Informer } from '../../src/kube/informer.js';
import { createKubeClient, type KubeClient, type KubeInformerOptions } from '../../src/kube/kube-client.js';
import type { KubeObject } from '../../src/kube/types.js';
import { NODES, RAY, RAY_ID, startServer } from './helpers.js';

let server: FakeApiServer;
let client: KubeClient;

beforeEach(async () => {
  server = await startServer();
  client = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
});
afterEach(async () => {
  await client.dispose();
  await server.close();
});

const FAST: KubeInformerOptions = { backoff: { initialMs: 5, maxMs: 40 }, minWatchMs: 0 };

function record(inf: Informer<KubeObject>): string[] {
  const log: string[] = [];
  inf.on('add', (o) => log.push(`add ${o.metadata?.name}`));
  inf.on('update', (o, old) => log.push(`update ${o.metadata?.name} ${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`));
  inf.on('delete', (o) => log.push(`delete ${o.metadata?.name}`));
  inf.on('error', (e) => log.push(`error ${e.code}`));
  return log;
}

const create = (name: string, labels: Record<string, string> = {}, ns = 'serving'): void => {
  server.store.create(RAY_ID, ns, { metadata: { name, labels } });
};

describe('informer', () => {
  it('lists, then follows add, update and delete through the watch, filtered by namespace and labels', async () => {
    create('pre', { app: 'vllm' });
    create('skip', { app: 'other' });
    const inf = client.informer(RAY, { ...FAST, labelSelector: 'app=vllm' });
    const log = record(inf);
    await inf.whenSynced();
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(['pre']);
    await expect.poll(() => server.openWatches).toBe(1);
    create('new', { app: 'vllm' });
    create('other-ns', { app: 'vllm' }, 'prod');
    server.store.update(RAY_ID, 'serving', 'pre', { metadata: { labels: { app: 'vllm', v: '2' } } });
    server.store.remove(RAY_ID, 'serving', 'new');
    await expect.poll(() => log.length).toBe(4);
    expect(log).toEqual(['add pre', 'add new', 'update pre 1->5', 'delete new']);
    expect(inf.get('serving/pre')?.metadata?.labels).toEqual({ app: 'vllm', v: '2' });
    expect(inf.get('serving/new')).toBeUndefined();
    expect(inf.resourceVersion).toBe('6');
  });

  it('works for a cluster-scoped core resource, keyed by name', async () => {
    server.store.create('nodes', undefined, { metadata: { name: 'gpu-1' } });
    const inf = client.informer(NODES, FAST);
    await inf.whenSynced();
    server.store.create('nodes', undefined, { metadata: { name: 'gpu-2' } });
    await expect.poll(() => inf.list().length).toBe(2);
    expect(inf.get('gpu-2')?.metadata?.name).toBe('gpu-2');
  });

  it('re-watches from its resourceVersion after a clean close, without relisting or losing events', async () => {
    create('pre');
    const inf = client.informer(RAY, FAST);
    const log = record(inf);
    await inf.whenSynced();
    await expect.poll(() => server.openWatches).toBe(1);
    server.dropWatches('end');
    create('during-gap'); // written while no watch is open: must come from the replay
    await expect.poll(() => log).toEqual(['add pre', 'add during-gap']);
    await expect.poll(() => server.openWatches).toBe(1);
    expect(inf.stats).toMatchObject({ lists: 1, errors: 0, expired: 0 });
    const watches = server.requests.filter((r) => r.query.includes('watch=true')).map((r) => new URLSearchParams(r.query).get('resourceVersion'));
    expect(watches).toEqual(['1', '1']);
  });

  it('relists on 410 Expired and reports what changed while it was away as add/update/delete', async () => {
    create('stays');
    create('changes');
    create('goes');
    const inf = client.informer(RAY, FAST);
    const log = record(inf);
    await inf.whenSynced();
    await expect.poll(() => server.openWatches).toBe(1);
    server.dropWatches('end');
    // All in the same tick, before the informer reconnects: its resourceVersion (3) is compacted away.
    server.store.update(RAY_ID, 'serving', 'changes', { metadata: { labels: { v: '2' } } });
    server.store.remove(RAY_ID, 'serving', 'goes');
    create('arrives');
    server.store.compact();
    await expect.poll(() => inf.stats.expired).toBe(1);
    await expect.poll(() => log.slice(3)).toEqual(['update changes 2->4', 'add arrives', 'delete goes']);
    expect(inf.list().map((o) => o.metadata?.name).sort()).toEqual(['arrives', 'changes', 'stays']);
    expect(inf.stats).toMatchObject({ lists: 2, errors: 0 });
    await expect.poll(() => server.openWatches).toBe(1);
    create('after');
    await expect.poll(() => log.at(-1)).toBe('add after');
  });

  it('relists on 410 answered as an HTTP status too', async () => {
    await client.dispose();
    await server.close();
    server = await startServer({ expiredWatch: 'http' });
    client = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
    create('a');
    const inf = client.informer(RAY, FAST);
    await inf.whenSynced();
    await expect.poll(() => server.openWatches).toBe(1);
    server.dropWatches('end');
    create('b');
    server.store.compact();
    await expect.poll(() => inf.list().length).toBe(2);
    expect(inf.stats).toMatchObject({ expired: 1, lists: 2, errors: 0 });
  });

  it('restarts with backoff after the server drops the watch connection abruptly', async () => {
    create('a');
    const inf = client.informer(RAY, FAST);
    const log = record(inf);
    await inf.whenSynced();
    await expect.poll(() => server.openWatches).toBe(1);
    server.dropWatches('destroy');
    create('b');
    await expect.poll(() => log).toEqual(['add a', 'error BRX_ERR_KUBE_API', 'add b']);
    await expect.poll(() => server.openWatches).toBe(1);
    expect(inf.stats).toMatchObject({ errors: 1, lists: 2 });
    create('c');
    await expect.poll(() => inf.list().length).toBe(3);
  });

  it('keeps retrying a failing list with growing delays, then syncs', async () => {
    server.failNext({ method: 'GET', path: '/rayclusters', status: 500, message: 'etcd timeout', times: 3 });
    create('a');
    const errors: number[] = [];
    const started = Date.now();
    const inf = client.informer(RAY, { backoff: { initialMs: 20, factor: 2 }, random: () => 0.5 });
    inf.on('error', (e) => {
      expect(e).toMatchObject({ code: 'BRX_ERR_KUBE_API', status: 500 });
      errors.push(Date.now() - started);
    });
    await inf.whenSynced();
    expect(inf.list()).toHaveLength(1);
    expect(errors).toHaveLength(3);
    // Delays 20, 40, 80 ms (jitter pinned to 1.0): sync comes no sooner than their sum.
    expect(Date.now() - started).toBeGreaterThanOrEqual(135);
  });

  it('keeps going when a subscriber throws', async () => {
    const inf = client.informer(RAY, FAST);
    inf.on('add', () => {
      throw new Error('subscriber bug');
    });
    await inf.whenSynced();
    create('a');
    create('b');
    await expect.poll(() => inf.list().length).toBe(2);
  });

  it('releases its watch on dispose, and the client disposes the informers it made', async () => {
    const one = client.informer(RAY, FAST);
    const two = client.informer(NODES, FAST);
    await Promise.all([one.whenSynced(), two.whenSynced()]);
    await expect.poll(() => server.openWatches).toBe(2);
    await one.dispose();
    await expect.poll(() => server.openWatches).toBe(1);
    await client.dispose();
    await expect.poll(() => server.openWatches).toBe(0);
    const requests = server.requests.length;
    create('late');
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests.length).toBe(requests);
    expect(two.list()).toEqual([]);
  });

  it('does not start when created with start: false', async () => {
    const inf = client.informer(RAY, { ...FAST, start: false });
    await new Promise((r) => setTimeout(r, 30));
    expect(inf.synced).toBe(false);
    expect(server.requests).toEqual([]);
    inf.start();
    await inf.whenSynced();
    expect(inf.synced).toBe(true);
  });
});
