/**
 * A ModelFleet's status as the reconciler writes it: the counts, the revision, the scale selector,
 * the replicas with why each is not ready, and the conditions, whose lastTransitionTime changes only
 * when their status flips (a new reason or message alone keeps the time). Pure: the reconciler
 * decides, these functions shape and compare.
 */
import { type FleetCondition, type FleetConditionType, type FleetReplicaStatus, LABEL_FLEET, LABEL_ROLE, type ModelFleetStatus } from './types.js';

export interface ConditionInput {
  readonly type: FleetConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** The selector of a fleet's serving pods (ray heads, lws leaders): what the scale subresource reports. */
export function servingSelector(fleet: string): string {
  return `${LABEL_FLEET}=${fleet},${LABEL_ROLE}=serving`;
}

/** Conditions in a fixed order, each keeping its lastTransitionTime unless its status changed. */
export function mergeConditions(previous: readonly FleetCondition[] | undefined, next: readonly ConditionInput[], nowIso: string): FleetCondition[] {
  const order: FleetConditionType[] = ['Available', 'Progressing', 'ReplicaFailure', 'Invalid'];
  const byType = new Map((previous ?? []).map((c) => [c.type, c]));
  const out: FleetCondition[] = [];
  for (const c of [...next].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type))) {
    const old = byType.get(c.type);
    const lastTransitionTime = old !== undefined && old.status === c.status ? old.lastTransitionTime : nowIso;
    out.push({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime });
  }
  return out;
}

export interface StatusInput {
  readonly fleet: string;
  readonly generation?: number;
  readonly desired: number;
  readonly revision: string;
  readonly replicas: readonly FleetReplicaStatus[];
  /** Replicas that have spent their restart budget (named in ReplicaFailure). */
  readonly failed: readonly { readonly name: string; readonly restarts: number }[];
  /** What the plan is waiting for, when it did nothing (paused, readiness, backoff). */
  readonly waiting?: string;
  readonly paused: boolean;
  /** The rollout's resolved maxUnavailable: Available while ready ≥ desired − this (and some replica is ready). */
  readonly unavailable: number;
  /** Extra conditions: Invalid, or a backend problem reported as ReplicaFailure (CRD missing, schema). */
  readonly problem?: ConditionInput;
}

/** The status to write (conditions not merged yet: mergeConditions does that against the stored status). */
export function fleetStatus(s: StatusInput): { status: Omit<ModelFleetStatus, 'conditions'>; conditions: ConditionInput[] } {
  const ready = s.replicas.filter((r) => r.ready);
  const updated = s.replicas.filter((r) => r.revision === s.revision);
  const available = ready.length;
  const minAvailable = Math.max(0, s.desired - s.unavailable);
  const conditions: ConditionInput[] = [];
  conditions.push(
    available >= minAvailable && (available > 0 || s.desired === 0)
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: `${available} of ${s.desired} replicas ready` }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: `${available} of ${s.desired} replicas ready` },
  );
  const done = updated.length === s.desired && s.replicas.length === s.desired && updated.every((r) => r.ready);
  if (s.paused) conditions.push({ type: 'Progressing', status: 'Unknown', reason: 'RolloutPaused', message: 'spec.rollout.paused is true' });
  else if (done) conditions.push({ type: 'Progressing', status: 'True', reason: 'NewRevisionAvailable', message: `revision ${s.revision}: ${updated.length} of ${s.desired} replicas updated and ready` });
  else {
    const why = s.waiting !== undefined ? `; ${s.waiting}` : '';
    conditions.push({ type: 'Progressing', status: 'True', reason: 'ReplicasUpdating', message: `revision ${s.revision}: ${updated.length} of ${s.desired} replicas updated, ${ready.length} ready${why}` });
  }
  if (s.problem !== undefined && s.problem.type === 'ReplicaFailure') conditions.push(s.problem);
  else if (s.failed.length > 0) {
    const names = s.failed.map((f) => `${f.name} (${f.restarts} restarts)`).join(', ');
    conditions.push({ type: 'ReplicaFailure', status: 'True', reason: 'RestartBudgetExhausted', message: `restart budget spent: ${names}` });
  } else conditions.push({ type: 'ReplicaFailure', status: 'False', reason: 'NoFailures', message: 'no replica has spent its restart budget' });
  if (s.problem !== undefined && s.problem.type === 'Invalid') conditions.push(s.problem);
  else conditions.push({ type: 'Invalid', status: 'False', reason: 'Valid', message: 'the spec is valid' });
  return {
    status: {
      ...(s.generation !== undefined && { observedGeneration: s.generation }),
      replicas: s.replicas.length,
      readyReplicas: ready.length,
      updatedReplicas: updated.length,
      availableReplicas: available,
      currentRevision: s.revision,
      selector: servingSelector(s.fleet),
      replicaStatuses: [...s.replicas].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    },
    conditions,
  };
}

/** Whether writing `next` would change what is stored (the reconciler skips no-op status writes). */
export function statusDiffers(stored: ModelFleetStatus | undefined, next: ModelFleetStatus): boolean {
  return JSON.stringify(normalize(stored ?? {})) !== JSON.stringify(normalize(next));
}

function normalize(s: ModelFleetStatus): unknown {
  const keys = Object.keys(s).sort() as (keyof ModelFleetStatus)[];
  return keys.map((k) => [k, s[k]]);
}
