/**
 * The reconciler's replica health: health.ts's verdict from the pods, plus probes of the serving
 * pod once every pod is ready — the head's Ray dashboard (`http://<head IP>:8265`, ray backend) and
 * the engine's `/health` (`http://<pod IP>:<port>`) — cached per serving pod for the probe interval,
 * so a reconcile reuses recent answers and each replica is probed at most once per interval. It
 * remembers which replicas have been ready, so a pod or Ray node lost after that counts as a
 * failure rather than start-up.
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { FleetPod, ReplicaAssessment } from './backend.js';
import { podReady } from './backend.js';
import { type ReplicaProber, type ReplicaProbeResult, type ReplicaProbeTarget, replicaHealth, type ReplicaPod } from './health.js';
import type { ReplicaHealthFn, ReplicaHealthInput } from './reconciler.js';

export const RAY_DASHBOARD_PORT = 8265;

export interface FleetHealthOptions {
  readonly prober: Pick<ReplicaProber, 'probe'>;
  readonly probeIntervalMs: number;
  readonly now?: () => number;
  /** Where to probe a serving pod (tests point it at fakes); default its IP, :8265 and the fleet's port. */
  readonly target?: (serving: FleetPod, input: ReplicaHealthInput) => ReplicaProbeTarget | undefined;
}

export function defaultProbeTarget(serving: FleetPod, input: ReplicaHealthInput): ReplicaProbeTarget | undefined {
  const ip = serving.status?.podIP;
  if (ip === undefined || ip === '') return undefined;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return { engineUrl: `http://${host}:${input.spec.port}`, ...(input.backend === 'ray' && { dashboardUrl: `http://${host}:${RAY_DASHBOARD_PORT}` }) };
}

export function createFleetHealth(o: FleetHealthOptions): { health: ReplicaHealthFn } & Disposable {
  const now = o.now ?? Date.now;
  const cache = new Map<string, { at: number; result: Promise<ReplicaProbeResult> }>();
  const started = new Map<string, number>();
  let sweptAt = now();

  const sweep = (t: number): void => {
    if (t - sweptAt < o.probeIntervalMs * 10) return;
    sweptAt = t;
    const old = t - o.probeIntervalMs * 10;
    for (const [k, v] of cache) if (v.at < old) cache.delete(k);
    for (const [k, at] of started) if (at < old) started.delete(k);
  };

  const health: ReplicaHealthFn = async (input): Promise<ReplicaAssessment> => {
    const t = now();
    sweep(t);
    const { serving } = input;
    const key = serving?.metadata?.uid ?? '';
    const allReady = input.pods.length >= input.groupSize && input.pods.every(podReady);
    let probe: ReplicaProbeResult | undefined;
    if (allReady && serving !== undefined && key !== '') {
      const target = (o.target ?? defaultProbeTarget)(serving, input);
      if (target !== undefined) {
        let hit = cache.get(key);
        if (hit === undefined || t - hit.at >= o.probeIntervalMs) {
          hit = { at: t, result: o.prober.probe(target) };
          cache.set(key, hit);
        }
        probe = await hit.result;
      }
    }
    const verdict = replicaHealth({
      pods: input.pods as readonly ReplicaPod[],
      expectedPods: input.groupSize,
      backend: input.backend,
      started: key !== '' && started.has(key),
      requiredGpus: input.spec.tensorParallelSize * input.spec.pipelineParallelSize,
      unhealthyGpuNodes: input.unhealthyGpuNodes,
      ...(probe?.ray !== undefined && { ray: probe.ray }),
      ...(probe !== undefined && { engine: probe.engine }),
    });
    // Refreshed on every assessment, ready or not: only replicas no longer assessed are swept, so a
    // broken replica that stays unrepaired (restart budget spent) keeps counting as failed.
    if (key !== '' && (verdict.ready || started.has(key))) started.set(key, t);
    return verdict;
  };

  return {
    name: 'fleet replica health',
    health,
    dispose() {
      cache.clear();
      started.clear();
    },
  };
}
