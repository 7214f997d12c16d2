/**
 * brixlet_optimizer_* metrics: counted as they happen, solves per model by status (a time limit is
 * `time-limit`) and their duration, solves cancelled by a change, the plan gate's decisions, and the
 * direct scaler's requests, errors and conflicts per Deployment; read from the planner and the load
 * monitor at scrape time, the replicas in force per deployment, each model's plan cost, the loaded cells no GPU type serves
 * (planned as a neighbour) and the requests recorded outside a model's profile grid.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { AppMetrics } from '../../common/metrics.js';
import type { GateResult, Planner } from './planner.js';
import type { ScaleResult } from './scaler.js';
import type { PlanStatus } from './types.js';

const PLAN_STATUSES: readonly PlanStatus[] = ['optimal', 'time-limit', 'infeasible', 'error'];

export interface OptimizerMetrics {
  solved(status: PlanStatus, solveMs: number, model: string): void;
  /** A solve in flight was aborted by a change (profiles, deployments, availability, load). */
  cancelled(reason: string): void;
  gated(model: string, result: GateResult): void;
  /** One Deployment's result from the direct scaler. */
  scaled(r: ScaleResult): void;
  /** Reads the planner's deployments and the monitor's clamped counts on every scrape. */
  observe(planner: Planner, clamped: { models(): string[]; clampedTotal(model: string): number }): void;
}

export function createOptimizerMetrics(metrics: AppMetrics): OptimizerMetrics {
  const registers = [metrics.registry];
  const existing = <T>(name: string): T | undefined => metrics.registry.getSingleMetric(name) as T | undefined;
  const solves =
    existing<Counter<'model' | 'status'>>('brixlet_optimizer_solves_total') ??
    new Counter({ name: 'brixlet_optimizer_solves_total', help: 'Plan solves per model by outcome (optimal, time-limit: stopped at --optimizer.time-limit, infeasible, error).', labelNames: ['model', 'status'] as const, registers });
  const cancels =
    existing<Counter<'reason'>>('brixlet_optimizer_solve_cancellations_total') ??
    new Counter({ name: 'brixlet_optimizer_solve_cancellations_total', help: 'Solves aborted in flight because something they depend on changed (profiles, deployments, availability, load); a fresh solve follows.', labelNames: ['reason'] as const, registers });
  const gates =
    existing<Counter<'model' | 'result'>>('brixlet_optimizer_plan_gate_total') ??
    new Counter({
      name: 'brixlet_optimizer_plan_gate_total',
      help: 'Plan gate decisions on a new mix: held (the plan in force stays), cheaper (replaced: cheaper by more than --optimizer.plan-gate), outgrown (replaced: the plan in force no longer carries the load).',
      labelNames: ['model', 'result'] as const,
      registers,
    });
  const scaleRequests =
    existing<Counter<'namespace' | 'deployment' | 'direction' | 'result'>>('brixlet_optimizer_scale_requests_total') ??
    new Counter({
      name: 'brixlet_optimizer_scale_requests_total',
      help: 'Direct scaling (--optimizer.scale) per Deployment and round: direction up, down, none (already there) or unknown (not read), result scaled, unchanged, cooldown (held by a cooldown) or error.',
      labelNames: ['namespace', 'deployment', 'direction', 'result'] as const,
      registers,
    });
  const scaleErrors =
    existing<Counter<'namespace' | 'deployment' | 'code'>>('brixlet_optimizer_scale_errors_total') ??
    new Counter({ name: 'brixlet_optimizer_scale_errors_total', help: 'Direct scaling failures per Deployment by error code (BRX_ERR_KUBE_NOT_FOUND, BRX_ERR_KUBE_CONFLICT, …).', labelNames: ['namespace', 'deployment', 'code'] as const, registers });
  const scaleConflicts =
    existing<Counter<'namespace' | 'deployment'>>('brixlet_optimizer_scale_conflicts_total') ??
    new Counter({ name: 'brixlet_optimizer_scale_conflicts_total', help: 'Scale writes refused with 409 (the Deployment changed since it was read), read again and retried.', labelNames: ['namespace', 'deployment'] as const, registers });
  const duration =
    existing<Histogram>('brixlet_optimizer_solve_duration_seconds') ??
    new Histogram({ name: 'brixlet_optimizer_solve_duration_seconds', help: 'Time one plan solve took in the solver.', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30], registers });
  let planner: Planner | undefined;
  let monitor: { models(): string[]; clampedTotal(model: string): number } | undefined;
  if (existing('brixlet_optimizer_plan_replicas') === undefined) {
    new Gauge({
      name: 'brixlet_optimizer_plan_replicas',
      help: 'Replicas in force per deployment in the optimizer\'s plan (what vllm:deployment_replicas and the KEDA JSON serve).',
      labelNames: ['namespace', 'deployment', 'model', 'gpu'] as const,
      registers,
      collect() {
        this.reset();
        for (const d of planner?.deployments() ?? []) {
          if (d.replicas !== undefined) this.set({ namespace: d.namespace, deployment: d.name, model: d.model ?? '', gpu: d.gpu }, d.replicas);
        }
      },
    });
    new Gauge({
      name: 'brixlet_optimizer_plan_cost',
      help: 'Cost of each model\'s last plan: planned GPUs times the profiles\' cost per GPU, in the profiles\' unit (e.g. $/hour).',
      labelNames: ['model'] as const,
      registers,
      collect() {
        this.reset();
        for (const r of planner?.modelResults() ?? []) this.set({ model: r.model }, r.cost);
      },
    });
    new Gauge({
      name: 'brixlet_optimizer_unservable_cells',
      help: 'Loaded cells of the last plan that no GPU type can serve within the SLO, planned as the nearest cell one can (explain names them).',
      labelNames: ['model'] as const,
      registers,
      collect() {
        this.reset();
        for (const r of planner?.modelResults() ?? []) this.set({ model: r.model }, r.remapped?.length ?? 0);
      },
    });
    new Counter({
      name: 'brixlet_optimizer_clamped_requests_total',
      help: 'Requests whose (input, output) tokens lay outside the model\'s profile grid and were planned at its edge cells.',
      labelNames: ['model'] as const,
      registers,
      collect() {
        this.reset();
        for (const m of monitor?.models() ?? []) {
          const n = monitor?.clampedTotal(m) ?? 0;
          if (n > 0) this.inc({ model: m }, n);
        }
      },
    });
  }
  // Every outcome of a model starts at 0, so increase() sees its first infeasible or error solve
  // (a series born at 1 has no earlier sample to rise from).
  const seen = new Set<string>();
  return {
    solved(status, solveMs, model) {
      if (!seen.has(model)) {
        seen.add(model);
        for (const s of PLAN_STATUSES) solves.inc({ model, status: s }, 0);
      }
      solves.inc({ model, status });
      duration.observe(solveMs / 1000);
    },
    cancelled(reason) {
      cancels.inc({ reason });
    },
    gated(model, result) {
      gates.inc({ model, result });
    },
    scaled(r) {
      const direction = r.from === undefined ? 'unknown' : r.desired > r.from ? 'up' : r.desired < r.from ? 'down' : 'none';
      const where = { namespace: r.namespace, deployment: r.name };
      scaleRequests.inc({ ...where, direction, result: r.outcome });
      if (r.code !== undefined) scaleErrors.inc({ ...where, code: r.code });
      if (r.conflicts !== undefined) scaleConflicts.inc(where, r.conflicts);
    },
    observe(p, c) {
      planner = p;
      monitor = c;
    },
  };
}
