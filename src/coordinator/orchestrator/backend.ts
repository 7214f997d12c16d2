/**
 * What the two backend syncs (reconcile-ray.ts, reconcile-lws.ts) get from the controller for one
 * fleet, and what they hand back for its status. The controller owns the caches, the leader signal
 * and the writes; a backend decides.
 */
import type { KubeObject } from '../../kube/types.js';
import type { ConditionInput } from './fleet-status.js';
import type { FleetReplicaStatus, ModelFleet, ModelFleetSpec } from './types.js';

/** The parts of a core/v1 Pod the orchestrator reads. */
export interface FleetPod extends KubeObject {
  spec?: { nodeName?: string; containers?: { name?: string; ports?: { name?: string; containerPort?: number }[] }[] };
  status?: {
    phase?: string;
    podIP?: string;
    reason?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name?: string;
      ready?: boolean;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string }; terminated?: { exitCode?: number; reason?: string }; running?: unknown };
      lastState?: { terminated?: { exitCode?: number; reason?: string } };
    }[];
  };
}

/** A backend object (RayCluster, LeaderWorkerSet) as stored. */
export interface BackendObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The health of one replica: every check, with a line per failing one. */
export interface ReplicaAssessment {
  readonly ready: boolean;
  readonly failed: boolean;
  readonly reasons: readonly string[];
}

/** Writes, each refused once leadership is lost (the controller checks its signal first). */
export interface FleetWrites {
  create(obj: BackendObject): Promise<BackendObject>;
  /** PUT with the object's resourceVersion (a conflict throws and the fleet is retried). */
  replace(obj: BackendObject): Promise<BackendObject>;
  /** false when it was already gone. */
  delete(name: string): Promise<boolean>;
  /** A Warning or Normal event on the fleet. */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** What the controller remembers of a fleet between reconciles (lost on failover, by design: all of it is re-derivable or only delays). */
export interface FleetMemory {
  /** Objects created and not yet in the cache, with when (they expire after a while). */
  readonly expectCreate: Map<string, number>;
  /** Objects deleted and still in the cache. */
  readonly expectDelete: Map<string, number>;
  /** Replicas being rebuilt by a repair: deleted, to be created again under the same name with this annotation. */
  readonly rebuilding: Map<string, { readonly restarts: string; readonly sinceMs: number; readonly oldUid: string }>;
  /** Replicas reported as out of budget already (one event each). */
  readonly gaveUp: Set<string>;
  /** lws: per group, the leader pod uids seen and when each new one appeared (group recreations). */
  readonly leaders: Map<string, { readonly uids: Set<string>; readonly at: number[] }>;
}

export function newFleetMemory(): FleetMemory {
  return { expectCreate: new Map(), expectDelete: new Map(), rebuilding: new Map(), gaveUp: new Set(), leaders: new Map() };
}

export interface BackendContext {
  readonly fleet: ModelFleet & { metadata: { name: string; namespace: string; uid: string } };
  readonly spec: ModelFleetSpec;
  readonly revision: string;
  readonly nowMs: number;
  /** Nodes whose agents report an unhealthy GPU (or that went stale): new replicas avoid them. */
  readonly avoidNodes: readonly string[];
  /** This fleet's backend objects from the cache. */
  readonly objects: readonly BackendObject[];
  /** This fleet's pods from the cache. */
  readonly pods: readonly FleetPod[];
  readonly memory: FleetMemory;
  readonly writes: FleetWrites;
  /** CRD-schema problems of an object about to be written ([] when valid, or when no schema is known). */
  validate(obj: BackendObject): string[];
  /** Health of one replica from its pods (serving pod first) and, when they are up, probes. */
  assess(pods: readonly FleetPod[], serving: FleetPod | undefined, groupSize: number): Promise<ReplicaAssessment>;
  /** Random lowercase suffix for new replica names. */
  suffix(): string;
}

export interface BackendResult {
  readonly replicas: FleetReplicaStatus[];
  readonly failed: { readonly name: string; readonly restarts: number }[];
  readonly unavailable: number;
  readonly waiting?: string;
  /** A backend problem for the status (schema validation failure). */
  readonly problem?: ConditionInput;
  /** When to look again without an event (backoff ends, expectations expire). */
  readonly requeueAtMs?: number;
}

/** How long a write may go unobserved before the reconciler stops waiting for it. */
export const EXPECTATION_TTL_MS = 30_000;

export function podReady(pod: FleetPod): boolean {
  return pod.metadata?.deletionTimestamp === undefined && pod.status?.phase === 'Running' && (pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
}

export function createdMs(obj: KubeObject): number {
  const t = Date.parse(obj.metadata?.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : 0;
}

/** Drops expectations the cache has met (created: present; deleted: no longer live) or that are too old; true while some are still open. */
export function settleExpectations(memory: FleetMemory, present: ReadonlySet<string>, live: ReadonlySet<string>, nowMs: number): boolean {
  for (const [name, at] of memory.expectCreate) if (present.has(name) || nowMs - at > EXPECTATION_TTL_MS) memory.expectCreate.delete(name);
  for (const [name, at] of memory.expectDelete) if (!live.has(name) || nowMs - at > EXPECTATION_TTL_MS) memory.expectDelete.delete(name);
  return memory.expectCreate.size > 0 || memory.expectDelete.size > 0;
}
