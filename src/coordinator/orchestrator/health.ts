/**
 * Replica health: whether a multi-node replica serves (ready), whether it is broken and needs a
 * repair (failed), or neither (still starting), with one short line per failing check for
 * `brixlet fleet status` and the fleet's status.
 *
 * ready  = every pod ready ∧ (ray: the GCS is healthy and sees exactly the group's nodes, with the
 *          GPUs TP × PP needs) ∧ the serving pod's engine answers /health ∧ no pod on a node whose
 *          agent reports an unhealthy GPU.
 * failed = a pod that cannot come back by itself: phase Failed or Succeeded, a container that
 *          exited with an error, a crash loop past the restart limit, a pod on an unhealthy-GPU node;
 *          and, once the replica has been up, a pod gone or being deleted, or Ray losing a node or
 *          GPUs behind pods that look fine (a vLLM TP/PP group cannot lose a rank).
 *
 * `replicaHealth` is pure; `probeReplica` / `createReplicaProber` make the HTTP calls it needs.
 */
import { Agent } from 'undici';
import { isBrixletError } from '../../common/errors.js';
import type { Disposable } from '../../common/lifecycle.js';
import type { KubeObject } from '../../kube/types.js';
import { createProbeHttp } from '../engines/probe-http.js';
import { createRayDashboardClient, type RayDashboardClient } from './ray-dashboard.js';
import type { FleetBackend } from './types.js';

export interface ContainerStateView {
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly running?: { readonly startedAt?: string };
  readonly terminated?: { readonly exitCode: number; readonly reason?: string; readonly signal?: number };
}

export interface ContainerStatusView {
  readonly name: string;
  readonly ready?: boolean;
  readonly restartCount?: number;
  readonly state?: ContainerStateView;
  readonly lastState?: ContainerStateView;
}

/** The parts of a Pod that health reads (a Pod from the informer fits as it is). */
export interface ReplicaPod extends KubeObject {
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: readonly { readonly type: string; readonly status: string; readonly reason?: string }[];
    containerStatuses?: readonly ContainerStatusView[];
    initContainerStatuses?: readonly ContainerStatusView[];
  };
}

export interface RayProbe {
  /** The dashboard answered at all. */
  readonly reachable: boolean;
  readonly gcsHealthy?: boolean;
  readonly aliveNodes?: number;
  readonly gpusTotal?: number;
  /** The first problem met (unreachable, bad answer), one line. */
  readonly error?: string;
}

export interface EngineProbe {
  readonly healthy: boolean;
  readonly error?: string;
}

export interface ReplicaHealthInput {
  readonly pods: readonly ReplicaPod[];
  /** Pods a whole replica has (nodesPerReplica). */
  readonly expectedPods: number;
  readonly backend: FleetBackend;
  /** The replica has been ready before: a missing pod or a lost Ray node is now a failure, not start-up. */
  readonly started?: boolean;
  /** `ray` backend: what the head's dashboard says (absent: not probed yet). */
  readonly ray?: RayProbe;
  /** TP × PP: the GPUs Ray must see for vLLM's placement group. */
  readonly requiredGpus?: number;
  /** The serving pod's GET /health (absent: not probed yet). */
  readonly engine?: EngineProbe;
  /** Nodes whose agents report an unhealthy GPU; a Map gives the detail (`GPU 2 (GPU-…): XID 79`). */
  readonly unhealthyGpuNodes?: ReadonlySet<string> | ReadonlyMap<string, string>;
  /** Restarts after which a crash loop counts as failed. Default 3. */
  readonly maxCrashLoopRestarts?: number;
}

export interface ReplicaHealth {
  readonly ready: boolean;
  readonly failed: boolean;
  readonly reasons: string[];
}

/** Waiting reasons that mean the container will not start without a change (image, config). */
const STUCK_WAITING = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);
const MAX_DETAILS = 3;

interface PodVerdict {
  readonly name: string;
  readonly ready: boolean;
  /** Why not ready or what broke, short. */
  readonly problem?: string;
  readonly failed: boolean;
}

export function replicaHealth(input: ReplicaHealthInput): ReplicaHealth {
  const maxRestarts = input.maxCrashLoopRestarts ?? 3;
  const started = input.started ?? false;
  const reasons: string[] = [];
  let failed = false;

  const verdicts = input.pods.map((pod) => podVerdict(pod, maxRestarts, started));
  const live = input.pods.filter((p) => !p.metadata?.deletionTimestamp);
  const readyCount = verdicts.filter((v) => v.ready).length;
  const missing = Math.max(0, input.expectedPods - live.length);
  const podsOk = missing === 0 && readyCount >= input.expectedPods && verdicts.every((v) => v.ready || v.problem === 'terminating');
  if (verdicts.some((v) => v.failed)) failed = true;
  if (missing > 0 && started) failed = true;
  if (!podsOk) {
    const details = verdicts.filter((v) => !v.ready && v.problem).map((v) => `${v.name}: ${v.problem}`);
    if (missing > 0) details.push(`${missing} missing`);
    const shown = details.length > MAX_DETAILS ? [...details.slice(0, MAX_DETAILS), `+${details.length - MAX_DETAILS} more`] : details;
    reasons.push(`pods ${readyCount}/${input.expectedPods} ready${shown.length > 0 ? ` (${shown.join('; ')})` : ''}`);
  }

  let rayOk = true;
  if (input.backend === 'ray') {
    const ray = input.ray;
    rayOk = false;
    if (ray === undefined) reasons.push('ray: not probed yet');
    else if (!ray.reachable) reasons.push(`ray dashboard unreachable${ray.error ? `: ${ray.error}` : ''}`);
    else {
      const gcsOk = ray.gcsHealthy === true;
      if (ray.gcsHealthy === false) reasons.push('ray GCS unhealthy');
      const nodesOk = ray.aliveNodes === input.expectedPods;
      if (ray.aliveNodes !== undefined && !nodesOk) {
        reasons.push(`ray sees ${ray.aliveNodes}/${input.expectedPods} nodes alive`);
        // Pods look fine but a raylet is gone: the engine lost a rank.
        if (started && podsOk && ray.aliveNodes < input.expectedPods) failed = true;
      }
      const gpusOk = input.requiredGpus === undefined || ray.gpusTotal === undefined || ray.gpusTotal >= input.requiredGpus;
      if (!gpusOk && nodesOk) {
        reasons.push(`ray sees ${ray.gpusTotal} GPUs, needs TP×PP = ${input.requiredGpus}`);
        if (started) failed = true;
      }
      if (ray.error && (ray.gcsHealthy === undefined || ray.aliveNodes === undefined)) reasons.push(`ray dashboard: ${ray.error}`);
      rayOk = gcsOk && nodesOk && gpusOk;
    }
  }

  const engineOk = input.engine?.healthy === true;
  if (input.engine === undefined) reasons.push('engine /health: not probed yet');
  else if (!input.engine.healthy) reasons.push(`engine /health: ${input.engine.error ?? 'unhealthy'}`);

  let gpuNodesOk = true;
  const bad = input.unhealthyGpuNodes;
  if (bad && bad.size > 0) {
    const seen = new Set<string>();
    for (const pod of live) {
      const node = pod.spec?.nodeName;
      if (!node || seen.has(node) || !bad.has(node)) continue;
      seen.add(node);
      const detail = bad instanceof Map ? (bad.get(node) as string | undefined) : undefined;
      reasons.push(`node ${node}: GPU unhealthy${detail ? ` (${detail})` : ''}`);
      gpuNodesOk = false;
      failed = true;
    }
  }

  return { ready: !failed && podsOk && rayOk && engineOk && gpuNodesOk, failed, reasons };
}

function podVerdict(pod: ReplicaPod, maxRestarts: number, started: boolean): PodVerdict {
  const name = pod.metadata?.name ?? '(unnamed)';
  const status = pod.status ?? {};
  const readyCond = status.conditions?.find((c) => c.type === 'Ready');
  const ready = readyCond?.status === 'True' && !pod.metadata?.deletionTimestamp;
  if (pod.metadata?.deletionTimestamp) return { name, ready: false, problem: 'terminating', failed: started };
  if (status.phase === 'Failed') return { name, ready: false, problem: `Failed${status.reason ? ` (${status.reason})` : ''}`, failed: true };
  if (status.phase === 'Succeeded') return { name, ready: false, problem: 'exited (Succeeded)', failed: true };

  for (const c of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    const restarts = c.restartCount ?? 0;
    const term = c.state?.terminated;
    if (term && term.exitCode !== 0) {
      return { name, ready: false, problem: `${c.name} exited ${term.exitCode}${term.reason ? ` (${term.reason})` : ''}`, failed: true };
    }
    const waiting = c.state?.waiting?.reason;
    if (waiting === 'CrashLoopBackOff') {
      const last = c.lastState?.terminated;
      const why = last ? `, last exit ${last.exitCode}${last.reason ? ` ${last.reason}` : ''}` : '';
      return { name, ready: false, problem: `CrashLoopBackOff, ${restarts} restart${restarts === 1 ? '' : 's'}${why}`, failed: restarts >= maxRestarts };
    }
    if (waiting && STUCK_WAITING.has(waiting)) return { name, ready: false, problem: waiting, failed: false };
    if (waiting && !ready) return { name, ready: false, problem: waiting, failed: false };
  }
  if (ready) return { name, ready: true, failed: false };
  if (status.phase === 'Pending' || status.phase === undefined) {
    const sched = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    return { name, ready: false, problem: sched?.reason ? `Pending (${sched.reason})` : 'Pending', failed: false };
  }
  return { name, ready: false, problem: 'not ready', failed: false };
}

// ---------------------------------------------------------------------------------------------
// Probing

export interface ReplicaProbeTarget {
  /** The head's dashboard (`ray` backend); absent for `lws`. */
  readonly dashboardUrl?: string;
  /** The serving pod's engine base URL (`http://10.0.0.5:8000`). */
  readonly engineUrl: string;
}

export interface ReplicaProbeResult {
  readonly ray?: RayProbe;
  readonly engine: EngineProbe;
}

export interface ReplicaProber extends Disposable {
  /** The dashboard and engine calls, concurrently, each within the time limit; never rejects. */
  probe(target: ReplicaProbeTarget): Promise<ReplicaProbeResult>;
}

export interface ReplicaProberOptions {
  readonly timeoutMs: number;
  /** Dashboard clients kept (one per head URL). Default 256. */
  readonly maxClusters?: number;
}

/** One keep-alive pool for every head and one for the engines, for the reconciler's periodic probes. */
export function createReplicaProber(opts: ReplicaProberOptions): ReplicaProber {
  const maxClusters = opts.maxClusters ?? 256;
  const pool = new Agent({
    connections: 2,
    connect: { timeout: opts.timeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
  });
  const engineHttp = createProbeHttp({ timeoutMs: opts.timeoutMs, maxBytes: 64 * 1024 });
  const clients = new Map<string, RayDashboardClient>();

  function client(url: string): RayDashboardClient {
    let c = clients.get(url);
    if (c) {
      // Most recently used last, so the oldest goes first when the map is full.
      clients.delete(url);
      clients.set(url, c);
      return c;
    }
    if (clients.size >= maxClusters) clients.delete(clients.keys().next().value!);
    c = createRayDashboardClient({ baseUrl: url, timeoutMs: opts.timeoutMs, dispatcher: pool });
    clients.set(url, c);
    return c;
  }

  async function probeEngine(engineUrl: string): Promise<EngineProbe> {
    try {
      const res = await engineHttp.get(`${engineUrl.replace(/\/+$/, '')}/health`, AbortSignal.timeout(opts.timeoutMs));
      return res.status === 200 ? { healthy: true } : { healthy: false, error: `HTTP ${res.status}` };
    } catch (err) {
      return { healthy: false, error: (err as Error).message };
    }
  }

  async function probeRay(url: string): Promise<RayProbe> {
    const ray = client(url);
    const [gcs, status] = await Promise.allSettled([ray.gcsHealthz(), ray.clusterStatus()]);
    const errors = [gcs, status].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    const unreachable = errors.filter((e) => isBrixletError(e, 'BRX_ERR_RAY_UNREACHABLE'));
    const first = errors[0];
    return {
      reachable: unreachable.length < 2,
      ...(gcs.status === 'fulfilled' ? { gcsHealthy: gcs.value } : {}),
      ...(status.status === 'fulfilled' ? { aliveNodes: status.value.aliveNodes, gpusTotal: status.value.gpusTotal } : {}),
      ...(first !== undefined ? { error: reasonOf(first) } : {}),
    };
  }

  return {
    name: 'replica prober',
    async probe(target) {
      const [ray, engine] = await Promise.all([target.dashboardUrl ? probeRay(target.dashboardUrl) : undefined, probeEngine(target.engineUrl)]);
      return ray ? { ray, engine } : { engine };
    },
    async dispose() {
      clients.clear();
      await Promise.all([pool.close().catch(() => undefined), engineHttp.dispose()]);
    },
  };
}

/** One probe with its own short-lived pools (tools, tests); the reconciler keeps a prober instead. */
export async function probeReplica(opts: ReplicaProbeTarget & { readonly timeoutMs: number }): Promise<ReplicaProbeResult> {
  const prober = createReplicaProber({ timeoutMs: opts.timeoutMs });
  try {
    return await prober.probe(opts);
  } finally {
    await prober.dispose();
  }
}

function reasonOf(err: unknown): string {
  if (isBrixletError(err)) {
    const reason = err.params['reason'];
    return typeof reason === 'string' ? reason : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
