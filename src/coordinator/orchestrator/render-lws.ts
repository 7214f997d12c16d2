/**
 * A whole `lws` fleet as one LeaderWorkerSet (`leaderworkerset.x-k8s.io/v1`): a group per replica of
 * nodesPerReplica pods, every pod running vLLM's Ray-free multi-node mode (`--nnodes`, `--node-rank`,
 * `--master-addr` from the variables LWS injects; workers `--headless`). The leader is the serving
 * pod and the only one with probes (workers have no HTTP server). Any pod restart recreates the
 * group (a TP/PP engine cannot lose a rank) and LWS rolls groups with the fleet's own bounds.
 */
import {
  containerEnv, containerResources, engineProbes, FILE_LIMIT, fleetLabels, type FleetIdentity, modelLabel, objectMeta, parallelFlags, scheduling, shellJoin, SHM_MOUNT, SHM_VOLUME,
} from './render-pod.js';
import { LABEL_ROLE, type ModelFleetSpec } from './types.js';

export const LWS_API_VERSION = 'leaderworkerset.x-k8s.io/v1';

export interface RenderLwsOptions {
  readonly revision: string;
  /** Nodes the pods must not land on (unhealthy GPUs); not part of the revision. */
  readonly avoidNodes?: readonly string[];
}

type Json = Record<string, unknown>;

/** Kubernetes expands `$(VAR)` in args from the env LWS injects, before the shell sees the line. */
const MULTI_NODE = '--nnodes $(LWS_GROUP_SIZE) --node-rank $(LWS_WORKER_INDEX) --master-addr $(LWS_LEADER_ADDRESS)';

/** The leader's (`serving`) or a worker's script. */
export function lwsScript(spec: ModelFleetSpec, role: 'leader' | 'worker'): string {
  const head = shellJoin(['vllm', 'serve', spec.model, ...(role === 'leader' ? ['--served-model-name', spec.servedModelName] : []), ...parallelFlags(spec)]);
  const tail = role === 'leader' ? shellJoin(['--host', '0.0.0.0', '--port', String(spec.port), ...spec.engineArgs]) : shellJoin(['--headless', ...spec.engineArgs]);
  return `ulimit -n ${FILE_LIMIT}\nexec ${head} ${MULTI_NODE} ${tail}`;
}

export function renderLeaderWorkerSet(fleet: FleetIdentity, spec: ModelFleetSpec, opts: RenderLwsOptions): Json {
  const labels = fleetLabels(fleet, opts.revision);
  const podSpec = (role: 'leader' | 'worker'): Json => ({
    ...scheduling(spec, opts.avoidNodes),
    volumes: [SHM_VOLUME],
    containers: [
      {
        name: role === 'leader' ? 'vllm-leader' : 'vllm-worker',
        image: spec.image,
        command: ['/bin/bash', '-lc', '--'],
        args: [lwsScript(spec, role)],
        env: containerEnv(spec),
        resources: containerResources(spec),
        volumeMounts: [SHM_MOUNT],
        ...(role === 'leader' && { ports: [{ name: 'http', containerPort: spec.port }], ...engineProbes(spec) }),
      },
    ],
  });
  return {
    apiVersion: LWS_API_VERSION,
    kind: 'LeaderWorkerSet',
    metadata: objectMeta(fleet, fleet.name, labels),
    spec: {
      replicas: spec.replicas,
      startupPolicy: 'LeaderCreated',
      rolloutStrategy: {
        type: 'RollingUpdate',
        rollingUpdateConfiguration: { maxSurge: spec.rollout.maxSurge, maxUnavailable: spec.rollout.maxUnavailable },
      },
      leaderWorkerTemplate: {
        size: spec.nodesPerReplica,
        restartPolicy: 'RecreateGroupOnPodRestart',
        leaderTemplate: { metadata: { labels: { ...labels, ...modelLabel(spec), [LABEL_ROLE]: 'serving' } }, spec: podSpec('leader') },
        workerTemplate: { metadata: { labels: { ...labels, ...modelLabel(spec), [LABEL_ROLE]: 'worker' } }, spec: podSpec('worker') },
      },
    },
  };
}
