// The fake API server's CRDs at runtime, owner-reference garbage collection, Leases, pod field
// selectors and generation bumps, through the real @kubernetes/client-node.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApisApi, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type ApiException } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer, type ResourceDefinition, type StoredObject } from '../../../mocks/kube-apiserver/index.js';
import { repoRoot } from '../../helpers/repo.js';

const CRD_DIR = join(process.env.BRIXLET_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata'), 'crds');
const RAY_CRD_FILE = join(CRD_DIR, 'ray.io_rayclusters.yaml');
const HAVE_RAY_CRD = existsSync(RAY_CRD_FILE);

const POD: ResourceDefinition = { version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, status: true };
const CONFIGMAP: ResourceDefinition = { version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const LEASE: ResourceDefinition = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };

const widgetCrd = (scope = 'Namespaced'): StoredObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.brixlet.io' },
  spec: {
    group: 'example.brixlet.io',
    scope,
    names: { kind: 'Widget', plural: 'widgets', listKind: 'WidgetList', singular: 'widget' },
    versions: [
      { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } } } } },
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
      },
    ],
  },
});
const widgets = { group: 'example.brixlet.io', version: 'v1', namespace: 'default', plural: 'widgets' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let server: FakeApiServer;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let core: CoreV1Api;

beforeEach(async () => {
  server = await startFakeApiServer({ resources: [POD, CONFIGMAP, LEASE] });
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
});
afterEach(async () => {
  await server.close();
});

async function codeOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return (err as ApiException<unknown>).code;
  }
}

async function until<T>(probe: () => Promise<T> | T, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 2000; i++) {
    const v = await probe();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition not reached (hang)');
}

const established = (crd: StoredObject | undefined): boolean =>
  ((crd?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');

describe('CustomResourceDefinitions at runtime', () => {
  it('installCrd makes the kind servable with its subresources and discovery; uninstallCrd takes it and its objects away', async () => {
    expect(await codeOf(custom.listNamespacedCustomObject(widgets))).toBe(404);
    const stored = server.installCrd(widgetCrd());
    expect(established(stored)).toBe(true);
    const apis = kc.makeApiClient(ApisApi);
    expect((await apis.getAPIVersions()).groups.map((g) => g.name)).toContain('example.brixlet.io');
    const res = await custom.getAPIResources({ group: 'example.brixlet.io', version: 'v1' });
    expect(res.resources.map((r) => r.name)).toEqual(['widgets', 'widgets/status', 'widgets/scale']);
    await custom.createNamespacedCustomObject({ ...widgets, body: { apiVersion: 'example.brixlet.io/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { replicas: 2 } } });
    expect((await custom.getNamespacedCustomObjectScale({ ...widgets, name: 'w' })).spec?.replicas).toBe(2);
    // The CRD itself is readable through the API, as the reconciler's presence check reads it.
    const crd = await custom.getClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', name: 'widgets.example.brixlet.io' });
    expect((crd as StoredObject).spec).toMatchObject({ group: 'example.brixlet.io' });

    expect(server.uninstallCrd('widgets.example.brixlet.io')).toBe(true);
    expect(server.uninstallCrd('widgets.example.brixlet.io')).toBe(false);
    expect(await codeOf(custom.listNamespacedCustomObject(widgets))).toBe(404);
    expect(await codeOf(custom.getAPIResources({ group: 'example.brixlet.io', version: 'v1' }))).toBe(404);
    // Reinstalled: the old objects do not come back.
    server.installCrd(widgetCrd());
    expect(((await custom.listNamespacedCustomObject(widgets)) as { items: unknown[] }).items).toEqual([]);
  });

  it('a CRD created through the API becomes Established and servable; deleting it through the API removes the kind', async () => {
    const crds = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
    await custom.createClusterCustomObject({ ...crds, body: widgetCrd('Cluster') });
    await until(() => server.store.get('customresourcedefinitions.apiextensions.k8s.io', undefined, 'widgets.example.brixlet.io'), established);
    await custom.createClusterCustomObject({ group: 'example.brixlet.io', version: 'v1', plural: 'widgets', body: { metadata: { name: 'cw' } } });
    expect(server.store.list('widgets.example.brixlet.io').map((o) => o.metadata.name)).toEqual(['cw']);
    await custom.deleteClusterCustomObject({ ...crds, name: 'widgets.example.brixlet.io' });
    await until(
      () => codeOf(custom.listClusterCustomObject({ group: 'example.brixlet.io', version: 'v1', plural: 'widgets' })),
      (c) => c === 404,
    );
  });

  it('refuses a CRD whose name, scope or storage version is wrong with 422', async () => {
    const crds = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
    const bad = widgetCrd();
    bad.metadata.name = 'wrong.example.brixlet.io';
    expect(await codeOf(custom.createClusterCustomObject({ ...crds, body: bad }))).toBe(422);
    expect(await codeOf(custom.createClusterCustomObject({ ...crds, body: { ...widgetCrd(), spec: { ...(widgetCrd().spec as object), scope: 'Global' } } }))).toBe(422);
    const noStorage = widgetCrd();
    (noStorage.spec as { versions: { storage: boolean }[] }).versions.forEach((v) => (v.storage = false));
    expect(() => server.installCrd(noStorage)).toThrow(/storage version/);
  });

  it.skipIf(!HAVE_RAY_CRD)(`loads KubeRay's CRD YAML and serves RayClusters from its storage version${HAVE_RAY_CRD ? '' : ` (SKIPPED: ${RAY_CRD_FILE} not found; set BRIXLET_TESTDATA)`}`, async () => {
    const stored = server.installCrd(readFileSync(RAY_CRD_FILE, 'utf8'));
    expect(stored.metadata.name).toBe('rayclusters.ray.io');
    const ray = { group: 'ray.io', version: 'v1', namespace: 'default', plural: 'rayclusters' };
    await custom.createNamespacedCustomObject({ ...ray, body: { metadata: { name: 'r' }, spec: { rayVersion: '2.40.0' }, status: { state: 'ignored' } } });
    const got = (await custom.getNamespacedCustomObject({ ...ray, name: 'r' })) as StoredObject;
    expect(got.status).toBeUndefined(); // the CRD declares a status subresource
    expect(await codeOf(custom.getNamespacedCustomObjectScale({ ...ray, name: 'r' }))).toBe(404); // and no scale subresource
  });
});

describe('garbage collection by ownerReferences', () => {
  const owned = (name: string, owners: StoredObject[]): StoredObject => ({
    metadata: { name, ownerReferences: owners.map((o) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name, uid: o.metadata.uid })) },
  });

  it('deleting an owner deletes its dependents in the background, transitively', async () => {
    const owner = server.store.create('configmaps', 'default', { metadata: { name: 'owner' } });
    const child = server.store.create('configmaps', 'default', owned('child', [owner]));
    server.store.create('pods', 'default', owned('grandchild', [child]));
    server.store.create('pods', 'default', { metadata: { name: 'unrelated' } });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'owner' });
    await until(() => server.store.list('pods').map((p) => p.metadata.name), (names) => names.length === 1);
    expect(server.store.list('pods').map((p) => p.metadata.name)).toEqual(['unrelated']);
    expect(server.store.list('configmaps')).toEqual([]);
  });

  it('keeps a dependent that still has a live owner (minus the reference), and orphans with propagationPolicy Orphan', async () => {
    const a = server.store.create('configmaps', 'default', { metadata: { name: 'a' } });
    const b = server.store.create('configmaps', 'default', { metadata: { name: 'b' } });
    server.store.create('pods', 'default', owned('shared', [a, b]));
    server.store.create('pods', 'default', owned('orphan', [b]));
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'a' });
    await until(() => server.store.get('pods', 'default', 'shared')?.metadata.ownerReferences, (refs) => (refs as unknown[]).length === 1);
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'b', propagationPolicy: 'Orphan' });
    await until(() => server.store.get('pods', 'default', 'orphan')?.metadata.ownerReferences, (refs) => refs === undefined);
    expect(server.store.list('pods').map((p) => p.metadata.name).sort()).toEqual(['orphan', 'shared']);
    expect(server.store.get('pods', 'default', 'shared')?.metadata.ownerReferences).toBeUndefined();
  });

  it('collects only once an owner held by a finalizer is really gone', async () => {
    const owner = server.store.create('configmaps', 'default', { metadata: { name: 'held', finalizers: ['brixlet.io/x'] } });
    server.store.create('pods', 'default', owned('dep', [owner]));
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'held' });
    await new Promise((r) => setTimeout(r, 20));
    expect(server.store.get('pods', 'default', 'dep')).toBeDefined();
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'held', body: { metadata: { finalizers: null } } }, merge);
    await until(() => server.store.get('pods', 'default', 'dep'), (p) => p === undefined);
  });
});

describe('what controllers rely on', () => {
  it('serves Leases through CoordinationV1Api with optimistic concurrency (stale resourceVersion → 409)', async () => {
    const coord = kc.makeApiClient(CoordinationV1Api);
    const created = await custom.createNamespacedCustomObject({
      group: 'coordination.k8s.io',
      version: 'v1',
      namespace: 'default',
      plural: 'leases',
      body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:00.123456Z' } },
    });
    const lease = await coord.readNamespacedLease({ namespace: 'default', name: 'lock' });
    expect(lease.spec?.holderIdentity).toBe('a');
    const stale = (created as StoredObject).metadata.resourceVersion;
    const body = (spec: Record<string, unknown>, resourceVersion: string | undefined): object => ({ metadata: { name: 'lock', resourceVersion }, spec });
    const replace = (b: object): Promise<unknown> => custom.replaceNamespacedCustomObject({ group: 'coordination.k8s.io', version: 'v1', namespace: 'default', plural: 'leases', name: 'lock', body: b });
    await replace(body({ holderIdentity: 'b' }, stale));
    expect(await codeOf(replace(body({ holderIdentity: 'c' }, stale)))).toBe(409);
    expect(server.store.get('leases.coordination.k8s.io', 'default', 'lock')?.spec).toEqual({ holderIdentity: 'b' });
  });

  it('selects pods by spec.nodeName, metadata.name and status.phase on the server, in lists and watches', async () => {
    const pod = (name: string, node: string, phase: string): void => {
      const p = server.store.create('pods', 'default', { metadata: { name }, spec: { nodeName: node } });
      server.store.update('pods', 'default', name, { ...p, status: { phase } }, 'status');
    };
    pod('p1', 'gpu-1', 'Running');
    pod('p2', 'gpu-1', 'Failed');
    pod('p3', 'gpu-2', 'Running');
    const names = async (fieldSelector: string): Promise<string[]> => (await core.listNamespacedPod({ namespace: 'default', fieldSelector })).items.map((p) => p.metadata?.name ?? '');
    expect(await names('spec.nodeName=gpu-1')).toEqual(['p1', 'p2']);
    expect(await names('spec.nodeName=gpu-1,status.phase!=Failed')).toEqual(['p1']);
    expect(await names('metadata.name=p3')).toEqual(['p3']);
    expect(await names('status.phase=Running')).toEqual(['p1', 'p3']);
    expect(server.requests.filter((r) => r.path.endsWith('/pods')).every((r) => r.query.includes('fieldSelector='))).toBe(true);
  });

  it('bumps generation on spec changes of a custom resource with a status subresource, not on status or metadata', async () => {
    server.installCrd(widgetCrd());
    const created = (await custom.createNamespacedCustomObject({ ...widgets, body: { metadata: { name: 'g' }, spec: { replicas: 1 } } })) as StoredObject;
    expect(created.metadata.generation).toBe(1);
    await custom.patchNamespacedCustomObjectStatus({ ...widgets, name: 'g', body: { status: { replicas: 1 } } }, merge);
    await custom.patchNamespacedCustomObject({ ...widgets, name: 'g', body: { metadata: { labels: { a: 'b' } } } }, merge);
    expect(server.store.get('widgets.example.brixlet.io', 'default', 'g')?.metadata.generation).toBe(1);
    await custom.patchNamespacedCustomObject({ ...widgets, name: 'g', body: { spec: { replicas: 3 } } }, merge);
    await custom.patchNamespacedCustomObjectScale({ ...widgets, name: 'g', body: { spec: { replicas: 4 } } }, merge);
    expect(server.store.get('widgets.example.brixlet.io', 'default', 'g')?.metadata.generation).toBe(3);
  });
});
