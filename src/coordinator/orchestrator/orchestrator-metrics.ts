/**
 * brixlet_orchestrator_* metrics: reconciles by result and their duration, actions applied, and,
 * read at scrape time from the controller, the fleets, the replicas by state and whether this
 * coordinator is the leader.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { AppMetrics } from '../../common/metrics.js';

export type ReconcileResult = 'ok' | 'error' | 'invalid' | 'conflict' | 'skipped';
export type ActionKind = 'create' | 'delete' | 'repair' | 'give-up' | 'replace' | 'status';

export interface OrchestratorSnapshot {
  fleets(): number;
  /** Replicas by state: ready, not-ready, failed. */
  replicaStates(): Record<'ready' | 'not-ready' | 'failed', number>;
  isLeader(): boolean;
}

export interface OrchestratorMetrics {
  reconciled(result: ReconcileResult, seconds: number): void;
  action(kind: ActionKind): void;
  observe(snapshot: OrchestratorSnapshot): void;
}

/**
 * The snapshot the gauges read, one per registry: a second creation on the same registry (an
 * orchestrator started again in the process) reuses the gauges, so it must feed the same holder.
 */
const snapshots = new WeakMap<AppMetrics['registry'], { snapshot?: OrchestratorSnapshot }>();

export function createOrchestratorMetrics(metrics: AppMetrics): OrchestratorMetrics {
  const registers = [metrics.registry];
  const existing = <T>(name: string): T | undefined => metrics.registry.getSingleMetric(name) as T | undefined;
  const reconciles =
    existing<Counter<'result'>>('brixlet_orchestrator_reconcile_total') ??
    new Counter({ name: 'brixlet_orchestrator_reconcile_total', help: 'Fleet reconciles by result (ok, error, invalid, conflict, skipped).', labelNames: ['result'] as const, registers });
  const duration =
    existing<Histogram>('brixlet_orchestrator_reconcile_duration_seconds') ??
    new Histogram({ name: 'brixlet_orchestrator_reconcile_duration_seconds', help: 'Time one fleet reconcile took (reads from the caches, probes, writes).', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers });
  const actions =
    existing<Counter<'action'>>('brixlet_orchestrator_actions_total') ??
    new Counter({ name: 'brixlet_orchestrator_actions_total', help: 'Writes the reconciler made, by action (create, delete, repair, give-up, replace, status).', labelNames: ['action'] as const, registers });
  let state = snapshots.get(metrics.registry);
  if (state === undefined) snapshots.set(metrics.registry, (state = {}));
  if (existing('brixlet_orchestrator_fleets') === undefined) {
    new Gauge({
      name: 'brixlet_orchestrator_fleets',
      help: 'ModelFleets the reconciler follows (0 while not the leader).',
      registers,
      collect() {
        this.set(state.snapshot?.fleets() ?? 0);
      },
    });
    new Gauge({
      name: 'brixlet_orchestrator_replicas',
      help: 'Fleet replicas by state (ready, not-ready, failed = restart budget spent), as of the last reconcile of each fleet.',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const s = state.snapshot?.replicaStates() ?? { ready: 0, 'not-ready': 0, failed: 0 };
        for (const [k, v] of Object.entries(s)) this.set({ state: k }, v);
      },
    });
    new Gauge({
      name: 'brixlet_orchestrator_leader',
      help: '1 while this coordinator holds the orchestrator Lease (only the leader reconciles), else 0.',
      registers,
      collect() {
        this.set(state.snapshot?.isLeader() === true ? 1 : 0);
      },
    });
  }
  return {
    reconciled(result, seconds) {
      reconciles.inc({ result });
      duration.observe(seconds);
    },
    action(kind) {
      actions.inc({ action: kind });
    },
    observe(snapshot) {
      state.snapshot = snapshot;
    },
  };
}
