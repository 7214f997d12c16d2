/**
 * Direct scaling: applies a plan's replica counts to Deployments through their scale subresource
 * (apps/v1 deployments/{name}/scale), for clusters with no AIBrix PodAutoscaler or KEDA reading
 * the optimizer's metrics. Per deployment: clamped to [min, max]; a scale-up waits out
 * `upCooldownMs` and a scale-down `downCooldownMs` since the last change this scaler made (or since
 * it started: a fresh coordinator has seen too little load to remove GPUs); no write when the
 * Deployment already has the count. A 409 (someone else scaled it between read and write) is read
 * again and retried once; 404 and other failures are counted and logged, never thrown: the planner
 * goes on and the next round tries again.
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import { type KubeError, toKubeError } from '../../kube/kube-error.js';
import type { KubeClient } from '../../kube/kube-client.js';

/** What the scaler needs of the API server: one Deployment's scale subresource. */
export interface ScaleApi {
  /** Current desired replicas and the resourceVersion they were read at. */
  read(namespace: string, name: string): Promise<{ readonly replicas: number; readonly resourceVersion?: string }>;
  /** Sets spec.replicas; with `resourceVersion`, only if the Deployment has not changed since. */
  write(namespace: string, name: string, replicas: number, resourceVersion?: string): Promise<void>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The scale subresource of apps/v1 Deployments through the Kubernetes client. */
export function kubeScaleApi(kube: KubeClient): ScaleApi {
  const api = kube.kubeConfig.makeApiClient(AppsV1Api);
  return {
    async read(namespace, name) {
      const s = await api.readNamespacedDeploymentScale({ namespace, name });
      return { replicas: s.spec?.replicas ?? 0, ...(s.metadata?.resourceVersion !== undefined && { resourceVersion: s.metadata.resourceVersion }) };
    },
    async write(namespace, name, replicas, resourceVersion) {
      const body = { ...(resourceVersion !== undefined && { metadata: { resourceVersion } }), spec: { replicas } };
      await api.patchNamespacedDeploymentScale({ namespace, name, body }, mergePatch);
    },
  };
}

/** Bounds of one Deployment. */
export interface ScaleBounds {
  readonly min?: number;
  readonly max?: number;
}

export interface ScalerOptions {
  readonly api: ScaleApi;
  readonly log: Logger;
  /** Per `namespace/name`. */
  readonly bounds?: Readonly<Record<string, ScaleBounds>>;
  /** Least time between a change and a scale-up of the same Deployment (default 0: at once). */
  readonly upCooldownMs?: number;
  /** Least time between a change (or the start) and a scale-down (default 5 minutes). */
  readonly downCooldownMs?: number;
  readonly now?: () => number;
  /** Every Deployment's result as it is known (metrics). */
  readonly onResult?: (r: ScaleResult) => void;
}

export type ScaleOutcome = 'scaled' | 'unchanged' | 'cooldown' | 'error';

export interface ScaleResult {
  readonly namespace: string;
  readonly name: string;
  readonly outcome: ScaleOutcome;
  /** What the plan asked, after the bounds. */
  readonly desired: number;
  /** The Deployment's replicas before (undefined when it could not be read). */
  readonly from?: number;
  /** When a held change may go ahead (ms), for `cooldown`. */
  readonly until?: number;
  /** The failure's catalog code, for `error`. */
  readonly code?: string;
  /** 409s read again and retried on the way to this result, when any. */
  readonly conflicts?: number;
}

export interface ScalerStats {
  readonly writes: number;
  readonly unchanged: number;
  readonly cooldowns: number;
  readonly errors: number;
  readonly conflicts: number;
}

export interface Scaler {
  /** Applies one plan (namespace, name → replicas); resolves with one result per Deployment, never rejects. */
  apply(plan: readonly { readonly namespace: string; readonly name: string; readonly replicas: number }[]): Promise<ScaleResult[]>;
  stats(): ScalerStats;
}

const DEFAULT_DOWN_COOLDOWN_MS = 5 * 60_000;

export function createScaler(opts: ScalerOptions): Scaler {
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ component: 'optimizer-scaler' });
  const upMs = opts.upCooldownMs ?? 0;
  const downMs = opts.downCooldownMs ?? DEFAULT_DOWN_COOLDOWN_MS;
  const started = now();
  const lastChange = new Map<string, number>();
  /** Deployments whose last attempt failed with this code: logged once per streak at warn. */
  const failing = new Map<string, string>();
  const counts = { writes: 0, unchanged: 0, cooldowns: 0, errors: 0, conflicts: 0 };
  let chain: Promise<unknown> = Promise.resolve();

  function clamp(key: string, replicas: number): number {
    const b = opts.bounds?.[key];
    let n = Math.max(0, Math.round(replicas));
    if (b?.min !== undefined) n = Math.max(n, b.min);
    if (b?.max !== undefined) n = Math.min(n, b.max);
    return n;
  }

  async function one(namespace: string, name: string, asked: number): Promise<ScaleResult> {
    const key = `${namespace}/${name}`;
    const desired = clamp(key, asked);
    let from: number | undefined;
    let conflicts = 0;
    const retried = () => (conflicts > 0 ? { conflicts } : {});
    try {
      for (let attempt = 1; ; attempt++) {
        const cur = await opts.api.read(namespace, name);
        from = cur.replicas;
        if (desired === cur.replicas) {
          counts.unchanged++;
          recovered(key);
          return { namespace, name, outcome: 'unchanged', desired, from, ...retried() };
        }
        const since = lastChange.get(key) ?? (desired < cur.replicas ? started : undefined);
        const wait = desired > cur.replicas ? upMs : downMs;
        const t = now();
        if (since !== undefined && t - since < wait) {
          counts.cooldowns++;
          recovered(key);
          return { namespace, name, outcome: 'cooldown', desired, from, until: since + wait, ...retried() };
        }
        try {
          await opts.api.write(namespace, name, desired, cur.resourceVersion);
        } catch (err) {
          const kerr = toKubeError(err, `scale deployment ${key}`);
          if (kerr.code === 'BRX_ERR_KUBE_CONFLICT' && attempt < 2) {
            counts.conflicts++;
            conflicts++;
            log.debug({ deployment: key }, 'deployment scaled by someone else meanwhile; reading it again');
            continue;
          }
          throw kerr;
        }
        lastChange.set(key, t);
        counts.writes++;
        recovered(key);
        log.info({ deployment: key, from: cur.replicas, to: desired, ...(asked !== desired && { asked }) }, desired > cur.replicas ? 'deployment scaled up' : 'deployment scaled down');
        return { namespace, name, outcome: 'scaled', desired, from, ...retried() };
      }
    } catch (err) {
      const kerr: KubeError = toKubeError(err, `scale deployment ${key}`);
      counts.errors++;
      const fields = { deployment: key, code: kerr.code, err: kerr.message, desired };
      const hint = kerr.code === 'BRX_ERR_KUBE_NOT_FOUND' ? 'no such Deployment: check --optimizer.deployments' : kerr.code === 'BRX_ERR_KUBE_UNAUTHORIZED' ? 'the coordinator may not patch deployments/scale: check its RBAC' : 'will retry on the next plan';
      if (failing.get(key) !== kerr.code) log.warn({ ...fields, hint }, 'scaling the deployment failed');
      else log.debug(fields, 'scaling the deployment failed again');
      failing.set(key, kerr.code);
      return { namespace, name, outcome: 'error', desired, ...(from !== undefined && { from }), code: kerr.code, ...retried() };
    }
  }

  function recovered(key: string): void {
    if (failing.delete(key)) log.info({ deployment: key }, 'scaling the deployment works again');
  }

  return {
    apply(plan) {
      // One plan at a time, in order: a slow API server never sees two writers of ours race.
      const run = chain.then(async () => {
        const out: ScaleResult[] = [];
        for (const p of plan) {
          const r = await one(p.namespace, p.name, p.replicas);
          opts.onResult?.(r);
          out.push(r);
        }
        return out;
      });
      chain = run.catch(() => undefined);
      return run;
    },
    stats: () => ({ ...counts }),
  };
}

/** `[NS/]NAME=MIN:MAX` entries (either side may be empty), comma-separated; throws a message naming the entry. */
export function parseScaleBounds(text: string, namespace: string): Record<string, ScaleBounds> {
  const out: Record<string, ScaleBounds> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^(?:([a-z0-9][-a-z0-9.]*)\/)?([a-z0-9][-a-z0-9.]*)=(\d{0,6}):(\d{0,6})$/.exec(entry);
    if (m === null) throw new Error(`'${entry}' is not [NAMESPACE/]NAME=MIN:MAX (e.g. llama-a10=1:8; either side may be empty)`);
    const [, ns = namespace, name = '', min = '', max = ''] = m;
    const key = `${ns}/${name}`;
    if (key in out) throw new Error(`${key} is given twice`);
    if (min !== '' && max !== '' && Number(min) > Number(max)) throw new Error(`'${entry}': MIN is above MAX`);
    out[key] = { ...(min !== '' && { min: Number(min) }), ...(max !== '' && { max: Number(max) }) };
  }
  return out;
}

/** What the direct scaler reads of the planner: the deployments and the replicas in force. */
export interface PlanSource {
  deployments(): readonly { readonly namespace: string; readonly name: string; readonly replicas?: number; readonly unplanned?: string }[];
}

export interface ScaleLoop {
  /** Applies the plan in force now (the loop calls it every interval); resolves when done. */
  runOnce(): Promise<ScaleResult[]>;
  dispose(): void;
}

/**
 * Applies the planner's counts in force every `intervalMs`: deployments the plan leaves alone (no
 * profile, no count yet) are not touched. Polling rather than a hook: a write that failed is tried
 * again on the next round even when the plan did not change.
 */
export function startScaleLoop(source: PlanSource, scaler: Scaler, intervalMs: number): ScaleLoop {
  let running: Promise<ScaleResult[]> | undefined;
  const runOnce = (): Promise<ScaleResult[]> => {
    running ??= scaler
      .apply(source.deployments().flatMap((d) => (d.replicas === undefined || d.unplanned !== undefined ? [] : [{ namespace: d.namespace, name: d.name, replicas: d.replicas }])))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void runOnce(), intervalMs);
  timer.unref();
  return { runOnce, dispose: () => clearInterval(timer) };
}
