/**
 * The ModelFleet resource (`brixlet.io/v1alpha1`) and the shapes the orchestrator's parts share:
 * the fleet spec after defaults, one replica as the reconciler sees it, and the actions the
 * rollout planner asks for. The CRD itself is `chart/crds/brixlet.io_modelfleets.yaml`.
 */
import type { KubeObject, ObjectMeta, ResourceRef } from '../../kube/types.js';

export const FLEET_GROUP = 'brixlet.io';
export const FLEET_VERSION = 'v1alpha1';
export const FLEET_API_VERSION = `${FLEET_GROUP}/${FLEET_VERSION}`;
export const FLEET_KIND = 'ModelFleet';

export const FLEET_REF: ResourceRef = { group: FLEET_GROUP, version: FLEET_VERSION, plural: 'modelfleets', namespaced: true };
export const RAYCLUSTER_REF: ResourceRef = { group: 'ray.io', version: 'v1', plural: 'rayclusters', namespaced: true };
export const LWS_REF: ResourceRef = { group: 'leaderworkerset.x-k8s.io', version: 'v1', plural: 'leaderworkersets', namespaced: true };
export const LEASE_REF: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true };

/** Labels brixlet puts on every object it renders for a fleet (and on their pods). */
export const LABEL_FLEET = 'brixlet.io/fleet';
/** The template's revision hash (like a Deployment's pod-template-hash). */
export const LABEL_REVISION = 'brixlet.io/revision';
/** The replica's ordinal-free id (the RayCluster's name for `ray`, the LWS group index for `lws`). */
export const LABEL_REPLICA = 'brixlet.io/replica';
/** `serving` on the pod that runs the OpenAI server (ray head / lws leader), `worker` otherwise. */
export const LABEL_ROLE = 'brixlet.io/role';
/** The served model name on a fleet's pods: the router's engine discovery reads it (AIBrix's label). */
export const LABEL_MODEL = 'model.aibrix.ai/name';
/** Scale-down order, as for ReplicaSets: lower goes first. */
export const ANNOTATION_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
/** Restarts spent from the replica's budget, and when the budget window began (RFC 3339). */
export const ANNOTATION_RESTARTS = 'brixlet.io/restarts';

export type FleetBackend = 'ray' | 'lws';

export interface FleetRollout {
  /** Extra replicas allowed during an upgrade (count or percent string; rounds up). Default 0. */
  readonly maxSurge: number | string;
  /** Replicas allowed to be unavailable during an upgrade (count or percent; rounds down). Default 1. */
  readonly maxUnavailable: number | string;
  readonly paused: boolean;
}

export interface FleetRestartBudget {
  /** Repairs allowed per replica within `windowSeconds`; beyond it the fleet reports ReplicaFailure. Default 3. */
  readonly maxRestarts: number;
  /** Default 3600. */
  readonly windowSeconds: number;
  /** First repair waits this long, doubling each time. Default 10. */
  readonly backoffSeconds: number;
  /** Cap on the doubling. Default 300. */
  readonly maxBackoffSeconds: number;
}

export interface FleetToleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface FleetEnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface FleetResources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/** `spec` as written by a user: everything but model, image and the parallel sizes is optional. */
export interface ModelFleetSpecInput {
  model: string;
  servedModelName?: string;
  image: string;
  tensorParallelSize: number;
  pipelineParallelSize?: number;
  gpusPerNode: number;
  nodesPerReplica: number;
  replicas?: number;
  backend?: FleetBackend;
  engineArgs?: string[];
  env?: FleetEnvVar[];
  /** Per pod, beside the GPUs (`nvidia.com/gpu: gpusPerNode` is always set). */
  resources?: FleetResources;
  nodeSelector?: Record<string, string>;
  tolerations?: FleetToleration[];
  /** The GPU model (`nvidia.com/gpu.product` label value, e.g. NVIDIA-H100-80GB-HBM3); adds a node selector. */
  gpuType?: string;
  /** Engine HTTP port on the serving pod. Default 8000. */
  port?: number;
  rollout?: Partial<FleetRollout>;
  restartBudget?: Partial<FleetRestartBudget>;
  /** Startup probe budget for loading the model (seconds). Default 1800 (a 671B model). */
  startupSeconds?: number;
  /** Ray version for the RayCluster (`ray` backend). Default 2.40.0. */
  rayVersion?: string;
}

/** `spec` after defaults (what every part of the orchestrator works from). */
export interface ModelFleetSpec {
  readonly model: string;
  readonly servedModelName: string;
  readonly image: string;
  readonly tensorParallelSize: number;
  readonly pipelineParallelSize: number;
  readonly gpusPerNode: number;
  readonly nodesPerReplica: number;
  readonly replicas: number;
  readonly backend: FleetBackend;
  readonly engineArgs: readonly string[];
  readonly env: readonly FleetEnvVar[];
  readonly resources: FleetResources;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly FleetToleration[];
  readonly gpuType?: string;
  readonly port: number;
  readonly rollout: FleetRollout;
  readonly restartBudget: FleetRestartBudget;
  readonly startupSeconds: number;
  readonly rayVersion: string;
}

export type FleetConditionType = 'Available' | 'Progressing' | 'ReplicaFailure' | 'Invalid';

export interface FleetCondition {
  type: FleetConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface FleetReplicaStatus {
  name: string;
  revision: string;
  ready: boolean;
  /** Why not ready, one line per failing check (pods, ray, engine, gpu). */
  reasons?: string[];
  restarts: number;
  nodes?: string[];
}

export interface ModelFleetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  /** The template's current revision hash. */
  currentRevision?: string;
  /** Label selector (string form) for the scale subresource: matches the serving pods. */
  selector?: string;
  conditions?: FleetCondition[];
  replicaStatuses?: FleetReplicaStatus[];
}

export interface ModelFleet extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec: ModelFleetSpecInput;
  status?: ModelFleetStatus;
}

/** One replica as the rollout planner sees it (built from the backend objects and their pods). */
export interface ReplicaView {
  readonly name: string;
  readonly revision: string;
  /** Serving: every readiness check passes (see health.ts). */
  readonly ready: boolean;
  /** A pod of the replica failed (container terminated with error, crash loop, deleted node): needs repair. */
  readonly failed: boolean;
  /** Being deleted already (deletionTimestamp set). */
  readonly terminating: boolean;
  readonly createdAtMs: number;
  readonly deletionCost: number;
  /** Repairs spent in the current budget window. */
  readonly restarts: number;
  /** When the last repair was made (ms), for backoff. */
  readonly lastRestartMs?: number;
  /**
   * When the current restart-budget window began (ms; the second part of ANNOTATION_RESTARTS).
   * Absent: the window is measured from `lastRestartMs`. Once the window has passed, `restarts` no longer counts.
   */
  readonly restartWindowStartMs?: number;
}

export type RolloutAction =
  | { readonly type: 'create'; readonly revision: string; readonly reason: 'scale-up' | 'surge' | 'replace' }
  | { readonly type: 'delete'; readonly name: string; readonly reason: 'scale-down' | 'old-revision' | 'surplus' }
  | { readonly type: 'repair'; readonly name: string; readonly attempt: number }
  /** The replica has spent its restart budget: leave it, report ReplicaFailure. */
  | { readonly type: 'give-up'; readonly name: string; readonly restarts: number };

export interface RolloutInput {
  readonly desiredReplicas: number;
  readonly targetRevision: string;
  readonly maxSurge: number | string;
  readonly maxUnavailable: number | string;
  readonly paused: boolean;
  readonly restartBudget: FleetRestartBudget;
  readonly replicas: readonly ReplicaView[];
  readonly nowMs: number;
}

export interface RolloutPlan {
  readonly actions: readonly RolloutAction[];
  /** Resolved bounds: total replicas never above desired + surge, available never below desired − unavailable. */
  readonly surge: number;
  readonly unavailable: number;
  /** Earliest time something changes without new events (a backoff ending), for the requeue timer. */
  readonly requeueAtMs?: number;
  /** Human-readable why nothing was done (paused, waiting for readiness, backoff). */
  readonly waiting?: string;
}
