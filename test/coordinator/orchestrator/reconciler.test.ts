import { afterEach, describe, expect, it } from 'vitest';
import { closeRigs, condition, raySpec, startRig, status } from './controller-setup.js';
import { CRD_SKIP, HAVE_TESTDATA_CRDS, schemaProblems } from './fleet-world.js';

afterEach(closeRigs);

describe('fleet controller, ray backend', () => {
  it(`creates one RayCluster per replica, valid against the CRD, and reports the fleet available${CRD_SKIP}`, async () => {
    const { world: w } = await startRig({ realCrds: true }, {}, [['llama', raySpec()]]);
    await w.until(() => status(w, 'llama').readyReplicas === 2, 60_000, 'two ready replicas');
    const rcs = w.rayClusters('llama');
    expect(rcs).toHaveLength(2);
    for (const rc of rcs) {
      expect(rc.metadata.name).toMatch(/^llama-[a-z0-9]{10}-[a-z0-9]{5}$/);
      expect(rc.metadata.labels?.['brixlet.io/revision']).toBe(status(w, 'llama').currentRevision);
      if (HAVE_TESTDATA_CRDS) expect(schemaProblems(rc)).toEqual([]);
    }
    const s = status(w, 'llama');
    expect(s).toMatchObject({ replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2, selector: 'brixlet.io/fleet=llama,brixlet.io/role=serving', observedGeneration: 1 });
    expect(condition(w, 'llama', 'Available')).toMatchObject({ status: 'True' });
    expect(condition(w, 'llama', 'Progressing')).toMatchObject({ status: 'True', reason: 'NewRevisionAvailable' });
    expect(condition(w, 'llama', 'ReplicaFailure')).toMatchObject({ status: 'False' });
    expect(s.replicaStatuses?.map((r) => r.ready)).toEqual([true, true]);
    // Each replica: a serving head and a worker, on two nodes; only heads are serving pods.
    expect(s.replicaStatuses?.every((r) => r.nodes?.length === 2)).toBe(true);
    const serving = w.pods((p) => p.metadata.labels?.['brixlet.io/role'] === 'serving');
    expect(serving.map((p) => p.metadata.labels?.['ray.io/node-type'])).toEqual(['head', 'head']);
  }, 120_000);

  it('rejects a fleet whose parallelism does not add up, with a condition and an event naming the field, and renders nothing', async () => {
    const { world: w } = await startRig({}, {}, [['bad', raySpec({ tensorParallelSize: 8, pipelineParallelSize: 1 })]]);
    await w.until(() => condition(w, 'bad', 'Invalid')?.status === 'True', 30_000, 'Invalid condition');
    expect(condition(w, 'bad', 'Invalid')).toMatchObject({ reason: 'BadParallelism' });
    expect(condition(w, 'bad', 'Invalid')?.message).toContain('spec.tensorParallelSize');
    expect(w.rayClusters('bad')).toEqual([]);
  }, 60_000);

  it('rejects a fleet asking for more GPUs per node than any reporting node has, until one that has them reports', async () => {
    const rig = await startRig({}, {}, []);
    const w = rig.world;
    w.report('n1', 4);
    w.report('n2', 4);
    w.createFleet('big', raySpec());
    await w.until(() => condition(w, 'big', 'Invalid')?.status === 'True', 30_000, 'Invalid condition');
    expect(condition(w, 'big', 'Invalid')).toMatchObject({ reason: 'TooManyGpusPerNode' });
    expect(condition(w, 'big', 'Invalid')?.message).toContain('spec.gpusPerNode');
    expect(w.rayClusters('big')).toEqual([]);
    w.report('n3', 8);
    await w.until(() => w.rayClusters('big').length === 2, 30_000, 'RayClusters once a big node reports');
    await w.until(() => condition(w, 'big', 'Invalid')?.status === 'False', 30_000, 'Invalid False');
  }, 60_000);
});
