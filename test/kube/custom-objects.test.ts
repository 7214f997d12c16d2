import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import type { CustomObjects } from '../../src/kube/custom-objects.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import type { KubeObject } from '../../src/kube/types.js';
import { FLEET, NODES, RAY, RAY_ID, startServer } from './helpers.js';

interface RayCluster extends KubeObject {
  spec?: { replicas?: number; image?: string; groups?: string[] };
  status?: { state?: string };
}

let server: FakeApiServer;
let client: KubeClient;
let rays: CustomObjects<RayCluster>;

beforeEach(async () => {
  server = await startServer();
  client = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  rays = client.customObjects<RayCluster>(RAY);
});
afterEach(async () => {
  await client.dispose();
  await server.close();
});

const codeOf = async (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: { code?: unknown }) => e.code);

describe('custom objects', () => {
  it('creates in the client namespace with generateName, then gets, finds and lists by label', async () => {
    const created = await rays.create({ metadata: { generateName: 'head-', labels: { app: 'vllm' } }, spec: { replicas: 1 } });
    expect(created.metadata?.namespace).toBe('serving');
    expect(created.metadata?.name).toMatch(/^head-.{5}$/);
    await rays.create({ metadata: { name: 'other', labels: { app: 'x' } } });
    await rays.create({ metadata: { name: 'elsewhere', labels: { app: 'vllm' } } }, 'prod');
    const name = created.metadata?.name ?? '';
    expect((await rays.get(name)).spec).toEqual({ replicas: 1 });
    expect(await rays.find('nope')).toBeUndefined();
    const vllm = await rays.list({ labelSelector: 'app=vllm' });
    expect(vllm.items.map((i) => i.metadata?.name)).toEqual([name]);
    expect(Number(vllm.resourceVersion)).toBe(server.store.revision);
    const everywhere = await rays.list({ allNamespaces: true, labelSelector: 'app=vllm' });
    expect(everywhere.items.map((i) => i.metadata?.namespace).sort()).toEqual(['prod', 'serving']);
    expect((await rays.list({ namespace: 'prod' })).items).toHaveLength(1);
  });

  it('merge-patches, JSON-patches and patches status with the right content types', async () => {
    await rays.create({ metadata: { name: 'r', labels: { a: '1', b: '2' } }, spec: { replicas: 1, image: 'v1', groups: ['g1'] } });
    const merged = await rays.mergePatch('r', { metadata: { labels: { b: null } }, spec: { replicas: 2 } });
    expect(merged.metadata?.labels).toEqual({ a: '1' });
    expect(merged.spec).toEqual({ replicas: 2, image: 'v1', groups: ['g1'] });
    const jp = await rays.jsonPatch('r', [{ op: 'add', path: '/spec/groups/-', value: 'g2' }]);
    expect(jp.spec?.groups).toEqual(['g1', 'g2']);
    const st = await rays.patchStatus('r', { state: 'ready' });
    expect(st.status).toEqual({ state: 'ready' });
    expect(st.spec?.replicas).toBe(2);
    expect(server.requests.filter((r) => r.method === 'PATCH').map((r) => `${r.path.split('/').slice(-1)[0]} ${r.contentType}`)).toEqual([
      'r application/merge-patch+json',
      'r application/json-patch+json',
      'status application/merge-patch+json',
    ]);
  });

  it('replaces with optimistic concurrency: a stale resourceVersion is BRX_ERR_KUBE_CONFLICT', async () => {
    const v1 = await rays.create({ metadata: { name: 'c' }, spec: { replicas: 1 } });
    const v2 = await rays.replace({ ...v1, metadata: { ...v1.metadata, name: 'c' }, spec: { replicas: 2 } });
    expect(v2.metadata?.generation).toBe(2);
    const stale = await rays.replace({ ...v1, metadata: { ...v1.metadata, name: 'c' }, spec: { replicas: 3 } }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ name: 'KubeError', code: 'BRX_ERR_KUBE_CONFLICT', status: 409, reason: 'Conflict', message: expect.stringContaining('replace rayclusters.ray.io serving/c:') });
    expect(await codeOf(rays.create({ metadata: { name: 'c' } }))).toBe('BRX_ERR_KUBE_CONFLICT');
  });

  it('deletes; a missing object is BRX_ERR_KUBE_NOT_FOUND unless ignoreNotFound', async () => {
    await rays.create({ metadata: { name: 'd' } });
    expect(await rays.delete('d')).toBe(true);
    expect(server.store.get(RAY_ID, 'serving', 'd')).toBeUndefined();
    expect(await codeOf(rays.delete('d'))).toBe('BRX_ERR_KUBE_NOT_FOUND');
    expect(await rays.delete('d', { ignoreNotFound: true })).toBe(false);
    expect(await codeOf(rays.get('d'))).toBe('BRX_ERR_KUBE_NOT_FOUND');
    expect(await codeOf(rays.mergePatch('d', { spec: {} }))).toBe('BRX_ERR_KUBE_NOT_FOUND');
  });

  it('handles cluster-scoped resources without a namespace in the path', async () => {
    const fleets = client.customObjects<KubeObject & { spec?: { size: number } }>(FLEET);
    const f = await fleets.create({ metadata: { name: 'f' }, spec: { size: 2 } });
    expect(f.metadata?.namespace).toBeUndefined();
    await fleets.mergePatch('f', { spec: { size: 3 } });
    await fleets.patchStatus('f', { ready: true });
    expect((await fleets.get('f')).spec?.size).toBe(3);
    expect((await fleets.list()).items).toHaveLength(1);
    expect(await fleets.delete('f')).toBe(true);
    expect(server.requests.filter((r) => r.path.includes('/fleets')).every((r) => r.path.startsWith('/apis/brixlet.io/v1alpha1/fleets'))).toBe(true);
  });

  it('maps 401 to BRX_ERR_KUBE_UNAUTHORIZED, 422 to BRX_ERR_KUBE_INVALID and 5xx to BRX_ERR_KUBE_API', async () => {
    const wrong = createKubeClient({ kubeconfigText: server.kubeconfig().replace(server.token, 'nope'), env: {} });
    expect(await codeOf(wrong.customObjects(RAY).list())).toBe('BRX_ERR_KUBE_UNAUTHORIZED');
    expect(await codeOf(rays.create({ metadata: {} }))).toBe('BRX_ERR_KUBE_INVALID');
    server.failNext({ path: '/rayclusters', status: 503, reason: 'ServiceUnavailable', message: 'etcd down' });
    const err = await rays.list().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BRX_ERR_KUBE_API', status: 503, reason: 'ServiceUnavailable', message: 'list rayclusters.ray.io in serving: etcd down' });
  });

  it('reports an unreachable server as BRX_ERR_KUBE_API without a status', async () => {
    await server.close();
    const err = await rays.get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BRX_ERR_KUBE_API', status: undefined });
    server = await startServer(); // for afterEach
  });

  it('refuses the core group, which CustomObjectsApi cannot address', () => {
    expect(() => client.customObjects(NODES)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KUBE_CONFIG' }));
  });
});
