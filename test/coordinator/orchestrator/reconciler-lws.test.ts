import { afterEach, describe, expect, it } from 'vitest';
import { closeRigs, condition, raySpec, startRig, status } from './controller-setup.js';
import { CRD_SKIP, type FleetWorld, HAVE_TESTDATA_CRDS, LWSS, NS, schemaProblems } from './fleet-world.js';

afterEach(closeRigs);

const lwsSpec = (over: Record<string, unknown> = {}) => raySpec({ backend: 'lws', ...over });
const lwsOf = (w: FleetWorld, name: string) => w.server.store.get(LWSS, NS, name);

/** What the LWS controller does when a group's pod fails: the whole group is created again. */
function recreateGroup(w: FleetWorld, lws: string, group: number): void {
  for (const p of w.pods((x) => x.metadata.labels?.['leaderworkerset.sigs.k8s.io/group-index'] === String(group))) w.server.store.remove('pods', NS, p.metadata.name ?? '');
  const cur = lwsOf(w, lws)!;
  // Any event on the object makes the stand-in controller fill the groups up again.
  w.server.store.update(LWSS, NS, lws, { ...cur, status: { ...(cur.status as object), observed: Date.now() } }, 'status');
}

describe('fleet controller, lws backend', () => {
  it(`keeps one LeaderWorkerSet equal to the template, follows the replicas and reports the groups${CRD_SKIP}`, async () => {
    const { world: w } = await startRig({ realCrds: true }, {}, [['llama', lwsSpec({ replicas: 2 })]]);
    await w.until(() => status(w, 'llama').readyReplicas === 2, 60_000, 'two ready groups');
    const lws = lwsOf(w, 'llama')!;
    if (HAVE_TESTDATA_CRDS) expect(schemaProblems(lws)).toEqual([]);
    expect(lws.spec).toMatchObject({ replicas: 2, leaderWorkerTemplate: { size: 2, restartPolicy: 'RecreateGroupOnPodRestart' } });
    expect(status(w, 'llama').replicaStatuses?.map((r) => [r.name, r.ready])).toEqual([['llama-0', true], ['llama-1', true]]);
    expect(condition(w, 'llama', 'Available')).toMatchObject({ status: 'True' });

    // A hand edit (size and replicas) is put back.
    const edited = structuredClone(lws) as typeof lws & { spec: { replicas: number; leaderWorkerTemplate: { size: number } } };
    edited.spec.replicas = 5;
    edited.spec.leaderWorkerTemplate.size = 4;
    w.server.store.update(LWSS, NS, 'llama', edited);
    await w.until(() => (lwsOf(w, 'llama')?.spec as { replicas: number; leaderWorkerTemplate: { size: number } }).leaderWorkerTemplate.size === 2, 30_000, 'template restored');
    expect((lwsOf(w, 'llama')?.spec as { replicas: number }).replicas).toBe(2);

    // Scale: spec.replicas of the fleet becomes the LWS's.
    w.patchFleetSpec('llama', { replicas: 3 });
    await w.until(() => status(w, 'llama').readyReplicas === 3, 30_000, 'three groups');
    expect((lwsOf(w, 'llama')?.spec as { replicas: number }).replicas).toBe(3);
  }, 120_000);

  it('counts group recreations against the restart budget and reports ReplicaFailure past it', async () => {
    const { world: w } = await startRig({}, {}, [['llama', lwsSpec({ replicas: 1, restartBudget: { maxRestarts: 1 } })]]);
    await w.until(() => status(w, 'llama').readyReplicas === 1, 60_000, 'ready');
    recreateGroup(w, 'llama', 0);
    await w.until(() => status(w, 'llama').replicaStatuses?.[0]?.restarts === 1 && status(w, 'llama').readyReplicas === 1, 30_000, 'one recreation counted');
    expect(condition(w, 'llama', 'ReplicaFailure')).toMatchObject({ status: 'False' });
    recreateGroup(w, 'llama', 0);
    await w.until(() => condition(w, 'llama', 'ReplicaFailure')?.status === 'True', 30_000, 'ReplicaFailure');
    expect(condition(w, 'llama', 'ReplicaFailure')?.message).toContain('llama-0');
  }, 120_000);
});
