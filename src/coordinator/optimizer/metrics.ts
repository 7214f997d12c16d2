/**
 * brixlet_optimizer_* metrics: solves by status and their duration (counted as they finish), and,
 * read from the planner and the load monitor at scrape time, the replicas in force per deployment,
 * the loaded cells no GPU type serves (planned as a neighbour) and the requests recorded outside a
 * model's profile grid.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { AppMetrics } from '../../common/metrics.js';
import type { Planner } from './planner.js';
import type { PlanStatus } from './types.js';

export interface OptimizerMetrics {
  solved(status: PlanStatus, solveMs: number): void;
  /** Reads the planner's deployments and the monitor's clamped counts on every scrape. */
  observe(planner: Planner, clamped: { models(): string[]; clampedTotal(model: string): number }): void;
}

export function createOptimizerMetrics(metrics: AppMetrics): OptimizerMetrics {
  const registers = [metrics.registry];
  const existing = <T>(name: string): T | undefined => metrics.registry.getSingleMetric(name) as T | undefined;
  const solves =
    existing<Counter<'status'>>('brixlet_optimizer_solves_total') ??
    new Counter({ name: 'brixlet_optimizer_solves_total', help: 'Plan solves by outcome (optimal, time-limit, infeasible, error).', labelNames: ['status'] as const, registers });
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
  return {
    solved(status, solveMs) {
      solves.inc({ status });
      duration.observe(solveMs / 1000);
    },
    observe(p, c) {
      planner = p;
      monitor = c;
    },
  };
}
