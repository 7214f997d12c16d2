/**
 * `--orchestrator.enabled`: the ModelFleet controller in the coordinator. With leader election
 * (default in a cluster) a FleetController runs only while this coordinator holds the Lease
 * `brixlet-orchestrator`; each term gets a fresh controller whose writes stop the moment the term
 * ends. Without it (one coordinator, e.g. outside a cluster) the controller runs at once. The route
 * and the metrics work either way: a follower shows the fleets as the leader last wrote them.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { DeepReadonly } from '../../common/config/load-config.js';
import type { Config } from '../../common/config/schema.js';
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import type { AppMetrics } from '../../common/metrics.js';
import { createEventRecorder } from '../../kube/events.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { type LeaderElection, startLeaderElection } from '../../kube/leader-election.js';
import type { Registry } from '../registry/registry.js';
import { followBackendCrds } from './backend-presence.js';
import { registryNodeSource } from './fleet-nodes.js';
import { createReplicaProber } from './health.js';
import { createOrchestratorMetrics, type OrchestratorMetrics } from './orchestrator-metrics.js';
import { createFleetHealth } from './replica-health.js';
import { type BackendPresence, BACKEND_CRDS, BACKEND_HINTS, type EventSink, FleetController, type FleetControllerOptions, type FleetNodeSource, type FleetView, type ReplicaHealthFn } from './reconciler.js';
import { fleetViewOf, type OrchestratorView } from './routes.js';
import { FLEET_API_VERSION, FLEET_KIND, FLEET_REF, type ModelFleet } from './types.js';

export const LEASE_NAME = 'brixlet-orchestrator';

export interface OrchestratorDeps {
  readonly config: DeepReadonly<Config['orchestrator']>;
  /** Where fleets (and the Lease) are: --orchestrator.namespace, else --kube.namespace, else the client's. */
  readonly namespace: string;
  readonly kube: KubeClient;
  readonly nodes: FleetNodeSource;
  readonly backends: BackendPresence;
  readonly health: ReplicaHealthFn;
  readonly events?: EventSink;
  readonly metrics?: OrchestratorMetrics;
  readonly log: Logger;
  /** Default: POD_NAME, else the host name, plus 6 random hex characters. */
  readonly identity?: string;
  /** Whether this process runs in a pod (leaderElection auto); default: KUBERNETES_SERVICE_HOST is set. */
  readonly inCluster?: boolean;
  /** Lease timing (tests shorten it). */
  readonly election?: { readonly leaseDurationSeconds?: number; readonly renewDeadlineMs?: number; readonly retryPeriodMs?: number };
  /** Controller tuning (tests). */
  readonly controller?: Partial<FleetControllerOptions>;
}

export interface RunningOrchestrator extends Disposable {
  readonly identity: string;
  isLeader(): boolean;
  /** The controller of the current term, while leading. */
  controller(): FleetController | undefined;
  view(): Promise<OrchestratorView>;
}

export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.POD_NAME || hostname()}-${randomBytes(3).toString('hex')}`;
}

export function startOrchestrator(d: OrchestratorDeps): RunningOrchestrator {
  const log = d.log;
  const identity = d.identity ?? defaultIdentity();
  const inCluster = d.inCluster ?? (process.env.KUBERNETES_SERVICE_HOST ?? '') !== '';
  const electing = d.config.leaderElection === 'on' || (d.config.leaderElection === 'auto' && inCluster);
  let current: FleetController | undefined;
  let leader: string | undefined = electing ? undefined : identity;
  let election: LeaderElection | undefined;
  let disposed = false;
  const always = new AbortController();

  const lead = async (signal: AbortSignal): Promise<void> => {
    if (disposed || signal.aborted) return;
    const controller = new FleetController({
      kube: d.kube,
      namespace: d.namespace,
      log,
      nodes: d.nodes,
      backends: d.backends,
      health: d.health,
      signal,
      ...(election !== undefined && { isLeader: () => election?.isLeader() === true }),
      ...(d.events !== undefined && { events: d.events }),
      ...(d.metrics !== undefined && { metrics: d.metrics }),
      resyncMs: d.config.resync,
      probeIntervalMs: d.config.probeInterval,
      ...d.controller,
    });
    current = controller;
    signal.addEventListener(
      'abort',
      () => {
        if (current === controller) current = undefined;
        void controller.dispose();
      },
      { once: true },
    );
    await controller.start();
  };

  if (electing) {
    election = startLeaderElection({
      kube: d.kube,
      namespace: d.namespace,
      name: LEASE_NAME,
      identity,
      ...d.election,
      log,
      onStartedLeading: (signal) => lead(signal),
      onStoppedLeading: () => log.warn({ identity }, 'orchestrator: not the leader any more; reconciling stopped'),
      onNewLeader: (id) => {
        leader = id;
        if (id !== undefined && id !== identity) log.info({ leader: id }, 'orchestrator: another coordinator leads');
      },
    });
    log.info({ identity, lease: `${d.namespace}/${LEASE_NAME}` }, 'orchestrator: campaigning for the Lease');
  } else {
    log.info({ identity, namespace: d.namespace }, 'orchestrator: leader election off, this coordinator reconciles');
    void lead(always.signal).catch((err: unknown) => log.error({ err }, 'orchestrator failed to start'));
  }

  const isLeader = (): boolean => (election === undefined ? !disposed : election.isLeader());

  const fromApi = async (): Promise<FleetView[]> => {
    const { items } = await d.kube.customObjects<ModelFleet>(FLEET_REF).list({ namespace: d.namespace });
    return items.map((f) => fleetViewOf(f, d.namespace));
  };

  return {
    name: 'orchestrator',
    identity,
    isLeader,
    controller: () => current,
    async view() {
      const running = current;
      const fleets = running !== undefined ? running.fleetViews() : await fromApi();
      return {
        namespace: d.namespace,
        identity,
        ...((election?.leader() ?? leader) !== undefined && { leader: election?.leader() ?? leader }),
        isLeader: isLeader(),
        leaderElection: election !== undefined,
        backends: {
          ray: { crd: BACKEND_CRDS.ray, installed: d.backends.installed('ray') },
          lws: { crd: BACKEND_CRDS.lws, installed: d.backends.installed('lws') },
        },
        fleets,
      };
    },
    async dispose() {
      disposed = true;
      always.abort();
      await election?.stop();
      await current?.dispose();
      current = undefined;
    },
  };
}

export interface OrchestratorWiring {
  readonly config: DeepReadonly<Config['orchestrator']>;
  /** --orchestrator.namespace, else --kube.namespace ('' = the client's). */
  readonly namespace: string;
  readonly kube: KubeClient;
  readonly registry: Registry;
  readonly metrics: AppMetrics;
  readonly log: Logger;
}

/**
 * The orchestrator as the coordinator runs it: backend CRDs followed, events recorded on the
 * fleets, replicas probed through one keep-alive prober, nodes from the registry, metrics.
 */
export async function createOrchestrator(w: OrchestratorWiring): Promise<RunningOrchestrator> {
  const log = w.log;
  const namespace = w.namespace !== '' ? w.namespace : w.kube.namespace;
  const identity = defaultIdentity();
  const backends = followBackendCrds({ kube: w.kube, log });
  const recorder = createEventRecorder({ kube: w.kube, component: 'brixlet-orchestrator', instance: identity, log });
  const prober = createReplicaProber({ timeoutMs: Math.min(5000, w.config.probeInterval) });
  const fleetHealth = createFleetHealth({ prober, probeIntervalMs: w.config.probeInterval });
  const running = startOrchestrator({
    config: w.config,
    namespace,
    kube: w.kube,
    nodes: registryNodeSource(w.registry),
    backends,
    health: fleetHealth.health,
    events: (fleet, type, reason, message) =>
      recorder.record({ apiVersion: FLEET_API_VERSION, kind: FLEET_KIND, name: fleet.metadata?.name ?? '', namespace: fleet.metadata?.namespace ?? namespace, ...(fleet.metadata?.uid !== undefined && { uid: fleet.metadata.uid }) }, type, reason, message),
    metrics: createOrchestratorMetrics(w.metrics),
    log,
    identity,
  });
  void backends.whenKnown().then(() => {
    const missing = (['ray', 'lws'] as const).filter((b) => !backends.installed(b));
    for (const b of missing) log.warn({ crd: BACKEND_CRDS[b] }, BACKEND_HINTS[b]);
  });
  return {
    ...running,
    async dispose() {
      await running.dispose();
      await recorder.dispose();
      await backends.dispose();
      fleetHealth.dispose();
      await prober.dispose();
    },
  };
}
