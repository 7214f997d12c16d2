/**
 * Builds the GPU optimizer from the `optimizer.*` settings for the coordinator: profile files,
 * deployments, caps and minimums parsed (every setting error before anything starts), the planner
 * on HiGHS, availability from the agents' reports, and its metrics. Returns undefined when the
 * optimizer is off (auto with no profile files).
 */
import { readFile } from 'node:fs/promises';
import type { DeepReadonly } from '../../common/config/load-config.js';
import type { Config } from '../../common/config/schema.js';
import { BrixletError, isBrixletError } from '../../common/errors.js';
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import type { AppMetrics } from '../../common/metrics.js';
import type { KubeClient } from '../../kube/kube-client.js';
import type { Registry } from '../registry/registry.js';
import { type OptimizerDeployment, parseDeployments, parseTypeCounts, reportedGpus } from './deployments.js';
import type { DecayedLoadMonitor } from './load-monitor.js';
import { createOptimizerMetrics, type OptimizerMetrics } from './metrics.js';
import { type PlanWatch, watchPlans } from './plan-log.js';
import { Planner, type PlannerSettings, type ProfileEntry, type SolveFn } from './planner.js';
import { PROFILE_MAX_BYTES, parseProfile } from './profiles.js';
import { registerRouteSplitMetrics, RouteSplit } from './route-split.js';
import { solvePlan } from './solver.js';

export interface OptimizerSetup {
  readonly config: DeepReadonly<Config['optimizer']>;
  /** Namespace of deployments made from profiles (kube.namespace, else default). */
  readonly namespace: string;
  readonly monitor: DecayedLoadMonitor;
  readonly registry?: Registry;
  readonly metrics: AppMetrics;
  readonly log: Logger;
  /** Replaces HiGHS (tests). */
  readonly solve?: SolveFn;
  readonly now?: () => number;
  /** For --optimizer.scale (direct scaling through deployments/scale). */
  readonly kube?: KubeClient;
}

const bad = (reason: string) => new BrixletError('BRX_ERR_OPTIMIZER_CONFIG', { reason });

/** The planner's settings from `optimizer.*` (throws BRX_ERR_OPTIMIZER_CONFIG naming the flag). */
export function plannerSettings(o: DeepReadonly<Config['optimizer']>, namespace: string): PlannerSettings {
  return {
    model: o.model,
    intervalMs: o.interval,
    scaleDownWindowMs: o.scaleDownWindow,
    timeLimitMs: o.timeLimit,
    headroom: o.headroom / 100,
    ...(o.totalMax > 0 && { totalMax: o.totalMax }),
    switchingCostPercent: o.switchingCost,
    addCostPercent: o.addCost,
    planGatePercent: o.planGate,
    forecastLeadMs: o.forecastLead,
    available: parseTypeCounts(o.available, '--optimizer.available'),
    minimums: parseTypeCounts(o.min, '--optimizer.min'),
    namespace,
    // Deployments come from the Kubernetes API: none are made up from the profiles meanwhile.
    ...(o.deploymentSelector !== '' && { deploymentsFromProfiles: false }),
  };
}

/** `[MODEL=]PATH` entries read and parsed, grouped by model. */
export async function loadProfileFiles(list: string, log: Logger): Promise<Map<string, ProfileEntry[]>> {
  const out = new Map<string, ProfileEntry[]>();
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const prefix = eq > 0 ? item.slice(0, eq) : undefined;
    const path = eq > 0 ? item.slice(eq + 1) : item;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw bad(`--optimizer.profiles: cannot read ${path}: ${(err as Error).message}`);
    }
    if (Buffer.byteLength(text) > PROFILE_MAX_BYTES) throw bad(`--optimizer.profiles: ${path} is larger than ${PROFILE_MAX_BYTES} bytes`);
    const { profile, warnings } = parseProfile(text, path);
    const model = prefix ?? profile.model;
    if (model === undefined) throw bad(`--optimizer.profiles: ${path} names no model: write MODEL=${path}, or add a model field to the profile`);
    for (const w of warnings) log.warn({ profile: path }, w);
    out.set(model, [...(out.get(model) ?? []), { profile: { ...profile, model }, warnings, source: path }]);
  }
  return out;
}

export interface RunningOptimizer extends Disposable {
  readonly planner: Planner;
  /** The router's filter stage following the plan's split (--optimizer.route-split), when on. */
  readonly split?: RouteSplit;
}

export async function setupOptimizer(s: OptimizerSetup): Promise<RunningOptimizer | undefined> {
  const o = s.config;
  if (o.enabled === 'off' || (o.enabled === 'auto' && o.profiles.trim() === '')) return undefined;
  const settings = plannerSettings(o, s.namespace);
  const deployments = parseDeployments(o.deployments, s.namespace);
  const files = await loadProfileFiles(o.profiles, s.log);
  const metrics = createOptimizerMetrics(s.metrics);
  const { registry } = s;
  const reported = registry === undefined
    ? undefined
    : () => reportedGpus(registry.listNodes().flatMap((n) => {
        const report = registry.getReport(n.name);
        return report === undefined ? [] : [{ report, stale: n.state === 'stale' }];
      }));
  // Set once the planner runs: each solve asks it to log the plan that solve made.
  const plans: { log?: PlanWatch } = {};
  const planner = new Planner({
    settings,
    load: s.monitor,
    solve: s.solve ?? solvePlan,
    ...(s.now !== undefined && { now: s.now }),
    ...(reported !== undefined && { reportedGpus: reported }),
    log: s.log,
    onSolve: (status, ms, model) => {
      metrics.solved(status, ms, model);
      plans.log?.soon();
    },
    onCancel: (reason) => metrics.cancelled(reason),
    onGate: (model, result) => metrics.gated(model, result),
  });
  try {
    for (const [model, entries] of files) planner.setProfiles(model, entries, true);
  } catch (err) {
    if (isBrixletError(err)) throw err;
    throw bad((err as Error).message);
  }
  if (deployments.length > 0) planner.setDeployments(deployments);
  const discovery = o.deploymentSelector === '' ? undefined : await followDeployments(s, planner, deployments);
  metrics.observe(planner, s.monitor);
  let unsubscribe = (): void => {};
  if (registry !== undefined && reported !== undefined) {
    let last = JSON.stringify([...reported()]);
    unsubscribe = registry.onChange(() => {
      const now = JSON.stringify([...reported()]);
      if (now !== last) {
        last = now;
        planner.markDirty('availability');
      }
    });
  }
  s.log.info(
    { models: [...files.keys()], deployments: planner.deployments().map((d) => `${d.namespace}/${d.name}`), model: settings.model, intervalMs: settings.intervalMs, available: o.available || undefined, routeSplit: o.routeSplit },
    'GPU optimizer planning',
  );
  planner.start();
  plans.log = watchPlans(planner, s.log);
  const scaling = o.scale ? await startDirectScaling(s, planner, metrics) : undefined;
  const split = o.routeSplit ? new RouteSplit({ plans: planner, meanOutput: (model) => s.monitor.meanOutput(model) }) : undefined;
  if (split !== undefined) registerRouteSplitMetrics(s.metrics, split);
  return {
    name: 'GPU optimizer',
    planner,
    ...(split !== undefined && { split }),
    dispose() {
      scaling?.dispose();
      plans.log?.dispose();
      void discovery?.dispose();
      unsubscribe();
      planner.dispose();
    },
  };
}

/** --optimizer.deployment-selector: the labelled Deployments from the Kubernetes API, beside the configured ones. */
async function followDeployments(s: OptimizerSetup, planner: Planner, configured: readonly OptimizerDeployment[]): Promise<Disposable> {
  if (s.kube === undefined) throw bad('--optimizer.deployment-selector needs a Kubernetes API (in-cluster, or --kube.kubeconfig)');
  // Loaded only when used, as the scaler is.
  const { followKubeDeployments } = await import('./kube-deployments.js');
  return followKubeDeployments(s.kube, { selector: s.config.deploymentSelector, configured, onChange: (d) => planner.setDeployments(d), log: s.log });
}

/** --optimizer.scale: the counts in force written to the deployments' scale subresource every interval. */
async function startDirectScaling(s: OptimizerSetup, planner: Planner, metrics: OptimizerMetrics): Promise<{ dispose(): void }> {
  const o = s.config;
  if (s.kube === undefined) throw bad('--optimizer.scale needs a Kubernetes API (in-cluster, or --kube.kubeconfig)');
  // Loaded only when used: the Kubernetes client stays out of the start-up imports.
  const { createScaler, kubeScaleApi, parseScaleBounds, startScaleLoop } = await import('./scaler.js');
  let bounds;
  try {
    bounds = parseScaleBounds(o.scaleBounds, s.namespace);
  } catch (err) {
    throw bad(`--optimizer.scale-bounds: ${(err as Error).message}`);
  }
  const scaler = createScaler({ api: kubeScaleApi(s.kube), log: s.log, bounds, upCooldownMs: o.scaleUpCooldown, downCooldownMs: o.scaleDownCooldown, onResult: (r) => metrics.scaled(r), ...(s.now !== undefined && { now: s.now }) });
  s.log.info({ upCooldownMs: o.scaleUpCooldown, downCooldownMs: o.scaleDownCooldown, bounds }, 'GPU optimizer scales the deployments directly (deployments/scale)');
  return startScaleLoop(planner, scaler, o.interval);
}
