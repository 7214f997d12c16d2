import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import { KubeError } from '../../src/kube/kube-error.js';
import { createListWatch, type WatchHandle } from '../../src/kube/list-watch.js';
import type { KubeObject } from '../../src/kube/types.js';
import { NODES, RAY, RAY_ID, startServer } from './helpers.js';

let server: FakeApiServer;
let kc: KubeConfig;
const handles: WatchHandle[] = [];

beforeEach(async () => {
  server = await startServer();
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
});
afterEach(async () => {
  for (const h of handles.splice(0)) h.abort();
  await server.close();
});

const create = (name: string, labels: Record<string, string> = {}, ns = 'serving') => server.store.create(RAY_ID, ns, { metadata: { name, labels } });

describe('createListWatch', () => {
  it('describes the resource, its scope and label selector', () => {
    expect(createListWatch(kc, RAY, { namespace: 'serving', labelSelector: 'app=vllm' }).description).toBe('rayclusters.ray.io in serving (app=vllm)');
    expect(createListWatch(kc, RAY).description).toBe('rayclusters.ray.io in all namespaces');
    expect(createListWatch(kc, NODES, { namespace: 'ignored' }).description).toBe('nodes in cluster');
  });

  it('lists with the TLS and token from the kubeconfig, filtering by namespace and label selector', async () => {
    create('a', { app: 'vllm' });
    create('b', { app: 'other' });
    create('c', { app: 'vllm' }, 'prod');
    const lw = createListWatch<KubeObject>(kc, RAY, { namespace: 'serving', labelSelector: 'app=vllm' });
    const list = await lw.list();
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['a']);
    expect(list.resourceVersion).toMatch(/^\d+$/);
    const all = await createListWatch<KubeObject>(kc, RAY).list();
    expect(all.items.map((o) => o.metadata?.name).sort()).toEqual(['a', 'b', 'c']);
    const req = server.requests.find((r) => r.method === 'GET' && r.path === '/apis/ray.io/v1/namespaces/serving/rayclusters');
    expect(new URLSearchParams(req?.query).get('labelSelector')).toBe('app=vllm');
  });

  it('turns an API error into a KubeError naming the call', async () => {
    server.failNext({ method: 'GET', path: '/rayclusters', status: 503, reason: 'ServiceUnavailable', message: 'etcd down' });
    const err = await createListWatch(kc, RAY, { namespace: 'serving' }).list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect((err as KubeError).status).toBe(503);
    expect((err as KubeError).message).toMatch(/list rayclusters\.ray\.io in serving/);
  });

  it('a kubeconfig without a current cluster is a config error', async () => {
    const err = await createListWatch(new KubeConfig(), RAY).list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect((err as KubeError).code).toBe('BRX_ERR_KUBE_CONFIG');
  });

  it('an already aborted signal stops the list', async () => {
    const err = await createListWatch(kc, RAY).list(AbortSignal.abort()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
  });

  it('watches from the listed resourceVersion: only later changes arrive, and a clean close settles done with null', async () => {
    create('old');
    const lw = createListWatch<KubeObject>(kc, RAY, { namespace: 'serving' });
    const { resourceVersion } = await lw.list();
    const events: string[] = [];
    const h = await lw.watch(resourceVersion, (type, obj) => events.push(`${type} ${(obj as KubeObject).metadata?.name}`));
    handles.push(h);
    await expect.poll(() => server.openWatches).toBe(1);
    create('new');
    create('elsewhere', {}, 'prod');
    server.store.remove(RAY_ID, 'serving', 'old');
    await expect.poll(() => events.length).toBe(2);
    expect(events).toEqual(['ADDED new', 'DELETED old']);
    const watch = server.requests.find((r) => r.path.endsWith('/rayclusters') && new URLSearchParams(r.query).get('watch') === 'true');
    expect(new URLSearchParams(watch?.query).get('resourceVersion')).toBe(resourceVersion);
    expect(new URLSearchParams(watch?.query).get('allowWatchBookmarks')).toBe('true');
    server.dropWatches('end');
    await expect(h.done).resolves.toBeNull();
  });

  it('an abruptly dropped watch settles done with a KubeError', async () => {
    const lw = createListWatch<KubeObject>(kc, RAY, { namespace: 'serving' });
    const h = await lw.watch((await lw.list()).resourceVersion, () => undefined);
    handles.push(h);
    await expect.poll(() => server.openWatches).toBe(1);
    server.dropWatches('destroy');
    const err = await h.done;
    expect(err).toBeInstanceOf(KubeError);
    expect(err?.message).toMatch(/watch rayclusters\.ray\.io in serving/);
  });
});
