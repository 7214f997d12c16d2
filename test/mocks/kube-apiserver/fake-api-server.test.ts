// The real @kubernetes/client-node against the fake API server: the fake is only useful if the
// client cannot tell it from a real one for the calls brixlet makes.
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, Watch, setHeaderOptions, type ApiException } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE_ACCOUNT_PATH, startFakeApiServer, type FakeApiServer, type ResourceDefinition } from '../../../mocks/kube-apiserver/index.js';

const RAY: ResourceDefinition = {
  group: 'ray.io',
  version: 'v1',
  kind: 'RayCluster',
  plural: 'rayclusters',
  namespaced: true,
  status: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
};
const NODE: ResourceDefinition = { version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
const CONFIGMAP: ResourceDefinition = { version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };

const ray = { group: 'ray.io', version: 'v1', namespace: 'default', plural: 'rayclusters' };

let server: FakeApiServer;
let api: CustomObjectsApi;
let kc: KubeConfig;

beforeEach(async () => {
  server = await startFakeApiServer({ resources: [RAY, NODE, CONFIGMAP] });
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  api = kc.makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
  await server.close();
});

async function apiError(p: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await p;
  } catch (err) {
    return err as ApiException<unknown>;
  }
  throw new Error('expected the call to fail');
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('fake API server with @kubernetes/client-node', () => {
  it('creates with generateName and fills uid, resourceVersion, creationTimestamp and generation', async () => {
    const created = await api.createNamespacedCustomObject({ ...ray, body: { metadata: { generateName: 'rc-' }, spec: { replicas: 1 }, status: { ignored: true } } });
    expect(created.metadata.name).toMatch(/^rc-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.metadata.generation).toBe(1);
    expect(created.apiVersion).toBe('ray.io/v1');
    expect(created.kind).toBe('RayCluster');
    // With the status subresource on, status in a create body is ignored, as on a real server.
    expect(created.status).toBeUndefined();
    const got = await api.getNamespacedCustomObject({ ...ray, name: created.metadata.name });
    expect(got).toEqual(created);
  });

  it('lists with label selectors (equality, set, existence) and across namespaces', async () => {
    for (const [name, labels, namespace] of [
      ['a', { app: 'vllm', tier: 'head' }, 'default'],
      ['b', { app: 'vllm', tier: 'worker' }, 'default'],
      ['c', { app: 'other' }, 'default'],
      ['d', { app: 'vllm', tier: 'head' }, 'prod'],
    ] as const) {
      await api.createNamespacedCustomObject({ ...ray, namespace, body: { metadata: { name, labels } } });
    }
    const names = async (labelSelector?: string): Promise<string[]> => {
      const list = await api.listNamespacedCustomObject({ ...ray, labelSelector });
      return (list.items as { metadata: { name: string } }[]).map((i) => i.metadata.name).sort();
    };
    expect(await names()).toEqual(['a', 'b', 'c']);
    expect(await names('app=vllm')).toEqual(['a', 'b']);
    expect(await names('app=vllm,tier!=head')).toEqual(['b']);
    expect(await names('tier in (head, worker)')).toEqual(['a', 'b']);
    expect(await names('app notin (vllm)')).toEqual(['c']);
    expect(await names('!tier')).toEqual(['c']);
    const all = await api.listClusterCustomObject({ group: 'ray.io', version: 'v1', plural: 'rayclusters', labelSelector: 'tier=head' });
    expect((all.items as { metadata: { namespace: string } }[]).map((i) => i.metadata.namespace).sort()).toEqual(['default', 'prod']);
    expect(Number(all.metadata.resourceVersion)).toBe(server.store.revision);
    expect((await apiError(api.listNamespacedCustomObject({ ...ray, labelSelector: 'a in (x' }))).code).toBe(400);
  });

  it('merge-patches with the merge-patch content type and bumps generation only on spec changes', async () => {
    await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'm', labels: { keep: 'y', drop: 'y' } }, spec: { replicas: 1, image: 'x' } } });
    const patched = await api.patchNamespacedCustomObject({ ...ray, name: 'm', body: { metadata: { labels: { drop: null } }, spec: { replicas: 3 } } }, merge);
    expect(patched.spec).toEqual({ replicas: 3, image: 'x' });
    expect(patched.metadata.labels).toEqual({ keep: 'y' });
    expect(patched.metadata.generation).toBe(2);
    const relabelled = await api.patchNamespacedCustomObject({ ...ray, name: 'm', body: { metadata: { labels: { extra: 'z' } } } }, merge);
    expect(relabelled.metadata.generation).toBe(2);
    expect(server.requests.filter((r) => r.method === 'PATCH').map((r) => r.contentType)).toEqual(['application/merge-patch+json', 'application/merge-patch+json']);
  });

  it('applies JSON patches (the client default content type) and rejects a failed test op with 422', async () => {
    await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'j' }, spec: { replicas: 1, groups: ['a'] } } });
    const out = await api.patchNamespacedCustomObject({ ...ray, name: 'j', body: [{ op: 'add', path: '/spec/groups/-', value: 'b' }, { op: 'replace', path: '/spec/replicas', value: 2 }] });
    expect(out.spec).toEqual({ replicas: 2, groups: ['a', 'b'] });
    const err = await apiError(api.patchNamespacedCustomObject({ ...ray, name: 'j', body: [{ op: 'test', path: '/spec/replicas', value: 9 }] }));
    expect(err.code).toBe(422);
  });

  it('changes only status through the status subresource, and ignores status on main-resource writes', async () => {
    await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 's' }, spec: { replicas: 1 } } });
    const st = await api.patchNamespacedCustomObjectStatus({ ...ray, name: 's', body: { spec: { replicas: 7 }, status: { state: 'ready' } } }, merge);
    expect(st.status).toEqual({ state: 'ready' });
    expect(st.spec).toEqual({ replicas: 1 });
    const main = await api.patchNamespacedCustomObject({ ...ray, name: 's', body: { status: { state: 'hacked' } } }, merge);
    expect(main.status).toEqual({ state: 'ready' });
    const replaced = await api.replaceNamespacedCustomObjectStatus({ ...ray, name: 's', body: { ...main, status: { state: 'failed' } } });
    expect(replaced.spec).toEqual({ replicas: 1 });
    expect((await apiError(api.replaceNamespacedCustomObjectStatus({ ...ray, name: 's', body: st }))).code).toBe(409);
    expect(replaced.status).toEqual({ state: 'failed' });
  });

  it('answers 409 to a stale resourceVersion on PUT and patch, and to a duplicate create', async () => {
    const created = await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'c' }, spec: { replicas: 1 } } });
    const updated = await api.replaceNamespacedCustomObject({ ...ray, name: 'c', body: { ...created, spec: { replicas: 2 } } });
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const stale = await apiError(api.replaceNamespacedCustomObject({ ...ray, name: 'c', body: { ...created, spec: { replicas: 3 } } }));
    expect(stale.code).toBe(409);
    expect(JSON.parse(stale.body as string)).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409, details: { name: 'c', group: 'ray.io', kind: 'rayclusters' } });
    const stalePatch = await apiError(api.patchNamespacedCustomObject({ ...ray, name: 'c', body: { metadata: { resourceVersion: created.metadata.resourceVersion }, spec: { replicas: 4 } } }, merge));
    expect(stalePatch.code).toBe(409);
    expect((await apiError(api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'c' } } }))).code).toBe(409);
    expect((await api.getNamespacedCustomObject({ ...ray, name: 'c' })).spec).toEqual({ replicas: 2 });
  });

  it('deletes, then answers 404 for get, patch and delete of the missing object', async () => {
    await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'd' } } });
    const deleted = await api.deleteNamespacedCustomObject({ ...ray, name: 'd' });
    expect(deleted.metadata.name).toBe('d');
    for (const call of [
      api.getNamespacedCustomObject({ ...ray, name: 'd' }),
      api.deleteNamespacedCustomObject({ ...ray, name: 'd' }),
      api.patchNamespacedCustomObject({ ...ray, name: 'd', body: { spec: {} } }, merge),
    ]) {
      const err = await apiError(call);
      expect(err.code).toBe(404);
    }
  });

  it('keeps an object with finalizers until an update removes them', async () => {
    await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'f', finalizers: ['brixlet.io/x'] } } });
    await api.deleteNamespacedCustomObject({ ...ray, name: 'f' });
    const marked = await api.getNamespacedCustomObject({ ...ray, name: 'f' });
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    await api.patchNamespacedCustomObject({ ...ray, name: 'f', body: { metadata: { finalizers: null } } }, merge);
    expect((await apiError(api.getNamespacedCustomObject({ ...ray, name: 'f' }))).code).toBe(404);
  });

  it('serves the scale subresource from the declared replica paths', async () => {
    await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'sc' }, spec: { replicas: 2 } } });
    await api.patchNamespacedCustomObjectStatus({ ...ray, name: 'sc', body: { status: { replicas: 1, selector: 'app=sc' } } }, merge);
    const scale = await api.getNamespacedCustomObjectScale({ ...ray, name: 'sc' });
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 2 }, status: { replicas: 1, selector: 'app=sc' } });
    await api.patchNamespacedCustomObjectScale({ ...ray, name: 'sc', body: { spec: { replicas: 5 } } }, merge);
    expect((await api.getNamespacedCustomObject({ ...ray, name: 'sc' })).spec.replicas).toBe(5);
    expect((await apiError(api.patchNamespacedCustomObjectScale({ ...ray, name: 'sc', body: { spec: { replicas: -1 } } }, merge))).code).toBe(422);
  });

  it('serves core resources, cluster-scoped and namespaced, through CoreV1Api', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    server.store.create('nodes', undefined, { metadata: { name: 'gpu-1', labels: { 'nvidia.com/gpu.present': 'true' } } });
    const node = await core.readNode({ name: 'gpu-1' });
    expect(node.metadata?.labels).toEqual({ 'nvidia.com/gpu.present': 'true' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm' }, data: { a: '1' } } });
    const cms = await core.listNamespacedConfigMap({ namespace: 'default' });
    expect(cms.items.map((c) => c.data)).toEqual([{ a: '1' }]);
    expect((await apiError(core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' }))).code).toBe(404);
    expect((await apiError(core.listNamespacedPod({ namespace: 'default' }))).code).toBe(404);
  });

  it('refuses requests without the bearer token with 401', async () => {
    const bad = new KubeConfig();
    bad.loadFromString(server.kubeconfig().replace(`"token":"${server.token}"`, '"token":"wrong"'));
    const err = await apiError(bad.makeApiClient(CustomObjectsApi).listNamespacedCustomObject(ray));
    expect(err.code).toBe(401);
    expect(server.store.list('rayclusters.ray.io')).toEqual([]);
  });

  it('works in-cluster through loadFromCluster and a service-account directory', async () => {
    const dir = server.serviceAccountDir();
    expect(dir.endsWith(SERVICE_ACCOUNT_PATH)).toBe(true);
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    Object.assign(process.env, server.inClusterEnv());
    try {
      const incluster = new KubeConfig();
      incluster.loadFromCluster(dir.slice(0, -SERVICE_ACCOUNT_PATH.length));
      expect(incluster.getCurrentCluster()?.server).toBe(server.url);
      await incluster.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'in' } } });
      expect(server.store.get('rayclusters.ray.io', 'default', 'in')).toBeDefined();
      expect(server.requests.at(-1)?.method).toBe('POST');
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('answers discovery for the registered groups', async () => {
    const res = await api.getAPIResources({ group: 'ray.io', version: 'v1' });
    expect(res.resources.map((r) => r.name)).toEqual(['rayclusters', 'rayclusters/status', 'rayclusters/scale']);
    expect((await apiError(api.getAPIResources({ group: 'nope.io', version: 'v1' }))).code).toBe(404);
  });

  it('injects failures for matching requests only, as many times as asked', async () => {
    server.failNext({ method: 'GET', path: '/rayclusters', status: 503, reason: 'ServiceUnavailable', times: 2 });
    expect((await apiError(api.listNamespacedCustomObject(ray))).code).toBe(503);
    await api.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'x' } } });
    expect((await apiError(api.listNamespacedCustomObject(ray))).code).toBe(503);
    expect((await api.listNamespacedCustomObject(ray)).items).toHaveLength(1);
  });
});

describe('fake API server watch', () => {
  interface Seen {
    type: string;
    name: string;
    rv: string;
    code?: number;
  }
  async function watch(path: string, query: Record<string, string>, until: (seen: Seen[]) => boolean): Promise<{ seen: Seen[]; stop: () => void; done: Promise<unknown> }> {
    const seen: Seen[] = [];
    let resolveDone: (e: unknown) => void = () => undefined;
    const done = new Promise((r) => (resolveDone = r));
    let wake: () => void = () => undefined;
    const w = new Watch(kc);
    const ctl = await w.watch(
      path,
      query,
      (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number }) => {
        seen.push({ type, name: obj.metadata?.name ?? '', rv: obj.metadata?.resourceVersion ?? '', ...(obj.code ? { code: obj.code } : {}) });
        if (until(seen)) wake();
      },
      (err) => {
        resolveDone(err);
        wake();
      },
    );
    if (!until(seen)) await Promise.race([new Promise<void>((r) => (wake = r)), done]);
    return { seen, stop: () => ctl.abort(), done };
  }
  const path = '/apis/ray.io/v1/namespaces/default/rayclusters';

  it('streams ADDED, MODIFIED and DELETED from a resourceVersion, with label-selector transitions', async () => {
    const rv = String(server.store.revision);
    const s = server.store;
    s.create('rayclusters.ray.io', 'default', { metadata: { name: 'w', labels: { app: 'vllm' } } });
    const w = await watch(path, { resourceVersion: rv, labelSelector: 'app=vllm' }, (x) => x.length >= 1);
    expect(server.openWatches).toBe(1);
    await api.patchNamespacedCustomObject({ ...ray, name: 'w', body: { spec: { replicas: 2 } } }, merge);
    await api.patchNamespacedCustomObject({ ...ray, name: 'w', body: { metadata: { labels: { app: 'other' } } } }, merge);
    await api.patchNamespacedCustomObject({ ...ray, name: 'w', body: { metadata: { labels: { app: 'vllm' } } } }, merge);
    await api.deleteNamespacedCustomObject({ ...ray, name: 'w' });
    s.create('rayclusters.ray.io', 'prod', { metadata: { name: 'elsewhere', labels: { app: 'vllm' } } });
    await expect.poll(() => w.seen.length).toBe(5);
    w.stop();
    expect(w.seen.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED', 'ADDED', 'DELETED']);
    expect(w.seen.map((e) => Number(e.rv))).toEqual([1, 2, 3, 4, 5]);
    await expect.poll(() => server.openWatches).toBe(0);
  });

  it('starts with the current objects as ADDED when no resourceVersion is given', async () => {
    server.store.create('rayclusters.ray.io', 'default', { metadata: { name: 'one' } });
    server.store.create('rayclusters.ray.io', 'default', { metadata: { name: 'two' } });
    const w = await watch(path, {}, (x) => x.length >= 2);
    w.stop();
    expect(w.seen.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED one', 'ADDED two']);
  });

  it('refuses a compacted resourceVersion with an ERROR event carrying 410 Expired', async () => {
    server.store.create('rayclusters.ray.io', 'default', { metadata: { name: 'one' } });
    server.store.create('rayclusters.ray.io', 'default', { metadata: { name: 'two' } });
    server.store.compact();
    const expired = await watch(path, { resourceVersion: '1' }, (x) => x.length >= 1);
    expect(expired.seen).toEqual([{ type: 'ERROR', name: '', rv: '', code: 410 }]);
    expect(await expired.done).toBeNull();
    // From the compaction point itself nothing was lost, so that watch stays open and streams.
    const current = await watch(path, { resourceVersion: '2' }, () => true);
    server.store.create('rayclusters.ray.io', 'default', { metadata: { name: 'three' } });
    await expect.poll(() => current.seen.map((e) => e.name)).toEqual(['three']);
    current.stop();
  });

  it('drops history beyond historyLimit and can answer 410 as an HTTP status', async () => {
    await server.close();
    server = await startFakeApiServer({ resources: [RAY], historyLimit: 2, expiredWatch: 'http' });
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    for (const name of ['a', 'b', 'c']) server.store.create('rayclusters.ray.io', 'default', { metadata: { name } });
    const ok = await watch(path, { resourceVersion: '1' }, (x) => x.length >= 2);
    ok.stop();
    expect(ok.seen.map((e) => e.name)).toEqual(['b', 'c']);
    server.store.create('rayclusters.ray.io', 'default', { metadata: { name: 'd' } });
    const gone = await watch(path, { resourceVersion: '1' }, () => false);
    expect(gone.seen).toEqual([]);
    expect(await gone.done).toMatchObject({ statusCode: 410 });
  });

  it('ends open watches on dropWatches, cleanly or abruptly', async () => {
    const clean = await watch(path, {}, () => true);
    expect(server.dropWatches('end')).toBe(1);
    expect(await clean.done).toBeNull();
    const abrupt = await watch(path, {}, () => true);
    expect(server.dropWatches('destroy')).toBe(1);
    expect(await abrupt.done).toBeInstanceOf(Error);
  });
});
