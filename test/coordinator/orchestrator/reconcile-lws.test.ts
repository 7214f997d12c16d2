import { describe, expect, it } from 'vitest';
import type { BackendObject, FleetPod } from '../../../src/coordinator/orchestrator/backend.js';
import { newFleetMemory } from '../../../src/coordinator/orchestrator/backend.js';
import { LWS_GROUP_INDEX_LABEL, LWS_WORKER_INDEX_LABEL, syncLws } from '../../../src/coordinator/orchestrator/reconcile-lws.js';
import { ANNOTATION_AVOID_NODES } from '../../../src/coordinator/orchestrator/replica-state.js';
import { templateRevision } from '../../../src/coordinator/orchestrator/revision.js';
import { LABEL_FLEET, LABEL_REVISION } from '../../../src/coordinator/orchestrator/types.js';
import { backendContext, type ContextOptions, readyPod, recordingWrites, specOf, stored } from './backend-context.js';

const lwsSpec = (over: Parameters<typeof specOf>[0] = {}) => specOf({ backend: 'lws', replicas: 2, ...over });
const NOW = Date.parse('2026-03-01T10:00:00Z');

/** The LWS syncLws would create for `opts`, as the API server stores it. */
async function created(opts: ContextOptions = {}): Promise<BackendObject> {
  const ctx = backendContext({ spec: lwsSpec(), ...opts });
  await syncLws(ctx);
  const obj = ctx.writes.objects('create')[0];
  if (obj === undefined) throw new Error('nothing created');
  return stored(obj);
}

function groupPods(rev: string, group: number, size: number, over: { leaderUid?: string; restarts?: number } = {}): FleetPod[] {
  return Array.from({ length: size }, (_, w) =>
    readyPod(w === 0 ? `llama-${group}` : `llama-${group}-${w}`, { [LABEL_FLEET]: 'llama', [LABEL_REVISION]: rev, [LWS_GROUP_INDEX_LABEL]: String(group), [LWS_WORKER_INDEX_LABEL]: String(w) }, {
      ...(w === 0 && over.leaderUid !== undefined && { uid: over.leaderUid }),
      node: `n${group}-${w}`,
      ...(over.restarts !== undefined && { restarts: over.restarts }),
    }),
  );
}

describe('syncLws: the LeaderWorkerSet', () => {
  it('creates one LeaderWorkerSet named after the fleet, avoiding the nodes given, and expects it', async () => {
    const ctx = backendContext({ spec: lwsSpec(), avoidNodes: ['n7', 'n2', 'n7'], nowMs: NOW });
    const result = await syncLws(ctx);
    const [obj] = ctx.writes.objects('create');
    expect(obj?.metadata?.name).toBe('llama');
    expect(obj?.kind).toBe('LeaderWorkerSet');
    expect(obj?.metadata?.labels?.[LABEL_REVISION]).toBe(ctx.revision);
    expect(obj?.metadata?.annotations?.[ANNOTATION_AVOID_NODES]).toBe('n2,n7');
    expect(JSON.stringify(obj?.spec)).toContain('"values":["n2","n7"]');
    expect(ctx.memory.expectCreate.get('llama')).toBe(NOW);
    expect(result.replicas.map((r) => [r.name, r.ready, r.reasons])).toEqual([
      ['llama-0', false, ['no pods yet']],
      ['llama-1', false, ['no pods yet']],
    ]);
    expect(result.requeueAtMs).toBeUndefined();
  });

  it('does not create it again while its create is not in the cache yet, and looks again soon', async () => {
    const memory = newFleetMemory();
    memory.expectCreate.set('llama', NOW - 1000);
    const ctx = backendContext({ spec: lwsSpec(), memory, nowMs: NOW });
    const result = await syncLws(ctx);
    expect(ctx.writes.log).toEqual([]);
    expect(result.requeueAtMs).toBe(NOW + 1000);
  });

  it('forgets the expectation of a create that failed, and passes the error on', async () => {
    const writes = recordingWrites();
    writes.failNext('create', new Error('boom'));
    const ctx = backendContext({ spec: lwsSpec(), writes, nowMs: NOW });
    await expect(syncLws(ctx)).rejects.toThrow('boom');
    expect(ctx.memory.expectCreate.size).toBe(0);
  });

  it('writes nothing while the rollout is paused, and says so', async () => {
    const ctx = backendContext({ spec: lwsSpec({ rollout: { paused: true } }) });
    const result = await syncLws(ctx);
    expect(ctx.writes.log).toEqual([]);
    expect(result.waiting).toBe('paused: the LeaderWorkerSet is left as it is');
  });

  it('refuses to write an object the installed CRD schema rejects, with a Warning and the first three problems', async () => {
    const ctx = backendContext({ spec: lwsSpec(), validate: () => ['p1', 'p2', 'p3', 'p4'] });
    const result = await syncLws(ctx);
    expect(ctx.writes.objects('create')).toEqual([]);
    const message = 'LeaderWorkerSet llama does not match the installed leaderworkersets.leaderworkerset.x-k8s.io schema: p1; p2; p3';
    expect(ctx.writes.events()).toEqual([{ type: 'Warning', reason: 'BackendSchemaMismatch', message }]);
    expect(result.problem).toEqual({ type: 'ReplicaFailure', status: 'True', reason: 'BackendSchemaMismatch', message });
    expect(result.replicas).toEqual([]);
  });

  it('leaves an unchanged LeaderWorkerSet alone, fields added by the API server included', async () => {
    const obj = await created();
    const defaulted = { ...obj, spec: { ...obj.spec, networkConfig: { subdomainPolicy: 'Shared' } }, status: { replicas: 2 } };
    const ctx = backendContext({ spec: lwsSpec(), objects: [defaulted] });
    await syncLws(ctx);
    expect(ctx.writes.log).toEqual([]);
  });

  it('puts back a hand edit of the current revision with the stored resourceVersion and a Warning', async () => {
    const obj = await created();
    const edited = structuredClone(obj);
    (edited.spec as { startupPolicy: string }).startupPolicy = 'LeaderReady';
    edited.metadata!.annotations = { ...edited.metadata?.annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    edited.metadata!.resourceVersion = '207';
    const ctx = backendContext({ spec: lwsSpec(), objects: [edited] });
    await syncLws(ctx);
    expect(ctx.writes.events()).toEqual([{ type: 'Warning', reason: 'BackendEdited', message: 'LeaderWorkerSet llama differs from its template at .spec.startupPolicy: put back' }]);
    const [put] = ctx.writes.objects('replace');
    expect(put?.metadata?.resourceVersion).toBe('207');
    expect((put?.spec as { startupPolicy: string }).startupPolicy).toBe('LeaderCreated');
    // Annotations others added stay.
    expect(put?.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBe('{}');
  });

  it('puts back a removed fleet label too', async () => {
    const obj = await created();
    const edited = structuredClone(obj);
    delete edited.metadata!.labels![LABEL_FLEET];
    const ctx = backendContext({ spec: lwsSpec(), objects: [edited] });
    await syncLws(ctx);
    expect(ctx.writes.events()[0]?.message).toContain(`.metadata.labels.${LABEL_FLEET}`);
    expect(ctx.writes.objects('replace')[0]?.metadata?.labels?.[LABEL_FLEET]).toBe('llama');
  });

  it('scales by replacing the object, without calling it a hand edit', async () => {
    const obj = await created();
    const ctx = backendContext({ spec: lwsSpec({ replicas: 3 }), objects: [obj] });
    // A replicas change alone changes no revision (the template is the same).
    expect(ctx.revision).toBe(obj.metadata?.labels?.[LABEL_REVISION]);
    await syncLws(ctx);
    expect(ctx.writes.events()).toEqual([]);
    expect((ctx.writes.objects('replace')[0]?.spec as { replicas: number }).replicas).toBe(3);
  });

  it('keeps the avoided nodes of the current revision, and takes the new ones only with a new revision', async () => {
    const obj = await created({ avoidNodes: ['n9'] });
    // Same revision, other nodes to avoid now: LWS would roll every group for it, so nothing is written.
    const same = backendContext({ spec: lwsSpec(), objects: [obj], avoidNodes: ['n1'] });
    await syncLws(same);
    expect(same.writes.log).toEqual([]);
    // New revision (image): the template changes anyway, with the current set.
    const next = backendContext({ spec: lwsSpec({ image: 'vllm/vllm-openai:v0.9.0' }), objects: [obj], avoidNodes: ['n1'] });
    expect(next.revision).not.toBe(same.revision);
    await syncLws(next);
    expect(next.writes.events()).toEqual([]);
    const [put] = next.writes.objects('replace');
    expect(put?.metadata?.labels?.[LABEL_REVISION]).toBe(next.revision);
    expect(put?.metadata?.annotations?.[ANNOTATION_AVOID_NODES]).toBe('n1');
    expect(put?.metadata?.resourceVersion).toBe('100');
  });

  it('does not take a terminating LeaderWorkerSet for the live one', async () => {
    const obj = stored((await created()) as BackendObject, { deleting: true });
    (obj.spec as { startupPolicy: string }).startupPolicy = 'LeaderReady';
    const ctx = backendContext({ spec: lwsSpec(), objects: [obj] });
    const result = await syncLws(ctx);
    // Not put back; a new one is created (the API server answers a conflict until the old one is
    // gone, which the controller retries).
    expect(ctx.writes.objects('replace')).toEqual([]);
    expect(ctx.writes.objects('create')).toHaveLength(1);
    expect(result.replicas).toHaveLength(2);
  });
});

describe('syncLws: groups', () => {
  const rev = templateRevision(lwsSpec());

  it('reports each group from its pods, in numeric order, with its nodes and the leader revision', async () => {
    const obj = await created();
    const pods = [...groupPods(rev, 10, 2), ...groupPods(rev, 1, 2), ...groupPods('old', 0, 2), ...groupPods(rev, 2, 2)];
    const ctx = backendContext({ spec: lwsSpec({ replicas: 3 }), objects: [obj], pods });
    const result = await syncLws(ctx);
    expect(result.replicas.map((r) => r.name)).toEqual(['llama-0', 'llama-1', 'llama-2', 'llama-10']);
    expect(result.replicas[0]).toEqual({ name: 'llama-0', revision: 'old', ready: true, restarts: 0, nodes: ['n0-0', 'n0-1'] });
    expect(result.replicas[1]?.revision).toBe(rev);
  });

  it('says what is wrong with a group that is not ready', async () => {
    const obj = await created();
    const pods = groupPods(rev, 0, 1);
    const ctx = backendContext({ spec: lwsSpec({ replicas: 1 }), objects: [obj], pods });
    const [g] = (await syncLws(ctx)).replicas;
    expect(g).toMatchObject({ name: 'llama-0', ready: false });
    expect(g?.reasons?.join(' ')).toContain('1 missing');
  });

  it('counts a new leader pod of a group (the group was recreated) and container restarts as restarts', async () => {
    const obj = await created();
    const memory = newFleetMemory();
    const spec = lwsSpec({ replicas: 1, restartBudget: { maxRestarts: 2, windowSeconds: 600 } });
    const sync = async (leaderUid: string, nowMs: number, restarts = 0) => syncLws(backendContext({ spec, objects: [obj], memory, nowMs, pods: groupPods(rev, 0, 2, { leaderUid, restarts }) }));
    expect((await sync('L1', NOW)).replicas[0]?.restarts).toBe(0);
    expect((await sync('L1', NOW + 1000)).replicas[0]?.restarts).toBe(0);
    expect((await sync('L2', NOW + 2000)).replicas[0]?.restarts).toBe(1);
    // Container restarts: the most of any pod of the group, added.
    expect((await sync('L2', NOW + 3000, 1)).replicas[0]?.restarts).toBe(2);
  });

  it('reports a group past its restart budget once, and forgets recreations older than the window', async () => {
    const obj = await created();
    const memory = newFleetMemory();
    const spec = lwsSpec({ replicas: 1, restartBudget: { maxRestarts: 1, windowSeconds: 60 } });
    const writes = recordingWrites();
    const sync = async (leaderUid: string, nowMs: number) => syncLws(backendContext({ spec, objects: [obj], memory, writes, nowMs, pods: groupPods(rev, 0, 2, { leaderUid }) }));
    await sync('L1', NOW);
    await sync('L2', NOW + 1000);
    const r = await sync('L3', NOW + 2000);
    expect(r.failed).toEqual([{ name: 'llama-0', restarts: 2 }]);
    await sync('L3', NOW + 3000);
    expect(writes.events()).toEqual([{ type: 'Warning', reason: 'RestartBudgetExhausted', message: 'group llama-0 restarted 2 times within 60 s (budget 1)' }]);
    // Past the window the recreations no longer count (one exactly a window old still does).
    const later = await sync('L3', NOW + 62_000);
    expect(later.failed).toEqual([]);
    expect(later.replicas[0]?.restarts).toBe(1);
    expect(memory.gaveUp.size).toBe(0);
    expect((await sync('L3', NOW + 62_001)).replicas[0]?.restarts).toBe(0);
  });

  it('forgets the leaders of groups that are gone', async () => {
    const obj = await created();
    const memory = newFleetMemory();
    await syncLws(backendContext({ spec: lwsSpec({ replicas: 2 }), objects: [obj], memory, pods: [...groupPods(rev, 0, 2), ...groupPods(rev, 1, 2)] }));
    expect([...memory.leaders.keys()].sort()).toEqual(['0', '1']);
    await syncLws(backendContext({ spec: lwsSpec({ replicas: 1 }), objects: [obj], memory, pods: groupPods(rev, 0, 2) }));
    expect([...memory.leaders.keys()]).toEqual(['0']);
  });

  it('allows the rollout bound as unavailable replicas, at least one when no surge is allowed', async () => {
    const unavailable = async (rollout: Record<string, unknown>, replicas = 4) => (await syncLws(backendContext({ spec: lwsSpec({ replicas, rollout }) }))).unavailable;
    expect(await unavailable({})).toBe(1);
    expect(await unavailable({ maxUnavailable: '50%' })).toBe(2);
    expect(await unavailable({ maxUnavailable: 0, maxSurge: 1 })).toBe(0);
    expect(await unavailable({ maxUnavailable: '10%', maxSurge: 0 })).toBe(1);
  });
});
