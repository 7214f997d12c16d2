/**
 * One replica of a `ray` fleet as a KubeRay RayCluster (`ray.io/v1`). The head pod is the serving
 * pod: it starts Ray through `$KUBERAY_GEN_RAY_START_CMD` (KubeRay leaves the command alone under
 * `ray.io/overwrite-container-cmd` and hands over the generated `ray start` in that variable),
 * waits for its own GCS and for the workers' GPUs, then execs `vllm serve … --distributed-executor-
 * backend ray`. Workers only run Ray (blocking) and leave it cleanly with `ray stop` on preStop.
 * `upgradeStrategy: None` keeps KubeRay from recreating pods when the template changes: upgrades
 * are brixlet's, replica by replica.
 */
import {
  containerEnv, containerResources, engineProbes, FILE_LIMIT, fleetLabels, type FleetIdentity, modelLabel, objectMeta, parallelFlags, POD_IP_ENV, scheduling, shellJoin, SHM_MOUNT, SHM_VOLUME,
} from './render-pod.js';
import { RAY_HEAD_PORTS as RAY_PORTS } from './fleet-rules.js';
import { LABEL_REPLICA, LABEL_ROLE, type ModelFleetSpec } from './types.js';

export const RAY_API_VERSION = 'ray.io/v1';
export const OVERWRITE_CMD_ANNOTATION = 'ray.io/overwrite-container-cmd';
export const WORKER_GROUP = 'workers';
/** How long the head waits for its own GCS before giving up (the container restarts). */
export const GCS_WAIT_SECONDS = 120;

export interface RenderRayOptions {
  readonly revision: string;
  /** The RayCluster's name (revision.ts replicaName). */
  readonly replicaName: string;
  /** Nodes the pods must not land on (unhealthy GPUs); not part of the revision. */
  readonly avoidNodes?: readonly string[];
}

type Json = Record<string, unknown>;

/** The head's script: Ray in the background, wait for the GCS and for TP × PP GPUs, then exec the engine. */
export function headScript(spec: ModelFleetSpec): string {
  const need = spec.tensorParallelSize * spec.pipelineParallelSize;
  const gpuWait = Math.max(60, Math.floor(spec.startupSeconds / 2));
  const serve = shellJoin([
    'vllm', 'serve', spec.model, '--served-model-name', spec.servedModelName, ...parallelFlags(spec),
    '--distributed-executor-backend', 'ray', '--host', '0.0.0.0', '--port', String(spec.port), ...spec.engineArgs,
  ]);
  return [
    `ulimit -n ${FILE_LIMIT}`,
    'eval "$KUBERAY_GEN_RAY_START_CMD" &',
    '# The engine connects to this head\'s GCS at start-up: wait for it (bounded; the container restarts on failure).',
    'n=0',
    'until ray status >/dev/null 2>&1; do',
    `  n=$((n + 1)); if [ "$n" -ge ${GCS_WAIT_SECONDS} ]; then echo "brixlet: the Ray GCS of this head did not answer within ${GCS_WAIT_SECONDS} s" >&2; exit 1; fi; sleep 1`,
    'done',
    '# Wait until the workers have joined with every GPU the engine needs, and say so if they do not,',
    '# rather than let the engine wait on a placement group that cannot be created.',
    `gpus() { python3 -c 'import ray; ray.init(address="auto", logging_level="ERROR"); print(int(ray.cluster_resources().get("GPU", 0)))' 2>/dev/null | tail -n 1; }`,
    `need=${need}; deadline=$((SECONDS + ${gpuWait})); have=$(gpus)`,
    'until [ "${have:-0}" -ge "$need" ] 2>/dev/null; do',
    `  if [ "$SECONDS" -ge "$deadline" ]; then echo "brixlet: Ray sees \${have:-0} GPUs after ${gpuWait} s, need $need (tensorParallelSize ${spec.tensorParallelSize} x pipelineParallelSize ${spec.pipelineParallelSize}); check that the ${spec.nodesPerReplica - 1} worker pod(s) run and reach this head on port ${RAY_PORTS.gcs}" >&2; exit 1; fi`,
    '  sleep 5; have=$(gpus)',
    'done',
    `exec ${serve}`,
  ].join('\n');
}

/** A worker's script: Ray in the foreground (`--block`, set in rayStartParams). */
export const WORKER_SCRIPT = `ulimit -n ${FILE_LIMIT}\neval "$KUBERAY_GEN_RAY_START_CMD"`;

export function renderRayCluster(fleet: FleetIdentity, spec: ModelFleetSpec, opts: RenderRayOptions): Json {
  const labels = { ...fleetLabels(fleet, opts.revision), [LABEL_REPLICA]: opts.replicaName };
  // vLLM's Ray executor matches its workers by IP: name the pod IP, the address Ray registers the node under.
  const env = containerEnv(spec, [POD_IP_ENV('VLLM_HOST_IP')]);
  const podCommon = { ...scheduling(spec, opts.avoidNodes), volumes: [SHM_VOLUME] };
  const resources = containerResources(spec);
  const head = {
    serviceType: 'ClusterIP',
    rayStartParams: { 'dashboard-host': '0.0.0.0', 'num-gpus': String(spec.gpusPerNode) },
    template: {
      metadata: { labels: { ...labels, ...modelLabel(spec), [LABEL_ROLE]: 'serving' } },
      spec: {
        ...podCommon,
        containers: [
          {
            name: 'ray-head',
            image: spec.image,
            command: ['/bin/bash', '-lc', '--'],
            args: [headScript(spec)],
            env,
            resources,
            ports: [
              { name: 'gcs-server', containerPort: RAY_PORTS.gcs },
              { name: 'dashboard', containerPort: RAY_PORTS.dashboard },
              { name: 'client', containerPort: RAY_PORTS.client },
              { name: 'metrics', containerPort: RAY_PORTS.metrics },
              { name: 'http', containerPort: spec.port },
            ],
            volumeMounts: [SHM_MOUNT],
            ...engineProbes(spec),
          },
        ],
      },
    },
  };
  const workers = spec.nodesPerReplica - 1;
  const workerGroup = {
    groupName: WORKER_GROUP,
    replicas: workers,
    minReplicas: workers,
    maxReplicas: workers,
    rayStartParams: { 'num-gpus': String(spec.gpusPerNode), block: 'true' },
    template: {
      metadata: { labels: { ...labels, ...modelLabel(spec), [LABEL_ROLE]: 'worker' } },
      spec: {
        ...podCommon,
        containers: [
          {
            name: 'ray-worker',
            image: spec.image,
            command: ['/bin/bash', '-lc', '--'],
            args: [WORKER_SCRIPT],
            env,
            resources,
            ports: [{ name: 'metrics', containerPort: RAY_PORTS.metrics }, { name: 'dashboard-agent', containerPort: RAY_PORTS.dashboardAgent }],
            volumeMounts: [SHM_MOUNT],
            // An HTTP probe on the raylet's health (served by the dashboard agent) needs no wget or
            // curl in the image, unlike the exec probes KubeRay injects when a worker has none.
            readinessProbe: { httpGet: { path: '/api/local_raylet_healthz', port: RAY_PORTS.dashboardAgent }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
            livenessProbe: { httpGet: { path: '/api/local_raylet_healthz', port: RAY_PORTS.dashboardAgent }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 12, timeoutSeconds: 5 },
            lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'ray stop'] } } },
          },
        ],
      },
    },
  };
  return {
    apiVersion: RAY_API_VERSION,
    kind: 'RayCluster',
    metadata: objectMeta(fleet, opts.replicaName, labels, { [OVERWRITE_CMD_ANNOTATION]: 'true' }),
    spec: {
      rayVersion: spec.rayVersion,
      upgradeStrategy: { type: 'None' },
      headGroupSpec: head,
      ...(workers > 0 && { workerGroupSpecs: [workerGroup] }),
    },
  };
}
