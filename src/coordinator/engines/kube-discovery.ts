/**
 * Engines from Kubernetes: the pods matching gateway.engineSelector in one namespace, followed by an
 * informer (which relists and re-watches on its own after errors). A pod is an engine while it is
 * Running, Ready, has an IP and is not being deleted; for multi-node replicas (KubeRay pods, label
 * `ray.io/node-type`; ModelFleet pods, `brixlet.io/role`) only the head or leader serves the OpenAI
 * API, so workers are never engines. The uid is the pod's: a pod recreated under the same name is a
 * new engine with fresh load counters.
 */
import type { Logger } from '../../common/logger.js';
import type { Informer } from '../../kube/informer.js';
import type { KubeClient } from '../../kube/kube-client.js';
import type { KubeObject, ResourceRef } from '../../kube/types.js';
import type { EngineSink, EngineSource } from './engine-set.js';
import type { EngineSpec } from './types.js';

export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods', namespaced: true };

/** Label naming the model a pod serves (AIBrix's). */
export const MODEL_LABEL = 'model.aibrix.ai/name';
/** Label naming the pod's GPU type, for the speed profile. */
export const GPU_TYPE_LABEL = 'brixlet.io/gpu-type';
/** Container port names of an engine pod's KV events PUB and replay sockets (--gateway.kv-events). */
export const KV_EVENTS_PORT_NAME = 'kv-events';
export const KV_REPLAY_PORT_NAME = 'kv-replay';
/** KubeRay's role label: `head` or `worker`. */
export const RAY_NODE_TYPE_LABEL = 'ray.io/node-type';
/** A ModelFleet pod's role (orchestrator): `serving` (ray head, lws leader) or `worker` (no OpenAI server). */
export const FLEET_ROLE_LABEL = 'brixlet.io/role';

/** The parts of a core/v1 Pod discovery reads. */
export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string;
    containers?: { name?: string; ports?: { name?: string; containerPort?: number }[] }[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type?: string; status?: string }[];
  };
}

export interface KubeEngineSourceOptions {
  /** Label selector (gateway.engineSelector), e.g. `app=vllm`. */
  readonly selector: string;
  /** kube.namespace; empty or undefined = the client's namespace. */
  readonly namespace?: string;
  /** gateway.enginePort: used when no container port is named `http`. */
  readonly port: number;
  readonly log?: Logger;
  /** Informer tuning (tests shorten the backoff). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly minWatchMs?: number;
}

/** Why a pod is not an engine right now, or its spec. Pure: tests feed pod objects. */
export function podToEngine(pod: Pod, defaultPort: number): EngineSpec | string {
  const meta = pod.metadata ?? {};
  const labels = meta.labels ?? {};
  const role = labels[RAY_NODE_TYPE_LABEL];
  if (role !== undefined && role !== 'head') return `ray ${role} pod (only heads serve)`;
  if (labels[FLEET_ROLE_LABEL] === 'worker') return 'fleet worker pod (only the serving pod serves)';
  if (meta.deletionTimestamp !== undefined) return 'terminating';
  if (pod.status?.phase !== 'Running') return `phase ${pod.status?.phase ?? 'unknown'}`;
  const ready = pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  if (!ready) return 'not ready';
  const ip = pod.status.podIP;
  if (!ip) return 'no pod IP';
  const port = httpPort(pod) ?? defaultPort;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const model = labels[MODEL_LABEL];
  const gpuType = labels[GPU_TYPE_LABEL];
  const name = meta.name ?? ip;
  return {
    uid: meta.uid ?? `${meta.namespace ?? ''}/${name}`,
    name,
    url: `http://${host}:${port}`,
    source: 'kube',
    ...(model ? { models: [model] } : {}),
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    ...(gpuType ? { gpuType } : {}),
    ...kvEventsOf(pod, host),
  };
}

/** Container ports named kv-events (PUB) and kv-replay (replay ROUTER): the pod's KV events endpoint. */
function kvEventsOf(pod: Pod, host: string): { kvEvents?: { endpoint: string; replayEndpoint?: string } } {
  let pub: number | undefined;
  let replay: number | undefined;
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (typeof p.containerPort !== 'number') continue;
      if (p.name === KV_EVENTS_PORT_NAME) pub = p.containerPort;
      else if (p.name === KV_REPLAY_PORT_NAME) replay = p.containerPort;
    }
  }
  if (pub === undefined) return {};
  const endpoint = `tcp://${host}:${pub}`;
  return { kvEvents: replay === undefined ? { endpoint } : { endpoint, replayEndpoint: `tcp://${host}:${replay}` } };
}

function httpPort(pod: Pod): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === 'http' && typeof p.containerPort === 'number') return p.containerPort;
  }
  return undefined;
}

/** A source feeding an engine set from the pods `selector` picks; dispose() stops its informer. */
export function kubeEngineSource(client: KubeClient, opts: KubeEngineSourceOptions): EngineSource {
  let informer: Informer<Pod> | undefined;
  const unsubscribe: (() => void)[] = [];
  let stop: () => void = () => undefined;
  // start() resolves on the first list, or on dispose() if that never comes (API server unreachable).
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const description = `pods ${opts.selector} in ${opts.namespace || client.namespace}`;
  return {
    name: `kube engines (${description})`,
    async start(sink: EngineSink): Promise<void> {
      if (informer !== undefined) return Promise.race([informer.whenSynced(), stopped]);
      const engines = new Map<string, string>(); // informer key → engine uid it gave
      const track = (pod: Pod): void => {
        const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
        const result = podToEngine(pod, opts.port);
        const had = engines.get(key);
        if (typeof result === 'string') {
          if (had !== undefined) {
            engines.delete(key);
            opts.log?.info({ pod: key, reason: result }, 'engine pod left');
            sink.remove(had);
          }
          return;
        }
        // Same name, new uid: the pod was recreated; the old engine goes first.
        if (had !== undefined && had !== result.uid) sink.remove(had);
        engines.set(key, result.uid);
        sink.upsert(result);
      };
      const untrack = (pod: Pod): void => {
        const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
        const had = engines.get(key);
        if (had === undefined) return;
        engines.delete(key);
        opts.log?.info({ pod: key }, 'engine pod deleted');
        sink.remove(had);
      };
      informer = client.informer<Pod>(PODS, {
        labelSelector: opts.selector,
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        ...(opts.minWatchMs !== undefined ? { minWatchMs: opts.minWatchMs } : {}),
        start: false,
      });
      unsubscribe.push(
        informer.on('add', track),
        informer.on('update', track),
        informer.on('delete', untrack),
        informer.on('error', (err) => opts.log?.debug({ err, source: description }, 'engine discovery: informer error, retrying')),
      );
      informer.start();
      await Promise.race([informer.whenSynced(), stopped]);
      if (!informer.synced) return;
      opts.log?.info({ source: description, engines: engines.size }, 'engine discovery synced');
    },
    async dispose(): Promise<void> {
      stop();
      for (const u of unsubscribe.splice(0)) u();
      await informer?.dispose();
    },
  };
}
