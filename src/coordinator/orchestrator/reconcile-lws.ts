/**
 * The `lws` backend for one fleet: one LeaderWorkerSet (render-lws.ts) kept equal to its template,
 * replicas included; LWS itself rolls the groups (its rolloutStrategy carries maxSurge and
 * maxUnavailable) and recreates a group whose pod failed (RecreateGroupOnPodRestart). The
 * reconciler reads each group's pods (label leaderworkerset.sigs.k8s.io/group-index) for readiness
 * and counts restarts — a new leader pod for a group (the group was recreated) and container
 * restarts — reporting ReplicaFailure once a group is past its restart budget within the window.
 *
 * Node avoidance: the nodes to avoid are part of the pod template, and LWS rolls every group when
 * the template changes, so the set is taken when the revision changes (or the object is created)
 * and kept otherwise; between revisions the node taint of --control.node-conditions keeps new pods
 * off a node whose GPUs went bad.
 */
import { type BackendContext, type BackendObject, type BackendResult, settleExpectations } from './backend.js';
import { renderLeaderWorkerSet } from './render-lws.js';
import { ANNOTATION_AVOID_NODES, formatAvoidNodes, parseAvoidNodes, templateDrift } from './replica-state.js';
import { resolveBound } from './rollout.js';
import { type FleetReplicaStatus, LABEL_REVISION } from './types.js';

export const LWS_GROUP_INDEX_LABEL = 'leaderworkerset.sigs.k8s.io/group-index';
export const LWS_WORKER_INDEX_LABEL = 'leaderworkerset.sigs.k8s.io/worker-index';

export async function syncLws(ctx: BackendContext): Promise<BackendResult> {
  const { spec, revision, memory, nowMs, writes } = ctx;
  const render = (avoid: readonly string[]): BackendObject => {
    const obj = renderLeaderWorkerSet(ctx.fleet.metadata, spec, { revision, avoidNodes: [...avoid] }) as BackendObject;
    return { ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata?.annotations ?? {}), [ANNOTATION_AVOID_NODES]: formatAvoidNodes(avoid) } } };
  };
  // render-lws.ts names the LeaderWorkerSet after its fleet.
  const name = ctx.fleet.metadata.name;
  const existing = ctx.objects.find((o) => o.metadata?.name === name && o.metadata.deletionTimestamp === undefined);
  const sameRevision = existing?.metadata?.labels?.[LABEL_REVISION] === revision;
  const want = render(sameRevision ? parseAvoidNodes(existing?.metadata?.annotations) : ctx.avoidNodes);
  const unavailable = Math.max(resolveBound(spec.rollout.maxUnavailable, spec.replicas, false), resolveBound(spec.rollout.maxSurge, spec.replicas, true) === 0 ? 1 : 0);

  const problems = ctx.validate(want);
  if (problems.length > 0) {
    const message = `LeaderWorkerSet ${name} does not match the installed leaderworkersets.leaderworkerset.x-k8s.io schema: ${problems.slice(0, 3).join('; ')}`;
    writes.event('Warning', 'BackendSchemaMismatch', message);
    return { replicas: [], failed: [], unavailable, problem: { type: 'ReplicaFailure', status: 'True', reason: 'BackendSchemaMismatch', message } };
  }
  const present = new Set(ctx.objects.map((o) => o.metadata?.name ?? ''));
  const live = new Set(ctx.objects.filter((o) => o.metadata?.deletionTimestamp === undefined).map((o) => o.metadata?.name ?? ''));
  const waitingForCache = settleExpectations(memory, present, live, nowMs);
  if (existing === undefined && !waitingForCache && !spec.rollout.paused) {
    memory.expectCreate.set(name, nowMs);
    await writes.create(want).catch((err: unknown) => {
      memory.expectCreate.delete(name);
      throw err;
    });
  } else if (existing !== undefined && !spec.rollout.paused) {
    const drift = templateDrift(want.spec, existing.spec, '.spec') ?? templateDrift(want.metadata?.labels ?? {}, existing.metadata?.labels ?? {}, '.metadata.labels');
    if (drift !== undefined) {
      const replicasChanged = (existing.spec as { replicas?: number } | undefined)?.replicas !== spec.replicas;
      if (sameRevision && !replicasChanged) writes.event('Warning', 'BackendEdited', `LeaderWorkerSet ${name} differs from its template at ${drift}: put back`);
      await writes.replace({ ...want, metadata: { ...want.metadata, resourceVersion: existing.metadata?.resourceVersion, annotations: { ...existing.metadata?.annotations, ...want.metadata?.annotations } } });
    }
  }

  // Groups from the pods.
  const groups = new Map<string, typeof ctx.pods>();
  for (const p of ctx.pods) {
    const g = p.metadata?.labels?.[LWS_GROUP_INDEX_LABEL];
    if (g !== undefined) groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  const windowMs = spec.restartBudget.windowSeconds * 1000;
  const statuses: FleetReplicaStatus[] = [];
  const failed: { name: string; restarts: number }[] = [];
  const indexes = new Set<string>([...groups.keys()]);
  for (let i = 0; i < spec.replicas; i++) indexes.add(String(i));
  for (const g of [...indexes].sort((a, b) => Number(a) - Number(b))) {
    const pods = groups.get(g) ?? [];
    const leader = pods.find((p) => (p.metadata?.labels?.[LWS_WORKER_INDEX_LABEL] ?? '0') === '0' && p.metadata?.deletionTimestamp === undefined);
    const seen = memory.leaders.get(g) ?? { uids: new Set<string>(), at: [] };
    memory.leaders.set(g, seen);
    const uid = leader?.metadata?.uid;
    if (uid !== undefined && !seen.uids.has(uid)) {
      if (seen.uids.size > 0) seen.at.push(nowMs);
      seen.uids.add(uid);
    }
    while (seen.at.length > 0 && (seen.at[0] as number) < nowMs - windowMs) seen.at.shift();
    const containerRestarts = Math.max(0, ...pods.map((p) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0)));
    const restarts = seen.at.length + containerRestarts;
    const a = pods.length === 0 ? { ready: false, failed: false, reasons: ['no pods yet'] } : await ctx.assess(pods, leader, spec.nodesPerReplica);
    const replica = `${name}-${g}`;
    const nodes = [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => n !== undefined))].sort();
    const rev = leader?.metadata?.labels?.[LABEL_REVISION] ?? '';
    statuses.push({ name: replica, revision: rev, ready: a.ready, ...(a.reasons.length > 0 && { reasons: [...a.reasons] }), restarts, ...(nodes.length > 0 && { nodes }) });
    if (restarts > spec.restartBudget.maxRestarts) {
      failed.push({ name: replica, restarts });
      if (!memory.gaveUp.has(replica)) {
        memory.gaveUp.add(replica);
        writes.event('Warning', 'RestartBudgetExhausted', `group ${replica} restarted ${restarts} times within ${spec.restartBudget.windowSeconds} s (budget ${spec.restartBudget.maxRestarts})`);
      }
    } else memory.gaveUp.delete(replica);
  }
  for (const g of memory.leaders.keys()) if (!indexes.has(g)) memory.leaders.delete(g);
  return {
    replicas: statuses,
    failed,
    unavailable,
    ...(spec.rollout.paused && { waiting: 'paused: the LeaderWorkerSet is left as it is' }),
    ...(waitingForCache && { requeueAtMs: nowMs + 1000 }),
  };
}
