/**
 * The limits a ModelFleet must keep, shared by the TypeScript validation (fleet-spec.ts) and, by
 * hand, the CRD (chart/crds/brixlet.io_modelfleets.yaml). The CEL rules of the CRD are listed here
 * word for word: a test checks that the CRD carries exactly these rules, and fleet-spec.ts checks
 * each of them in TypeScript, since nothing here evaluates CEL.
 */

/** An RFC 1035 label: what Service and label-derived names need (lower case, starts with a letter). */
export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Longest fleet name: it is the value of the brixlet.io/fleet label. */
export const MAX_FLEET_NAME = 63;
/**
 * Longest fleet name with `backend: lws`: the LeaderWorkerSet takes the fleet's name, its pods are
 * `<name>-<group>-<worker>` and its StatefulSets label their pods `<name>-<group>-<10-char hash>`;
 * 47 leaves room for 9999 groups within 63 characters.
 */
export const MAX_LWS_FLEET_NAME = 47;
/** A label value (the GPU product label, node selector values). */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
export const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
export const NO_SPACE = /^\S+$/;
export const RAY_VERSION = /^[0-9]+\.[0-9]+\.[0-9]+([-.+a-zA-Z0-9]*)$/;
export const QUANTITY = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
export const PERCENT = /^[0-9]+%$/;
/** KubeRay's default ports on a Ray pod: the engine's port must be another. */
export const RAY_HEAD_PORTS = { gcs: 6379, dashboard: 8265, client: 10001, metrics: 8080, dashboardAgent: 52365 } as const;
export const RAY_PORTS: readonly number[] = Object.values(RAY_HEAD_PORTS);
/** vLLM flags brixlet renders itself: an engine argument may not set them a second time. */
export const RENDERED_FLAGS = /^--(model|served[-_]model[-_]name|tensor[-_]parallel[-_]size|pipeline[-_]parallel[-_]size|distributed[-_]executor[-_]backend|host|port|nnodes|node[-_]rank|master[-_]addr|headless)(=.*)?$/;

/** The spec's defaults (the CRD declares the same ones, so the API server fills them in too). */
export const FLEET_DEFAULTS = {
  pipelineParallelSize: 1,
  replicas: 1,
  backend: 'ray',
  port: 8000,
  startupSeconds: 1800,
  rayVersion: '2.40.0',
  rollout: { maxSurge: 0, maxUnavailable: 1, paused: false },
  restartBudget: { maxRestarts: 3, windowSeconds: 3600, backoffSeconds: 10, maxBackoffSeconds: 300 },
} as const;

/** Integer bounds (inclusive) of the spec's numeric fields. */
export const BOUNDS = {
  tensorParallelSize: [1, 1024],
  pipelineParallelSize: [1, 64],
  gpusPerNode: [1, 64],
  nodesPerReplica: [1, 256],
  replicas: [0, 1024],
  port: [1, 65535],
  startupSeconds: [10, 86400],
  maxRestarts: [0, 1000],
  windowSeconds: [1, 2592000],
  backoffSeconds: [1, 86400],
  maxBackoffSeconds: [1, 86400],
  tolerationSeconds: [0, 31536000],
} as const satisfies Record<string, readonly [number, number]>;

export const MAX_LENGTH = { model: 256, servedModelName: 256, image: 512, engineArg: 1024, envName: 256, gpuType: 63, rayVersion: 32 } as const;
export const MAX_ITEMS = { engineArgs: 128, env: 128, tolerations: 64, nodeSelector: 64, resources: 32 } as const;

/** One CEL rule of the CRD; `at` is the schema node holding it (`` = the root). */
export interface CelRule {
  readonly at: string;
  readonly rule: string;
  readonly message: string;
}

const INT_OR_PERCENT = "type(self) == string ? self.matches('^[0-9]+%$') : self >= 0";
const isZero = (f: string) => `(type(self.${f}) == string ? self.${f}.matches('^0+%$') : self.${f} == 0)`;

export const FLEET_CEL_RULES: readonly CelRule[] = [
  {
    at: '',
    rule: "!has(self.spec) || !has(self.spec.backend) || self.spec.backend != 'lws' || self.metadata.name.size() <= 47",
    message: 'metadata.name may have at most 47 characters with spec.backend lws (the LeaderWorkerSet adds group indexes and revision hashes to it)',
  },
  {
    at: 'spec',
    rule: 'self.tensorParallelSize * (has(self.pipelineParallelSize) ? self.pipelineParallelSize : 1) == self.gpusPerNode * self.nodesPerReplica',
    message: 'spec.tensorParallelSize × spec.pipelineParallelSize must equal spec.gpusPerNode × spec.nodesPerReplica',
  },
  {
    at: 'spec',
    rule: "!has(self.port) || (has(self.backend) && self.backend == 'lws') || !(self.port in [6379, 8265, 10001, 8080, 52365])",
    message: 'spec.port must not be a port the Ray head uses (6379, 8265, 10001, 8080, 52365) with spec.backend ray',
  },
  {
    at: 'spec.engineArgs',
    rule: "!self.exists(a, a.matches('^--(model|served[-_]model[-_]name|tensor[-_]parallel[-_]size|pipeline[-_]parallel[-_]size|distributed[-_]executor[-_]backend|host|port|nnodes|node[-_]rank|master[-_]addr|headless)(=.*)?$'))",
    message: 'spec.engineArgs must not set a flag brixlet renders from the spec (--model, --served-model-name, --tensor-parallel-size, --pipeline-parallel-size, --distributed-executor-backend, --host, --port, --nnodes, --node-rank, --master-addr, --headless)',
  },
  { at: 'spec.env[]', rule: '!(has(self.value) && has(self.valueFrom))', message: 'an env entry takes value or valueFrom, not both' },
  {
    at: 'spec.resources',
    rule: "(!has(self.requests) || !('nvidia.com/gpu' in self.requests)) && (!has(self.limits) || !('nvidia.com/gpu' in self.limits))",
    message: 'spec.resources must not name nvidia.com/gpu: brixlet sets it from spec.gpusPerNode',
  },
  { at: 'spec.rollout.maxSurge', rule: INT_OR_PERCENT, message: 'spec.rollout.maxSurge must be a whole number >= 0 or a percent string like "25%"' },
  { at: 'spec.rollout.maxUnavailable', rule: INT_OR_PERCENT, message: 'spec.rollout.maxUnavailable must be a whole number >= 0 or a percent string like "25%"' },
  {
    at: 'spec.rollout',
    rule: `!has(self.maxSurge) || !has(self.maxUnavailable) || !(${isZero('maxSurge')} && ${isZero('maxUnavailable')})`,
    message: 'spec.rollout.maxSurge and spec.rollout.maxUnavailable must not both be 0: the rollout could never take a step',
  },
  {
    at: 'spec.restartBudget',
    rule: '!has(self.backoffSeconds) || !has(self.maxBackoffSeconds) || self.maxBackoffSeconds >= self.backoffSeconds',
    message: 'spec.restartBudget.maxBackoffSeconds must be at least spec.restartBudget.backoffSeconds',
  },
];
