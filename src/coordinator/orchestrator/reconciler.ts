/**
 * The ModelFleet controller, for one leadership term: informers on ModelFleets, on the backend
 * objects and on the pods (both labelled brixlet.io/fleet), a work queue keyed by fleet, and one
 * reconcile per fleet at a time that validates the spec, lets the backend (reconcile-ray.ts,
 * reconcile-lws.ts) converge the objects, and writes the status. Every write first checks the
 * leadership signal, so a coordinator that lost its Lease stops writing at once, mid-rollout or not.
 *
 * Backends whose CRD is not installed are not watched: their fleets get a ReplicaFailure condition
 * saying so, and the informer starts (and the fleets are queued) once the CRD shows up.
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import type { Informer } from '../../kube/informer.js';
import { KubeError } from '../../kube/kube-error.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { objectKey, type ResourceRef } from '../../kube/types.js';
import { type BackendContext, type BackendObject, type FleetMemory, type FleetPod, type FleetWrites, newFleetMemory, type ReplicaAssessment } from './backend.js';
import { type ConditionInput, fleetStatus, mergeConditions, servingSelector, statusDiffers } from './fleet-status.js';
import { fleetDefaults, fleetProblems } from './fleet-spec.js';
import type { OrchestratorMetrics } from './orchestrator-metrics.js';
import { syncLws } from './reconcile-lws.js';
import { syncRay } from './reconcile-ray.js';
import { randomSuffix, templateRevision } from './revision.js';
import { FLEET_API_VERSION, FLEET_KIND, FLEET_REF, type FleetBackend, type FleetReplicaStatus, LABEL_FLEET, LWS_REF, type ModelFleet, type ModelFleetSpec, type ModelFleetStatus, RAYCLUSTER_REF } from './types.js';
import { WorkQueue } from './work-queue.js';

export const PODS_REF: ResourceRef = { group: '', version: 'v1', plural: 'pods', namespaced: true };

export const BACKEND_REFS: Readonly<Record<FleetBackend, ResourceRef>> = { ray: RAYCLUSTER_REF, lws: LWS_REF };
export const BACKEND_CRDS: Readonly<Record<FleetBackend, string>> = { ray: 'rayclusters.ray.io', lws: 'leaderworkersets.leaderworkerset.x-k8s.io' };
export const BACKEND_HINTS: Readonly<Record<FleetBackend, string>> = {
  ray: 'rayclusters.ray.io is not installed: fleets with backend ray wait; install KubeRay >= 1.1 or use backend lws',
  lws: 'leaderworkersets.leaderworkerset.x-k8s.io is not installed: fleets with backend lws wait; install LeaderWorkerSet >= 0.7 or use backend ray',
};

/** What the agents tell the orchestrator about nodes (registry-backed in the coordinator). */
export interface FleetNodeSource {
  /** Most GPUs any reporting node has; undefined while no agent reports GPUs (no check then). */
  maxGpusPerNode(): number | undefined;
  /** Nodes to keep new replicas off: an agent reports an unhealthy GPU there, or went stale. */
  avoidNodes(): string[];
  /**
   * Nodes whose agents report an unhealthy GPU, with which: a replica with a pod there has failed
   * (a stale agent alone does not fail a running replica; it only keeps new ones away). Absent: none.
   */
  unhealthyGpuNodes?(): ReadonlyMap<string, string>;
  onChange(fn: () => void): () => void;
}

/** Which backend CRDs are installed, and their validators (crd-presence.ts in the coordinator). */
export interface BackendPresence {
  installed(backend: FleetBackend): boolean;
  /** CRD-schema problems of an object; undefined when the schema is not known. */
  validator(backend: FleetBackend): ((obj: unknown) => string[]) | undefined;
  onChange(fn: (backend: FleetBackend) => void): () => void;
}

export interface ReplicaHealthInput {
  readonly backend: FleetBackend;
  readonly spec: ModelFleetSpec;
  readonly pods: readonly FleetPod[];
  readonly serving: FleetPod | undefined;
  readonly groupSize: number;
  /** Nodes whose agents report an unhealthy GPU (node → which GPUs and why). */
  readonly unhealthyGpuNodes: ReadonlyMap<string, string>;
}

/** Replica health (health.ts behind it in the coordinator; tests may script it). */
export type ReplicaHealthFn = (input: ReplicaHealthInput) => Promise<ReplicaAssessment>;

export interface EventSink {
  (fleet: ModelFleet, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface FleetControllerOptions {
  readonly kube: KubeClient;
  /** The leadership term: aborted, nothing is written any more (checked before every write). */
  readonly signal?: AbortSignal;
  /** Leadership by the clock (the Lease's renew deadline), also checked before every write. */
  readonly isLeader?: () => boolean;
  readonly namespace: string;
  readonly log: Logger;
  readonly nodes: FleetNodeSource;
  readonly backends: BackendPresence;
  readonly health: ReplicaHealthFn;
  readonly events?: EventSink;
  readonly metrics?: OrchestratorMetrics;
  /** Every fleet is queued this often even without events. Default 60 s. */
  readonly resyncMs?: number;
  /** A fleet with replicas is looked at (and its replicas probed) this often. Default 10 s. */
  readonly probeIntervalMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Informer tuning (tests shorten the backoff). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly minWatchMs?: number;
  /** Queue retry after an error (default 200 ms doubling to 30 s). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

/** A fleet as GET /v1/orchestrator/fleets shows it. */
export interface FleetView {
  readonly namespace: string;
  readonly name: string;
  readonly backend: FleetBackend;
  readonly generation?: number;
  readonly status: ModelFleetStatus;
  readonly reconciledAt?: string;
}

/** The Invalid condition's reason for fleetProblems' lines (each names its field first). */
export function invalidReason(problems: readonly string[]): string {
  if (problems.some((p) => p.startsWith('spec.tensorParallelSize × spec.pipelineParallelSize'))) return 'BadParallelism';
  if (problems.some((p) => p.startsWith('spec.gpusPerNode') && p.includes('more than any reporting node'))) return 'TooManyGpusPerNode';
  return 'InvalidSpec';
}

export class FleetController implements Disposable {
  readonly name = 'orchestrator fleet controller';
  private readonly fleets: Informer<ModelFleet>;
  private readonly pods: Informer<FleetPod>;
  private readonly backendInformers = new Map<FleetBackend, Informer<BackendObject>>();
  private readonly queue: WorkQueue;
  private readonly memory = new Map<string, FleetMemory>();
  private readonly views = new Map<string, FleetView>();
  private readonly invalidEvents = new Map<string, string>();
  private readonly loggedMissing = new Set<FleetBackend>();
  private readonly off: (() => void)[] = [];
  private readonly abort = new AbortController();
  private resync: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly o: FleetControllerOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.log = o.log;
    const tuning = { namespace: o.namespace, start: false, ...(o.backoff !== undefined && { backoff: o.backoff }), ...(o.minWatchMs !== undefined && { minWatchMs: o.minWatchMs }) };
    this.fleets = o.kube.informer<ModelFleet>(FLEET_REF, tuning);
    this.pods = o.kube.informer<FleetPod>(PODS_REF, { ...tuning, labelSelector: LABEL_FLEET });
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      ...(o.retryMs !== undefined && { retryMs: o.retryMs }),
      ...(o.maxRetryMs !== undefined && { maxRetryMs: o.maxRetryMs }),
      onError: (key, err, retryInMs) => {
        if (this.stopped) return;
        const conflict = err instanceof KubeError && err.code === 'BRX_ERR_KUBE_CONFLICT';
        this.log[conflict ? 'debug' : 'warn']({ err, fleet: key, retryInMs }, conflict ? 'fleet reconcile hit a conflict, retrying' : 'fleet reconcile failed, retrying');
      },
    });
    const enqueueFleet = (f: ModelFleet): void => this.queue.add(objectKey(f));
    const enqueueOwner = (obj: FleetPod): void => this.enqueueOwner(obj);
    this.off.push(
      this.fleets.on('add', enqueueFleet),
      this.fleets.on('update', (f, old) => {
        // Our own status writes come back as updates: only spec, labels or deletion matter.
        if (f.metadata?.generation !== old.metadata?.generation || f.metadata?.deletionTimestamp !== old.metadata?.deletionTimestamp) enqueueFleet(f);
      }),
      this.fleets.on('delete', (f) => {
        const key = objectKey(f);
        this.memory.delete(key);
        this.views.delete(key);
        this.invalidEvents.delete(key);
        this.queue.forget(key);
      }),
      this.pods.on('add', enqueueOwner),
      this.pods.on('update', enqueueOwner),
      this.pods.on('delete', enqueueOwner),
      this.fleets.on('error', (err) => this.log.debug({ err }, 'fleet informer error, retrying')),
      this.pods.on('error', (err) => this.log.debug({ err }, 'pod informer error, retrying')),
      o.nodes.onChange(() => this.enqueueAll()),
      o.backends.onChange((backend) => {
        if (o.backends.installed(backend)) this.watchBackend(backend);
        this.enqueueAll();
      }),
    );
  }

  /** Starts the informers; fleets are reconciled once the caches hold a full list. */
  async start(): Promise<void> {
    this.fleets.start();
    this.pods.start();
    for (const backend of ['ray', 'lws'] as const) {
      if (this.o.backends.installed(backend)) this.watchBackend(backend);
    }
    await Promise.all([this.fleets.whenSynced(), this.pods.whenSynced(), ...[...this.backendInformers.values()].map((i) => i.whenSynced())]);
    if (this.abort.signal.aborted) return;
    this.resync = setInterval(() => this.enqueueAll(), this.o.resyncMs ?? 60_000);
    this.resync.unref();
    this.o.metrics?.observe({
      fleets: () => this.fleets.list().length,
      replicaStates: () => this.replicaStates(),
      isLeader: () => !this.stopped,
    });
    this.enqueueAll();
    this.log.info({ namespace: this.o.namespace, fleets: this.fleets.list().length }, 'orchestrator reconciling ModelFleets');
  }

  /** The fleets as last reconciled (status as written). */
  fleetViews(): FleetView[] {
    return [...this.views.values()].sort((a, b) => (a.namespace + a.name < b.namespace + b.name ? -1 : 1));
  }

  /** Resolves when no fleet is queued or being reconciled (tests). */
  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  async dispose(): Promise<void> {
    this.abort.abort();
    clearInterval(this.resync);
    for (const f of this.off.splice(0)) f();
    await this.queue.dispose();
    await Promise.all([this.fleets.dispose(), this.pods.dispose(), ...[...this.backendInformers.values()].map((i) => i.dispose())]);
  }

  private watchBackend(backend: FleetBackend): void {
    if (this.backendInformers.has(backend) || this.abort.signal.aborted) return;
    const informer = this.o.kube.informer<BackendObject>(BACKEND_REFS[backend], {
      namespace: this.o.namespace,
      labelSelector: LABEL_FLEET,
      ...(this.o.backoff !== undefined && { backoff: this.o.backoff }),
      ...(this.o.minWatchMs !== undefined && { minWatchMs: this.o.minWatchMs }),
    });
    const enqueue = (obj: BackendObject): void => this.enqueueOwner(obj);
    this.off.push(
      informer.on('add', enqueue),
      informer.on('update', enqueue),
      informer.on('delete', enqueue),
      informer.on('error', (err) => this.log.debug({ err, backend }, 'backend informer error, retrying')),
    );
    this.backendInformers.set(backend, informer);
    if (this.loggedMissing.delete(backend)) this.log.info({ crd: BACKEND_CRDS[backend] }, `${BACKEND_CRDS[backend]} is installed now: fleets with backend ${backend} reconcile`);
  }

  /** Queues the fleet an object belongs to (its brixlet.io/fleet label). */
  private enqueueOwner(obj: { metadata?: { namespace?: string; labels?: Record<string, string> } }): void {
    const fleet = obj.metadata?.labels?.[LABEL_FLEET];
    if (fleet !== undefined) this.queue.add(`${obj.metadata?.namespace ?? this.o.namespace}/${fleet}`);
  }

  private enqueueAll(): void {
    for (const f of this.fleets.list()) this.queue.add(objectKey(f));
  }

  private replicaStates(): Record<'ready' | 'not-ready' | 'failed', number> {
    const out = { ready: 0, 'not-ready': 0, failed: 0 };
    for (const v of this.views.values()) {
      const failedNames = new Set((v.status.conditions ?? []).some((c) => c.type === 'ReplicaFailure' && c.status === 'True') ? (this.memory.get(`${v.namespace}/${v.name}`)?.gaveUp ?? []) : []);
      for (const r of v.status.replicaStatuses ?? []) {
        if (failedNames.has(r.name)) out.failed++;
        else if (r.ready) out.ready++;
        else out['not-ready']++;
      }
    }
    return out;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted || this.o.signal?.aborted === true || this.o.isLeader?.() === false;
  }

  private checkLeader(): void {
    if (this.stopped) throw new KubeError('BRX_ERR_KUBE_API', 'not the orchestrator leader any more: write dropped');
  }

  private async reconcile(key: string): Promise<void> {
    const started = performance.now();
    let result: 'ok' | 'error' | 'invalid' | 'conflict' | 'skipped' = 'ok';
    try {
      result = await this.reconcileFleet(key);
    } catch (err) {
      result = err instanceof KubeError && err.code === 'BRX_ERR_KUBE_CONFLICT' ? 'conflict' : 'error';
      throw err;
    } finally {
      this.o.metrics?.reconciled(result, (performance.now() - started) / 1000);
    }
  }

  private async reconcileFleet(key: string): Promise<'ok' | 'invalid' | 'skipped'> {
    if (this.stopped) return 'skipped';
    const fleet = this.fleets.get(key);
    const meta = fleet?.metadata;
    if (fleet === undefined || meta?.name === undefined || meta.deletionTimestamp !== undefined) return 'skipped';
    const named = { ...fleet, metadata: { ...meta, name: meta.name, namespace: meta.namespace ?? this.o.namespace, uid: meta.uid ?? '' } };
    const nowMs = this.now();
    const nowIso = new Date(nowMs).toISOString();
    const backend: FleetBackend = fleet.spec?.backend === 'lws' ? 'lws' : 'ray';

    const maxGpusPerNode = this.o.nodes.maxGpusPerNode();
    // Items of a list may come without apiVersion and kind; the validation checks them.
    const problems = fleetProblems({ ...fleet, apiVersion: FLEET_API_VERSION, kind: FLEET_KIND }, { ...(maxGpusPerNode !== undefined && { maxGpusPerNode }) });
    if (problems.length > 0) {
      const reason = invalidReason(problems);
      const message = problems.join('; ');
      const mark = `${meta.generation ?? 0}:${message}`;
      if (this.invalidEvents.get(key) !== mark) {
        this.invalidEvents.set(key, mark);
        this.event(named, 'Warning', reason, message);
      }
      const status = { ...(meta.generation !== undefined && { observedGeneration: meta.generation }), selector: servingSelector(meta.name) };
      await this.writeStatus(named, backend, status, [{ type: 'Invalid', status: 'True', reason, message }], nowIso);
      return 'invalid';
    }
    this.invalidEvents.delete(key);
    const spec = fleetDefaults(fleet.spec);
    const revision = templateRevision(spec);
    const informer = this.backendInformers.get(backend);
    if (!this.o.backends.installed(backend) || informer === undefined) {
      if (!this.loggedMissing.has(backend)) {
        this.loggedMissing.add(backend);
        this.log.warn({ crd: BACKEND_CRDS[backend] }, BACKEND_HINTS[backend]);
      }
      const s = fleetStatus({ fleet: meta.name, generation: meta.generation, desired: spec.replicas, revision, replicas: [], failed: [], paused: spec.rollout.paused, unavailable: 0, problem: { type: 'ReplicaFailure', status: 'True', reason: 'BackendNotInstalled', message: BACKEND_HINTS[backend] } });
      await this.writeStatus(named, backend, s.status, s.conditions, nowIso);
      return 'skipped';
    }
    // Not listed yet (just installed, or the list fails): look again soon rather than hold a worker.
    if (!informer.synced) {
      this.queue.addAfter(key, 500);
      return 'skipped';
    }

    const memory = this.memory.get(key) ?? newFleetMemory();
    this.memory.set(key, memory);
    const mine = (o: { metadata?: { namespace?: string; labels?: Record<string, string> } }): boolean =>
      (o.metadata?.namespace ?? this.o.namespace) === named.metadata.namespace && o.metadata?.labels?.[LABEL_FLEET] === meta.name;
    const avoidNodes = this.o.nodes.avoidNodes().sort();
    const unhealthyGpuNodes = this.o.nodes.unhealthyGpuNodes?.() ?? new Map<string, string>();
    const validator = this.o.backends.validator(backend);
    const ctx: BackendContext = {
      fleet: named,
      spec,
      revision,
      nowMs,
      avoidNodes,
      objects: informer.list().filter(mine),
      pods: this.pods.list().filter(mine),
      memory,
      writes: this.writes(named, backend),
      validate: (obj) => validator?.(obj) ?? [],
      assess: (pods, serving, groupSize) => this.o.health({ backend, spec, pods, serving, groupSize, unhealthyGpuNodes }),
      suffix: () => randomSuffix(this.random),
    };
    const r = backend === 'ray' ? await syncRay(ctx) : await syncLws(ctx);
    const s = fleetStatus({
      fleet: meta.name,
      generation: meta.generation,
      desired: spec.replicas,
      revision,
      replicas: r.replicas,
      failed: r.failed,
      paused: spec.rollout.paused,
      unavailable: r.unavailable,
      ...(r.waiting !== undefined && { waiting: r.waiting }),
      ...(r.problem !== undefined && { problem: r.problem }),
    });
    await this.writeStatus(named, backend, s.status, s.conditions, nowIso);
    const probeMs = this.o.probeIntervalMs ?? 10_000;
    if (r.requeueAtMs !== undefined) this.queue.addAfter(key, Math.max(1, r.requeueAtMs - nowMs));
    if (r.replicas.length > 0) this.queue.addAfter(key, probeMs);
    return 'ok';
  }

  private writes(fleet: ModelFleet & { metadata: { name: string; namespace: string } }, backend: FleetBackend): FleetWrites {
    const api = this.o.kube.customObjects<BackendObject>(BACKEND_REFS[backend]);
    const ns = fleet.metadata.namespace;
    const count = this.o.metrics;
    return {
      create: async (obj) => {
        this.checkLeader();
        count?.action('create');
        this.log.info({ fleet: `${ns}/${fleet.metadata.name}`, object: obj.metadata?.name, backend }, 'creating backend object');
        return api.create(obj, ns);
      },
      replace: async (obj) => {
        this.checkLeader();
        count?.action('replace');
        return api.replace(obj as BackendObject & { metadata: { name: string } }, ns);
      },
      delete: async (name) => {
        this.checkLeader();
        count?.action('delete');
        this.log.info({ fleet: `${ns}/${fleet.metadata.name}`, object: name, backend }, 'deleting backend object');
        return api.delete(name, { namespace: ns, ignoreNotFound: true });
      },
      event: (type, reason, message) => {
        if (reason === 'ReplicaRepair') count?.action('repair');
        if (reason === 'RestartBudgetExhausted') count?.action('give-up');
        this.event(fleet, type, reason, message);
      },
    };
  }

  private event(fleet: ModelFleet, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.stopped) return;
    this.log[type === 'Warning' ? 'warn' : 'info']({ fleet: objectKey(fleet), reason }, message);
    this.o.events?.(fleet, type, reason, message);
  }

  private async writeStatus(
    fleet: ModelFleet & { metadata: { name: string; namespace: string } },
    backend: FleetBackend,
    status: Omit<ModelFleetStatus, 'conditions'>,
    conditions: ConditionInput[],
    nowIso: string,
  ): Promise<void> {
    const stored = fleet.status;
    const next: ModelFleetStatus = { ...status, conditions: mergeConditions(stored?.conditions, conditions, nowIso) };
    const key = objectKey(fleet);
    this.views.set(key, { namespace: fleet.metadata.namespace, name: fleet.metadata.name, backend, ...(fleet.metadata.generation !== undefined && { generation: fleet.metadata.generation }), status: next, reconciledAt: nowIso });
    if (!statusDiffers(stored, next)) return;
    this.checkLeader();
    this.o.metrics?.action('status');
    // Merge patch: keys we no longer set (replicaStatuses of an invalid fleet) are removed with null.
    const patch: Record<string, unknown> = { ...next };
    for (const k of Object.keys(stored ?? {})) if (!(k in next)) patch[k] = null;
    const api = this.o.kube.customObjects<ModelFleet>(FLEET_REF);
    await api.patchStatus(fleet.metadata.name, patch, fleet.metadata.namespace);
  }
}

/** Replica statuses a view shows, for `fleet status` and the route. */
export type { FleetReplicaStatus };
