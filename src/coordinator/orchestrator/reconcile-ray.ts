/**
 * The `ray` backend for one fleet: one KubeRay RayCluster per replica, named
 * `replicaName(fleet, revision, 5 random characters)`. Each reconcile
 *
 * 1. finishes rebuilds: a repaired replica is deleted whole and created again under the same name
 *    (so the router and `fleet status` keep following it) once the old object is gone, with its
 *    restarts annotation counted up and the unhealthy GPU nodes avoided. Rebuilding the RayCluster
 *    rather than deleting its pods: a TP/PP engine cannot lose a rank, KubeRay would only restart
 *    the one pod, and a fresh object also takes the current node avoidance;
 * 2. turns every RayCluster and its pods into a ReplicaView (health.ts: pods, Ray's alive nodes,
 *    engine /health, the agents' GPU verdicts);
 * 3. puts back any RayCluster of the current revision edited by hand (a PUT of the template with
 *    the stored resourceVersion; a conflict retries the fleet);
 * 4. waits while its own earlier writes are not in the cache yet (expectations), else plans
 *    (rollout.ts) and applies the plan.
 *
 * Replicas of an old revision are not compared with a template (the old spec is gone): the
 * rollout replaces them anyway.
 */
import { KubeError } from '../../kube/kube-error.js';
import {
  type BackendContext,
  type BackendObject,
  type BackendResult,
  createdMs,
  type FleetPod,
  settleExpectations,
} from './backend.js';
import { renderRayCluster } from './render-ray.js';
import { replicaName } from './revision.js';
import { ANNOTATION_AVOID_NODES, formatAvoidNodes, formatRestarts, nextRestart, parseAvoidNodes, parseRestarts, templateDrift } from './replica-state.js';
import { planRollout } from './rollout.js';
import { ANNOTATION_DELETION_COST, ANNOTATION_RESTARTS, type FleetReplicaStatus, LABEL_REVISION, type ReplicaView } from './types.js';

/** KubeRay's labels on the pods of a RayCluster. */
export const RAY_CLUSTER_LABEL = 'ray.io/cluster';
export const RAY_NODE_TYPE_LABEL = 'ray.io/node-type';

/** How soon to look again while waiting for the cache to show the reconciler's own writes. */
const EXPECTATION_POLL_MS = 1000;

export async function syncRay(ctx: BackendContext): Promise<BackendResult> {
  const { spec, revision, memory, nowMs, writes } = ctx;
  const byName = new Map<string, BackendObject>();
  for (const o of ctx.objects) if (o.metadata?.name !== undefined) byName.set(o.metadata.name, o);
  const render = (name: string, avoid: readonly string[], restarts?: string): BackendObject => {
    const obj = renderRayCluster(ctx.fleet.metadata, spec, { revision, replicaName: name, avoidNodes: [...avoid] }) as BackendObject;
    const annotations = { ...(obj.metadata?.annotations ?? {}), [ANNOTATION_AVOID_NODES]: formatAvoidNodes(avoid), ...(restarts !== undefined && { [ANNOTATION_RESTARTS]: restarts }) };
    return { ...obj, metadata: { ...obj.metadata, annotations } };
  };
  const invalid = (obj: BackendObject): BackendResult['problem'] => {
    const problems = ctx.validate(obj);
    if (problems.length === 0) return undefined;
    const message = `RayCluster ${obj.metadata?.name ?? ''} does not match the installed rayclusters.ray.io schema: ${problems.slice(0, 3).join('; ')}`;
    writes.event('Warning', 'BackendSchemaMismatch', message);
    return { type: 'ReplicaFailure', status: 'True', reason: 'BackendSchemaMismatch', message };
  };

  // 1. Rebuilds whose old object is gone get created again.
  for (const [name, rebuild] of memory.rebuilding) {
    const existing = byName.get(name);
    if (existing !== undefined) {
      if (existing.metadata?.uid !== rebuild.oldUid && existing.metadata?.deletionTimestamp === undefined) memory.rebuilding.delete(name);
      continue;
    }
    const obj = render(name, ctx.avoidNodes, rebuild.restarts);
    const problem = invalid(obj);
    if (problem !== undefined) return { replicas: [], failed: [], unavailable: 0, problem };
    try {
      await writes.create(obj);
      memory.expectCreate.set(name, nowMs);
    } catch (err) {
      // Still there under a finalizer, or created a moment ago by us: the next event settles it.
      if (!(err instanceof KubeError && err.code === 'BRX_ERR_KUBE_CONFLICT')) throw err;
    }
  }

  // 2. Every replica as the planner sees it.
  const podsOf = new Map<string, FleetPod[]>();
  for (const p of ctx.pods) {
    const rc = p.metadata?.labels?.[RAY_CLUSTER_LABEL];
    if (rc !== undefined) podsOf.set(rc, [...(podsOf.get(rc) ?? []), p]);
  }
  const assessed = await Promise.all(
    [...byName.values()].map(async (obj) => {
      const name = obj.metadata?.name ?? '';
      const rebuild = memory.rebuilding.get(name);
      const terminating = obj.metadata?.deletionTimestamp !== undefined;
      const pods = podsOf.get(name) ?? [];
      if (rebuild !== undefined && obj.metadata?.uid === rebuild.oldUid) return { obj, pods, a: { ready: false, failed: false, reasons: ['being rebuilt after a failure'] }, rebuilding: true };
      if (terminating) return { obj, pods, a: { ready: false, failed: false, reasons: ['terminating'] }, rebuilding: false };
      const head = pods.find((p) => p.metadata?.labels?.[RAY_NODE_TYPE_LABEL] === 'head');
      return { obj, pods, a: await ctx.assess(pods, head, spec.nodesPerReplica), rebuilding: false };
    }),
  );
  const views: ReplicaView[] = [];
  const statuses: FleetReplicaStatus[] = [];
  for (const { obj, pods, a, rebuilding } of assessed) {
    const meta = obj.metadata ?? {};
    const name = meta.name ?? '';
    const restarts = parseRestarts(rebuilding ? { [ANNOTATION_RESTARTS]: memory.rebuilding.get(name)?.restarts ?? '0' } : meta.annotations);
    const cost = Number(meta.annotations?.[ANNOTATION_DELETION_COST] ?? 0);
    const rev = meta.labels?.[LABEL_REVISION] ?? '';
    views.push({
      name,
      revision: rebuilding ? revision : rev,
      ready: a.ready,
      failed: a.failed,
      terminating: !rebuilding && meta.deletionTimestamp !== undefined,
      createdAtMs: rebuilding ? nowMs : createdMs(obj),
      deletionCost: Number.isFinite(cost) ? cost : 0,
      restarts: restarts.restarts,
      ...(restarts.restarts > 0 && { lastRestartMs: rebuilding ? nowMs : createdMs(obj) }),
      ...(restarts.windowStartMs !== undefined && { restartWindowStartMs: restarts.windowStartMs }),
    });
    const nodes = [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => n !== undefined))].sort();
    statuses.push({ name, revision: rebuilding ? revision : rev, ready: a.ready, ...(a.reasons.length > 0 && { reasons: [...a.reasons] }), restarts: restarts.restarts, ...(nodes.length > 0 && { nodes }) });
  }
  for (const [name, rebuild] of memory.rebuilding) {
    if (byName.has(name)) continue;
    const restarts = parseRestarts({ [ANNOTATION_RESTARTS]: rebuild.restarts });
    views.push({ name, revision, ready: false, failed: false, terminating: false, createdAtMs: nowMs, deletionCost: 0, restarts: restarts.restarts, lastRestartMs: rebuild.sinceMs, ...(restarts.windowStartMs !== undefined && { restartWindowStartMs: restarts.windowStartMs }) });
    statuses.push({ name, revision, ready: false, reasons: ['being rebuilt after a failure'], restarts: restarts.restarts });
  }

  // 3. Hand edits of current-revision RayClusters go back to the template.
  for (const obj of byName.values()) {
    const meta = obj.metadata ?? {};
    const name = meta.name ?? '';
    if (meta.labels?.[LABEL_REVISION] !== revision || meta.deletionTimestamp !== undefined || memory.rebuilding.has(name)) continue;
    const want = render(name, parseAvoidNodes(meta.annotations), meta.annotations?.[ANNOTATION_RESTARTS]);
    const drift = templateDrift(want.spec, obj.spec, '.spec') ?? templateDrift(want.metadata?.labels ?? {}, meta.labels ?? {}, '.metadata.labels');
    if (drift === undefined) continue;
    const problem = invalid(want);
    if (problem !== undefined) return { replicas: statuses, failed: [], unavailable: 0, problem };
    writes.event('Warning', 'BackendEdited', `RayCluster ${name} differs from its template at ${drift}: put back`);
    await writes.replace({ ...want, metadata: { ...want.metadata, resourceVersion: meta.resourceVersion, annotations: { ...meta.annotations, ...want.metadata?.annotations } } });
  }

  // 4. Plan, unless our last writes have not shown up yet.
  const present = new Set(byName.keys());
  const live = new Set([...byName.values()].filter((o) => o.metadata?.deletionTimestamp === undefined).map((o) => o.metadata?.name ?? ''));
  if (settleExpectations(memory, present, live, nowMs)) {
    return { replicas: statuses, failed: [], unavailable: 0, waiting: 'waiting for the cache to show the last writes', requeueAtMs: nowMs + EXPECTATION_POLL_MS };
  }
  const plan = planRollout({
    desiredReplicas: spec.replicas,
    targetRevision: revision,
    maxSurge: spec.rollout.maxSurge,
    maxUnavailable: spec.rollout.maxUnavailable,
    paused: spec.rollout.paused,
    restartBudget: spec.restartBudget,
    replicas: views,
    nowMs,
  });
  const failed: { name: string; restarts: number }[] = [];
  for (const action of plan.actions) {
    switch (action.type) {
      case 'create': {
        let name = replicaName(ctx.fleet.metadata.name, revision, ctx.suffix());
        while (present.has(name)) name = replicaName(ctx.fleet.metadata.name, revision, ctx.suffix());
        const obj = render(name, ctx.avoidNodes);
        const problem = invalid(obj);
        if (problem !== undefined) return { replicas: statuses, failed, unavailable: plan.unavailable, problem };
        // Expected before the write (its watch event may come before the answer); forgotten if it fails.
        memory.expectCreate.set(name, nowMs);
        await writes.create(obj).catch((err: unknown) => {
          memory.expectCreate.delete(name);
          throw err;
        });
        break;
      }
      case 'delete':
        memory.expectDelete.set(action.name, nowMs);
        await writes.delete(action.name).catch((err: unknown) => {
          memory.expectDelete.delete(action.name);
          throw err;
        });
        break;
      case 'repair': {
        const obj = byName.get(action.name);
        if (obj === undefined) break;
        const next = nextRestart(parseRestarts(obj.metadata?.annotations), spec.restartBudget.windowSeconds, nowMs);
        memory.rebuilding.set(action.name, { restarts: formatRestarts(next), sinceMs: nowMs, oldUid: obj.metadata?.uid ?? '' });
        writes.event('Normal', 'ReplicaRepair', `rebuilding ${action.name} after a failed pod (repair ${action.attempt} of ${spec.restartBudget.maxRestarts})`);
        await writes.delete(action.name).catch((err: unknown) => {
          memory.rebuilding.delete(action.name);
          throw err;
        });
        break;
      }
      case 'give-up':
        failed.push({ name: action.name, restarts: action.restarts });
        if (!memory.gaveUp.has(action.name)) {
          memory.gaveUp.add(action.name);
          writes.event('Warning', 'RestartBudgetExhausted', `${action.name} failed again after ${action.restarts} repairs within ${spec.restartBudget.windowSeconds} s: left as it is (ReplicaFailure)`);
        }
        break;
    }
  }
  for (const name of memory.gaveUp) if (!failed.some((f) => f.name === name)) memory.gaveUp.delete(name);
  return {
    replicas: statuses,
    failed,
    unavailable: plan.unavailable,
    ...(plan.waiting !== undefined && { waiting: plan.waiting }),
    ...(plan.requeueAtMs !== undefined && { requeueAtMs: plan.requeueAtMs }),
  };
}
