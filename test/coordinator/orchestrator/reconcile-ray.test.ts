import { describe, expect, it } from 'vitest';
import type { BackendObject, FleetPod } from '../../../src/coordinator/orchestrator/backend.js';
import { newFleetMemory } from '../../../src/coordinator/orchestrator/backend.js';
import { RAY_CLUSTER_LABEL, RAY_NODE_TYPE_LABEL, syncRay } from '../../../src/coordinator/orchestrator/reconcile-ray.js';
import { ANNOTATION_AVOID_NODES } from '../../../src/coordinator/orchestrator/replica-state.js';
import { replicaName, templateRevision } from '../../../src/coordinator/orchestrator/revision.js';
import { ANNOTATION_RESTARTS, LABEL_FLEET, LABEL_REVISION } from '../../../src/coordinator/orchestrator/types.js';
import { KubeError } from '../../../src/kube/kube-error.js';
import { backendContext, type ContextOptions, readyPod, recordingWrites, specOf, stored } from './backend-context.js';

const NOW = Date.parse('2026-03-01T10:00:00Z');
const HOUR_AGO = NOW - 3_600_000;
const rev = templateRevision(specOf());

/** RayClusters as syncRay would create them for `opts` (spec, suffixes), stored. */
async function replicas(n: number, opts: ContextOptions = {}): Promise<BackendObject[]> {
  const ctx = backendContext({ spec: specOf({ replicas: n }), suffixes: Array.from({ length: n }, (_, i) => `r${'bcdfg'[i]}bbb`), ...opts });
  await syncRay(ctx);
  return ctx.writes.objects('create').map((o) => stored(o, { createdMs: HOUR_AGO }));
}

/** A head and a worker for a RayCluster (`phase` Failed: the head exited with an error). */
function podsOf(cluster: BackendObject, phase = 'Running'): FleetPod[] {
  const name = cluster.metadata?.name ?? '';
  const labels = { [LABEL_FLEET]: 'llama', [RAY_CLUSTER_LABEL]: name };
  return [
    readyPod(`${name}-head`, { ...labels, [RAY_NODE_TYPE_LABEL]: 'head' }, { phase, node: `${name}-n2` }),
    readyPod(`${name}-worker`, { ...labels, [RAY_NODE_TYPE_LABEL]: 'worker' }, { node: `${name}-n1` }),
  ];
}

describe('syncRay: creating and deleting', () => {
  it('creates a RayCluster per missing replica, named fleet-revision-suffix, avoiding the nodes given', async () => {
    const ctx = backendContext({ spec: specOf({ replicas: 2 }), suffixes: ['aaaaa', 'bbbbb'], avoidNodes: ['n5', 'n4'], nowMs: NOW });
    const result = await syncRay(ctx);
    const made = ctx.writes.objects('create');
    expect(made.map((o) => o.metadata?.name)).toEqual([replicaName('llama', rev, 'aaaaa'), replicaName('llama', rev, 'bbbbb')]);
    for (const o of made) {
      expect(o.kind).toBe('RayCluster');
      expect(o.metadata?.labels?.[LABEL_REVISION]).toBe(rev);
      expect(o.metadata?.annotations?.[ANNOTATION_AVOID_NODES]).toBe('n4,n5');
      expect(o.metadata?.annotations?.[ANNOTATION_RESTARTS]).toBeUndefined();
      expect(ctx.memory.expectCreate.get(o.metadata?.name ?? '')).toBe(NOW);
    }
    expect(result.failed).toEqual([]);
  });

  it('draws another suffix when the name is taken', async () => {
    const [existing] = await replicas(1, { suffixes: ['ccccc'] });
    const ctx = backendContext({ spec: specOf({ replicas: 2 }), objects: [existing!], pods: podsOf(existing!), suffixes: ['ccccc', 'ccccc', 'ddddd'] });
    await syncRay(ctx);
    expect(ctx.writes.objects('create').map((o) => o.metadata?.name)).toEqual([replicaName('llama', rev, 'ddddd')]);
  });

  it('waits for its own creates and deletes to show in the cache before planning again', async () => {
    const memory = newFleetMemory();
    memory.expectCreate.set('llama-x', NOW - 10);
    const ctx = backendContext({ spec: specOf({ replicas: 2 }), memory, nowMs: NOW });
    const result = await syncRay(ctx);
    expect(ctx.writes.log).toEqual([]);
    expect(result).toMatchObject({ waiting: 'waiting for the cache to show the last writes', requeueAtMs: NOW + 1000 });
  });

  it('forgets the expectation of a failed create or delete and passes the error on', async () => {
    const writes = recordingWrites();
    writes.failNext('create', new Error('create refused'));
    const ctx = backendContext({ spec: specOf({ replicas: 1 }), writes });
    await expect(syncRay(ctx)).rejects.toThrow('create refused');
    expect(ctx.memory.expectCreate.size).toBe(0);

    const three = await replicas(3);
    const w2 = recordingWrites();
    w2.failNext('delete', new Error('delete refused'));
    const down = backendContext({ spec: specOf({ replicas: 2 }), objects: three, pods: three.flatMap((o) => podsOf(o)), writes: w2 });
    await expect(syncRay(down)).rejects.toThrow('delete refused');
    expect(down.memory.expectDelete.size).toBe(0);
  });

  it('scales down by deleting, expecting the delete', async () => {
    const three = await replicas(3);
    const ctx = backendContext({ spec: specOf({ replicas: 2 }), objects: three, pods: three.flatMap((o) => podsOf(o)), nowMs: NOW });
    await syncRay(ctx);
    const [gone] = ctx.writes.deleted();
    expect(ctx.writes.deleted()).toHaveLength(1);
    expect(ctx.memory.expectDelete.get(gone ?? '')).toBe(NOW);
  });

  it('refuses to create a RayCluster the installed CRD schema rejects', async () => {
    const ctx = backendContext({ spec: specOf({ replicas: 1 }), validate: () => ['/spec bad'] });
    const result = await syncRay(ctx);
    expect(ctx.writes.objects('create')).toEqual([]);
    expect(result.problem).toMatchObject({ type: 'ReplicaFailure', status: 'True', reason: 'BackendSchemaMismatch' });
    expect(result.problem?.message).toMatch(/^RayCluster llama-\S+ does not match the installed rayclusters.ray.io schema: \/spec bad$/);
    expect(ctx.writes.events().map((e) => e.reason)).toEqual(['BackendSchemaMismatch']);
  });
});

describe('syncRay: status', () => {
  it('reports each replica with its revision, nodes (sorted), restarts and why it is not ready', async () => {
    const [a, b] = await replicas(2);
    const withRestarts = { ...b!, metadata: { ...b!.metadata, annotations: { ...b!.metadata?.annotations, [ANNOTATION_RESTARTS]: `2,${new Date(HOUR_AGO).toISOString()}` } } };
    const pods = [...podsOf(a!), podsOf(withRestarts)[1]!];
    const result = await syncRay(backendContext({ spec: specOf({ replicas: 2 }), objects: [a!, withRestarts], pods, nowMs: NOW }));
    const byName = new Map(result.replicas.map((r) => [r.name, r]));
    expect(byName.get(a!.metadata!.name!)).toEqual({ name: a!.metadata!.name, revision: rev, ready: true, restarts: 0, nodes: [`${a!.metadata!.name}-n1`, `${a!.metadata!.name}-n2`] });
    const notReady = byName.get(b!.metadata!.name!);
    expect(notReady).toMatchObject({ ready: false, restarts: 2 });
    expect(notReady?.reasons?.join(' ')).toContain('1 missing');
  });

  it('shows a terminating RayCluster as terminating', async () => {
    const [a] = await replicas(1);
    const gone = stored(a!, { deleting: true, createdMs: HOUR_AGO });
    const result = await syncRay(backendContext({ spec: specOf({ replicas: 1 }), objects: [gone], pods: podsOf(gone) }));
    expect(result.replicas.find((r) => r.name === a!.metadata?.name)?.reasons).toEqual(['terminating']);
  });
});

describe('syncRay: repair', () => {
  it('rebuilds a failed replica under its name: delete with an event, then create with the restarts counted', async () => {
    const [a] = await replicas(1, { avoidNodes: ['old-node'] });
    const name = a!.metadata!.name!;
    const memory = newFleetMemory();
    const first = backendContext({ spec: specOf({ replicas: 1 }), objects: [a!], pods: podsOf(a!, 'Failed'), memory, nowMs: NOW });
    await syncRay(first);
    expect(first.writes.deleted()).toEqual([name]);
    expect(first.writes.events()).toEqual([{ type: 'Normal', reason: 'ReplicaRepair', message: `rebuilding ${name} after a failed pod (repair 1 of 3)` }]);
    expect(memory.rebuilding.get(name)).toEqual({ restarts: `1,${new Date(NOW).toISOString()}`, sinceMs: NOW, oldUid: a!.metadata!.uid });

    // Still in the cache (terminating): shown as being rebuilt, nothing created yet.
    const terminating = stored(a!, { deleting: true, createdMs: HOUR_AGO });
    const wait = backendContext({ spec: specOf({ replicas: 1 }), objects: [terminating], memory, nowMs: NOW + 10 });
    const waiting = await syncRay(wait);
    expect(wait.writes.objects('create')).toEqual([]);
    expect(waiting.replicas).toEqual([{ name, revision: rev, ready: false, reasons: ['being rebuilt after a failure'], restarts: 1 }]);

    // Gone: created again under the same name, with the restarts and the nodes to avoid now.
    const again = backendContext({ spec: specOf({ replicas: 1 }), objects: [], memory, avoidNodes: ['bad-gpu-node'], nowMs: NOW + 20 });
    const during = await syncRay(again);
    const [rebuilt] = again.writes.objects('create');
    expect(rebuilt?.metadata?.name).toBe(name);
    expect(rebuilt?.metadata?.annotations?.[ANNOTATION_RESTARTS]).toBe(`1,${new Date(NOW).toISOString()}`);
    expect(rebuilt?.metadata?.annotations?.[ANNOTATION_AVOID_NODES]).toBe('bad-gpu-node');
    expect(memory.expectCreate.has(name)).toBe(true);
    // No second replica while the rebuild is on its way.
    expect(again.writes.objects('create')).toHaveLength(1);
    expect(during.replicas.map((r) => r.name)).toEqual([name]);

    // The new object (another uid) in the cache ends the rebuild.
    const fresh = stored(rebuilt!, { uid: 'uid-new', createdMs: NOW + 30 });
    const done = backendContext({ spec: specOf({ replicas: 1 }), objects: [fresh], pods: podsOf(fresh), memory, nowMs: NOW + 40 });
    const result = await syncRay(done);
    expect(memory.rebuilding.size).toBe(0);
    expect(result.replicas[0]).toMatchObject({ name, ready: true, restarts: 1 });
  });

  it('takes a conflict on the rebuild create as "still there" and anything else as an error', async () => {
    const memory = newFleetMemory();
    memory.rebuilding.set('llama-x', { restarts: '1', sinceMs: NOW, oldUid: 'u-old' });
    const writes = recordingWrites();
    writes.failNext('create', new KubeError('BRX_ERR_KUBE_CONFLICT', 'already exists', { status: 409 }));
    await expect(syncRay(backendContext({ spec: specOf({ replicas: 1 }), memory, writes, nowMs: NOW }))).resolves.toBeDefined();
    expect(memory.rebuilding.has('llama-x')).toBe(true);

    const w2 = recordingWrites();
    w2.failNext('create', new KubeError('BRX_ERR_KUBE_API', 'down', { status: 503 }));
    await expect(syncRay(backendContext({ spec: specOf({ replicas: 1 }), memory, writes: w2, nowMs: NOW }))).rejects.toThrow();
  });

  it('forgets a rebuild whose delete failed', async () => {
    const [a] = await replicas(1);
    const writes = recordingWrites();
    writes.failNext('delete', new Error('no'));
    const ctx = backendContext({ spec: specOf({ replicas: 1 }), objects: [a!], pods: podsOf(a!, 'Failed'), writes });
    await expect(syncRay(ctx)).rejects.toThrow('no');
    expect(ctx.memory.rebuilding.size).toBe(0);
  });

  it('gives up on a replica past its restart budget: one Warning, reported failed until it recovers', async () => {
    const [a] = await replicas(1);
    const spent = { ...a!, metadata: { ...a!.metadata, annotations: { ...a!.metadata?.annotations, [ANNOTATION_RESTARTS]: `3,${new Date(NOW - 60_000).toISOString()}` } } };
    const memory = newFleetMemory();
    const writes = recordingWrites();
    const sync = (pods: FleetPod[]) => syncRay(backendContext({ spec: specOf({ replicas: 1 }), objects: [spent], pods, memory, writes, nowMs: NOW }));
    const r1 = await sync(podsOf(spent, 'Failed'));
    expect(r1.failed).toEqual([{ name: spent.metadata!.name, restarts: 3 }]);
    expect(r1.requeueAtMs).toBe(NOW - 60_000 + 3_600_000);
    await sync(podsOf(spent, 'Failed'));
    expect(writes.deleted()).toEqual([]);
    expect(writes.events()).toEqual([{ type: 'Warning', reason: 'RestartBudgetExhausted', message: `${spent.metadata!.name} failed again after 3 repairs within 3600 s: left as it is (ReplicaFailure)` }]);
    const healthy = await sync(podsOf(spent));
    expect(healthy.failed).toEqual([]);
    expect(memory.gaveUp.size).toBe(0);
  });
});

describe('syncRay: hand edits', () => {
  it('puts back an edited RayCluster of the current revision, keeping its restarts and others\' annotations', async () => {
    const [a] = await replicas(1);
    const edited = structuredClone(a!);
    edited.metadata!.annotations = { ...edited.metadata?.annotations, [ANNOTATION_RESTARTS]: '1', 'team.example/owner': 'ml' };
    edited.metadata!.resourceVersion = '555';
    (edited.spec as { rayVersion: string }).rayVersion = '2.9.0';
    const ctx = backendContext({ spec: specOf({ replicas: 1 }), objects: [edited], pods: podsOf(edited) });
    await syncRay(ctx);
    expect(ctx.writes.events()).toEqual([{ type: 'Warning', reason: 'BackendEdited', message: `RayCluster ${a!.metadata!.name} differs from its template at .spec.rayVersion: put back` }]);
    const [put] = ctx.writes.objects('replace');
    expect((put?.spec as { rayVersion: string }).rayVersion).toBe('2.40.0');
    expect(put?.metadata).toMatchObject({ name: a!.metadata!.name, resourceVersion: '555', annotations: { [ANNOTATION_RESTARTS]: '1', 'team.example/owner': 'ml' } });
  });

  it('leaves replicas of an old revision as they are (the rollout replaces them)', async () => {
    const [a] = await replicas(1);
    const edited = structuredClone(a!);
    (edited.spec as { rayVersion: string }).rayVersion = '2.9.0';
    // The fleet moved on (new image): the old replica is not compared with the new template.
    const ctx = backendContext({ spec: specOf({ replicas: 1, image: 'vllm/vllm-openai:v0.9.0' }), objects: [edited], pods: podsOf(edited) });
    await syncRay(ctx);
    expect(ctx.writes.events().filter((e) => e.reason === 'BackendEdited')).toEqual([]);
    expect(ctx.writes.objects('replace')).toEqual([]);
  });

  it('leaves an unchanged RayCluster alone whatever nodes are to be avoided now', async () => {
    const [a] = await replicas(1, { avoidNodes: ['n1'] });
    const ctx = backendContext({ spec: specOf({ replicas: 1 }), objects: [a!], pods: podsOf(a!), avoidNodes: ['n2', 'n3'] });
    await syncRay(ctx);
    expect(ctx.writes.log).toEqual([]);
  });
});
