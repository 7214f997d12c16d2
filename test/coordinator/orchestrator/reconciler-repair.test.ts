import { afterEach, describe, expect, it } from 'vitest';
import { ANNOTATION_AVOID_NODES } from '../../../src/coordinator/orchestrator/replica-state.js';
import { ANNOTATION_RESTARTS } from '../../../src/coordinator/orchestrator/types.js';
import { closeRigs, condition, raySpec, startRig, status } from './controller-setup.js';
import { type FleetWorld, NS, RAYS } from './fleet-world.js';

afterEach(closeRigs);

const workerOf = (w: FleetWorld, rc: string) => w.pods((p) => p.metadata.labels?.['ray.io/cluster'] === rc && p.metadata.labels?.['ray.io/node-type'] === 'worker')[0];
const avoidedIn = (rc: { [key: string]: unknown }): string[] => {
  const json = JSON.stringify(rc.spec);
  const m = /"matchFields":\[\{"key":"metadata.name","operator":"NotIn","values":(\[[^\]]*\])/.exec(json);
  return m ? (JSON.parse(m[1] as string) as string[]) : [];
};

describe('fleet controller repairs', () => {
  it('rebuilds a replica whose worker pod failed under the same name, within its restart budget, then reports ReplicaFailure', async () => {
    const budget = { maxRestarts: 2, backoffSeconds: 1, maxBackoffSeconds: 2, windowSeconds: 3600 };
    const { world: w } = await startRig({}, {}, [['llama', raySpec({ replicas: 1, restartBudget: budget })]]);
    await w.until(() => status(w, 'llama').readyReplicas === 1, 60_000, 'ready');
    const name = w.rayClusters('llama')[0]?.metadata.name ?? '';
    for (let repair = 1; repair <= budget.maxRestarts; repair++) {
      const before = w.rayClusters('llama')[0]?.metadata.uid;
      w.failPod(workerOf(w, name)?.metadata.name ?? '');
      await w.until(() => {
        const rc = w.server.store.get(RAYS, NS, name);
        return rc !== undefined && rc.metadata.uid !== before && status(w, 'llama').readyReplicas === 1;
      }, 30_000, `repair ${repair}`);
      const rc = w.server.store.get(RAYS, NS, name);
      expect(rc?.metadata.annotations?.[ANNOTATION_RESTARTS]).toMatch(new RegExp(`^${repair},\\d{4}-`));
      expect(w.rayClusters('llama')).toHaveLength(1);
      expect(status(w, 'llama').replicaStatuses?.[0]).toMatchObject({ name, restarts: repair, ready: true });
    }
    // The budget is spent: the next failure is left as it is and reported.
    const last = w.rayClusters('llama')[0]?.metadata.uid;
    w.failPod(workerOf(w, name)?.metadata.name ?? '');
    await w.until(() => condition(w, 'llama', 'ReplicaFailure')?.status === 'True', 30_000, 'ReplicaFailure');
    expect(condition(w, 'llama', 'ReplicaFailure')).toMatchObject({ reason: 'RestartBudgetExhausted' });
    expect(condition(w, 'llama', 'ReplicaFailure')?.message).toContain(name);
    expect(w.rayClusters('llama')[0]?.metadata.uid).toBe(last);
    const replica = status(w, 'llama').replicaStatuses?.[0];
    expect(replica?.ready).toBe(false);
    expect(replica?.reasons?.join(' ')).toMatch(/exited 1|Failed/);
    expect(condition(w, 'llama', 'Available')).toMatchObject({ status: 'False' });
  }, 120_000);

  it('keeps new replicas off nodes whose agents report an unhealthy GPU, and rebuilds a replica whose node goes bad elsewhere', async () => {
    const rig = await startRig({}, {}, []);
    const w = rig.world;
    for (const n of w.nodes) w.report(n, 8, n === 'n1' ? 1 : 0);
    w.createFleet('llama', raySpec({ replicas: 2 }));
    await w.until(() => status(w, 'llama').readyReplicas === 2, 60_000, 'ready');
    for (const rc of w.rayClusters('llama')) {
      expect(avoidedIn(rc)).toEqual(['n1']);
      expect(rc.metadata.annotations?.[ANNOTATION_AVOID_NODES]).toBe('n1');
    }
    expect(w.pods().some((p) => p.spec.nodeName === 'n1')).toBe(false);

    // A node running a replica reports a GPU fault: that replica is rebuilt under its name, avoiding it too.
    const victim = w.pods((p) => p.metadata.labels?.['ray.io/node-type'] === 'worker')[0];
    const node = victim?.spec.nodeName ?? '';
    const rcName = victim?.metadata.labels?.['ray.io/cluster'] ?? '';
    w.report(node, 8, 2);
    await w.until(() => {
      const rc = w.server.store.get(RAYS, NS, rcName);
      return rc !== undefined && avoidedIn(rc).includes(node) && status(w, 'llama').readyReplicas === 2;
    }, 30_000, 'rebuilt away from the bad node');
    expect(avoidedIn(w.server.store.get(RAYS, NS, rcName)!)).toEqual(['n1', node].sort());
    expect(w.pods((p) => p.metadata.labels?.['ray.io/cluster'] === rcName).some((p) => p.spec.nodeName === node || p.spec.nodeName === 'n1')).toBe(false);
  }, 120_000);

  it('keeps new replicas off a node whose agent went stale, without rebuilding the replica running there', async () => {
    let now = Date.now();
    const rig = await startRig({ now: () => now }, {}, []);
    const w = rig.world;
    for (const n of w.nodes) w.report(n, 8);
    w.createFleet('llama', raySpec({ replicas: 1 }));
    await w.until(() => status(w, 'llama').readyReplicas === 1, 60_000, 'ready');
    const first = w.rayClusters('llama')[0]!;
    const node = w.pods((p) => p.metadata.labels?.['ray.io/node-type'] === 'head')[0]?.spec.nodeName ?? '';
    // Every agent but the one on the head's node reports on; that one falls silent.
    now += 10 * 60_000;
    for (const n of w.nodes) if (n !== node) w.report(n, 8);
    w.registry.sweep();
    w.patchFleetSpec('llama', { replicas: 2 });
    await w.until(() => status(w, 'llama').readyReplicas === 2, 30_000, 'scaled up');
    const added = w.rayClusters('llama').find((r) => r.metadata.uid !== first.metadata.uid)!;
    expect(avoidedIn(added)).toEqual([node]);
    expect(w.server.store.get(RAYS, NS, first.metadata.name ?? '')?.metadata.uid).toBe(first.metadata.uid);
    expect(avoidedIn(w.server.store.get(RAYS, NS, first.metadata.name ?? '')!)).toEqual([]);
  }, 120_000);

  it('puts a hand-edited RayCluster back to its template', async () => {
    const { world: w } = await startRig({}, {}, [['llama', raySpec({ replicas: 1 })]]);
    await w.until(() => status(w, 'llama').readyReplicas === 1, 60_000, 'ready');
    const rc = w.rayClusters('llama')[0]!;
    const name = rc.metadata.name ?? '';
    const spec = structuredClone(rc.spec) as { headGroupSpec: { template: { spec: { containers: { image: string }[] } } }; workerGroupSpecs: { replicas: number }[] };
    const image = spec.headGroupSpec.template.spec.containers[0]!.image;
    spec.headGroupSpec.template.spec.containers[0]!.image = 'someone/else:latest';
    spec.workerGroupSpecs[0]!.replicas = 5;
    w.server.store.update(RAYS, NS, name, { ...rc, spec });
    await w.until(() => {
      const cur = w.server.store.get(RAYS, NS, name)?.spec as typeof spec | undefined;
      return cur?.headGroupSpec.template.spec.containers[0]?.image === image && cur.workerGroupSpecs[0]?.replicas === 1;
    }, 30_000, 'template restored');
    // Put back in place, not replaced: same object.
    expect(w.server.store.get(RAYS, NS, name)?.metadata.uid).toBe(rc.metadata.uid);
  }, 60_000);
});
