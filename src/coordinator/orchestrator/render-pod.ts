/**
 * The pod template parts both backends render the same way: the engine command line (shell-quoted),
 * GPUs and resources, the memory-backed /dev/shm, probes on the engine's /health, scheduling
 * (node selector, GPU product, tolerations, nodes to avoid) and the owner reference to the fleet.
 */
import { LABEL_VALUE } from './fleet-rules.js';
import { FLEET_API_VERSION, FLEET_KIND, LABEL_FLEET, LABEL_MODEL, LABEL_REVISION, type ModelFleetSpec } from './types.js';

/** The fleet an object is rendered for (the fleet's metadata fits). */
export interface FleetIdentity {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
}

type Json = Record<string, unknown>;

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';
export const FILE_LIMIT = 65536;
/** Probe period: the startup probe allows ceil(startupSeconds / period) failures. */
export const PROBE_PERIOD_SECONDS = 10;

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word: as is when it holds nothing the shell reads, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The words joined into one shell command line, each quoted as needed. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** The flags every `vllm serve` brixlet renders carries, engine arguments last. */
export function parallelFlags(spec: ModelFleetSpec): string[] {
  return ['--tensor-parallel-size', String(spec.tensorParallelSize), '--pipeline-parallel-size', String(spec.pipelineParallelSize)];
}

/** Labels of the objects rendered for a fleet revision. */
export function fleetLabels(fleet: FleetIdentity, revision: string): Record<string, string> {
  return { [LABEL_FLEET]: fleet.name, [LABEL_REVISION]: revision, 'app.kubernetes.io/managed-by': 'brixlet' };
}

/**
 * The pods' model label (the served name, which the router's discovery matches requests on), when
 * the name is a valid label value (63 characters of [A-Za-z0-9._-]); else none.
 */
export function modelLabel(spec: ModelFleetSpec): Record<string, string> {
  const name = spec.servedModelName;
  return name !== '' && name.length <= 63 && LABEL_VALUE.test(name) ? { [LABEL_MODEL]: name } : {};
}

/** `ownerReferences` to the fleet (when its uid is known), so deleting the fleet deletes what it owns. */
export function ownerReferences(fleet: FleetIdentity): Json[] | undefined {
  if (fleet.uid === undefined || fleet.uid === '') return undefined;
  return [{ apiVersion: FLEET_API_VERSION, kind: FLEET_KIND, name: fleet.name, uid: fleet.uid, controller: true, blockOwnerDeletion: true }];
}

export function objectMeta(fleet: FleetIdentity, name: string, labels: Record<string, string>, annotations?: Record<string, string>): Json {
  const owners = ownerReferences(fleet);
  return {
    name,
    ...(fleet.namespace !== undefined && fleet.namespace !== '' && { namespace: fleet.namespace }),
    labels,
    ...(annotations !== undefined && { annotations }),
    ...(owners !== undefined && { ownerReferences: owners }),
  };
}

/** GPUs as both request and limit (device plugins require equal values), beside the spec's resources. */
export function containerResources(spec: ModelFleetSpec): Json {
  const gpus = String(spec.gpusPerNode);
  return {
    requests: { ...spec.resources.requests, [GPU_RESOURCE]: gpus },
    limits: { ...spec.resources.limits, [GPU_RESOURCE]: gpus },
  };
}

/** The spec's env, then each of `extra` whose name the spec does not set itself. */
export function containerEnv(spec: ModelFleetSpec, extra: readonly Json[] = []): Json[] {
  const env: Json[] = spec.env.map((e) => ({ ...e }));
  for (const e of extra) if (!env.some((x) => x.name === e.name)) env.push(e);
  return env;
}

/** An env var holding the pod's IP. */
export const POD_IP_ENV = (name: string): Json => ({ name, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });

export const SHM_VOLUME: Json = { name: 'dshm', emptyDir: { medium: 'Memory' } };
export const SHM_MOUNT: Json = { name: 'dshm', mountPath: '/dev/shm' };

/** Startup (long enough to load the model), readiness and liveness probes on the engine's /health. */
export function engineProbes(spec: ModelFleetSpec): Json {
  const get = { httpGet: { path: '/health', port: spec.port } };
  return {
    startupProbe: { ...get, periodSeconds: PROBE_PERIOD_SECONDS, failureThreshold: Math.ceil(spec.startupSeconds / PROBE_PERIOD_SECONDS), timeoutSeconds: 5 },
    readinessProbe: { ...get, periodSeconds: PROBE_PERIOD_SECONDS, failureThreshold: 3, timeoutSeconds: 5 },
    livenessProbe: { ...get, periodSeconds: PROBE_PERIOD_SECONDS, failureThreshold: 6, timeoutSeconds: 5 },
  };
}

/**
 * Node selector (+ the GPU product label), tolerations (+ one for the usual `nvidia.com/gpu`
 * taint of GPU nodes unless the spec has its own), and the nodes to avoid as a required node
 * affinity on the node name.
 */
export function scheduling(spec: ModelFleetSpec, avoidNodes: readonly string[] = []): Json {
  const nodeSelector = { ...spec.nodeSelector, ...(spec.gpuType !== undefined && { [GPU_PRODUCT_LABEL]: spec.gpuType }) };
  const tolerations: Json[] = spec.tolerations.map((t) => ({ ...t }));
  if (!spec.tolerations.some((t) => t.key === GPU_RESOURCE)) tolerations.push({ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' });
  const avoid = [...new Set(avoidNodes)].sort();
  return {
    ...(Object.keys(nodeSelector).length > 0 && { nodeSelector }),
    tolerations,
    ...(avoid.length > 0 && {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: avoid }] }] },
        },
      },
    }),
  };
}
