import { afterEach, describe, expect, it } from 'vitest';
import { closeRigs, condition, raySpec, startRig, status } from './controller-setup.js';
import { rayCrd } from './fleet-world.js';
import type { StoredObject } from '../../../mocks/kube-apiserver/index.js';

afterEach(closeRigs);

describe('fleet controller under API faults', () => {
  it('keeps reconciling through 409, 410 and 500 answers and dropped watches', async () => {
    const rig = await startRig({}, {}, []);
    const w = rig.world;
    const s = w.server;
    // Writes fail first: a 500 on the RayCluster create, a 409 on the status patch.
    s.failNext({ method: 'POST', path: '/rayclusters', status: 500, reason: 'InternalError', message: 'etcd leader changed' });
    s.failNext({ method: 'PATCH', path: '/modelfleets/llama/status', status: 409, reason: 'Conflict', message: 'the object has been modified' });
    w.createFleet('llama', raySpec({ replicas: 2 }));
    // Well within the 30 s a write is awaited in the cache: a failed create must not be awaited at all.
    await w.until(() => status(w, 'llama').readyReplicas === 2, 20_000, 'ready despite failed writes');
    expect(w.rayClusters('llama')).toHaveLength(2);

    // Watches end and their resourceVersion is compacted away (410 on re-watch), lists fail once.
    s.store.compact();
    s.failNext({ method: 'GET', path: '/rayclusters', status: 500, reason: 'InternalError', message: 'list failed' });
    s.dropWatches('destroy');
    w.patchFleetSpec('llama', { replicas: 3 });
    await w.until(() => status(w, 'llama').readyReplicas === 3, 60_000, 'scaled after the watches broke');
    s.dropWatches('end');
    w.patchFleetSpec('llama', { replicas: 1 });
    await w.until(() => w.rayClusters('llama').length === 1 && status(w, 'llama').replicas === 1, 60_000, 'scaled down after a clean watch end');
    expect(s.openWatches).toBeGreaterThan(0);

    // A hand edit answered with a conflict on the first put-back is put back on the retry.
    const rc = w.rayClusters('llama')[0]!;
    s.failNext({ method: 'PUT', path: `/rayclusters/${rc.metadata.name ?? ''}`, status: 409, reason: 'Conflict', message: 'the object has been modified' });
    const spec = structuredClone(rc.spec) as { rayVersion: string };
    spec.rayVersion = '2.9.0';
    w.server.store.update('rayclusters.ray.io', rc.metadata.namespace, rc.metadata.name ?? '', { ...rc, spec });
    await w.until(() => (w.rayClusters('llama')[0]?.spec as { rayVersion?: string }).rayVersion !== '2.9.0', 30_000, 'put back after a conflict');
    expect(condition(w, 'llama', 'Available')).toMatchObject({ status: 'True' });
  }, 120_000);

  it('starts without the RayCluster CRD, says so on the fleet, and reconciles once KubeRay is installed', async () => {
    const rig = await startRig({ crds: ['lws'] }, {}, [['llama', raySpec({ replicas: 1 })]]);
    const w = rig.world;
    await w.until(() => condition(w, 'llama', 'ReplicaFailure')?.reason === 'BackendNotInstalled', 30_000, 'BackendNotInstalled');
    expect(condition(w, 'llama', 'ReplicaFailure')?.message).toContain('rayclusters.ray.io is not installed');
    expect(rig.presence.installed('ray')).toBe(false);
    w.server.installCrd(rayCrd());
    await w.until(() => status(w, 'llama').readyReplicas === 1, 60_000, 'ready once the CRD is installed');
    expect(condition(w, 'llama', 'ReplicaFailure')).toMatchObject({ status: 'False' });
  }, 120_000);

  it('does not write an object the installed CRD would refuse: a condition and an event say why', async () => {
    const rig = await startRig({ crds: [] }, {}, [['llama', raySpec({ replicas: 1 })]]);
    const w = rig.world;
    // A RayCluster CRD whose schema knows no upgradeStrategy (as before KubeRay 1.6), objects closed.
    const crd = rayCrd() as StoredObject & { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } };
    crd.spec.versions[0]!.schema.openAPIV3Schema = {
      type: 'object',
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec: { type: 'object', properties: { rayVersion: { type: 'string' }, headGroupSpec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, workerGroupSpecs: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    };
    w.server.installCrd(crd);
    await w.until(() => condition(w, 'llama', 'ReplicaFailure')?.reason === 'BackendSchemaMismatch', 30_000, 'BackendSchemaMismatch');
    expect(condition(w, 'llama', 'ReplicaFailure')?.message).toContain('upgradeStrategy');
    expect(w.rayClusters('llama')).toEqual([]);
  }, 60_000);
});
