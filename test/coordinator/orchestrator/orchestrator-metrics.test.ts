import { describe, expect, it } from 'vitest';
import { createOrchestratorMetrics, type OrchestratorSnapshot } from '../../../src/coordinator/orchestrator/orchestrator-metrics.js';
import { testMetrics } from '../../helpers/apps.js';

/** The `name{labels} value` lines of the app registry's exposition for names starting with `prefix`. */
async function series(metrics: ReturnType<typeof testMetrics>, prefix = 'brixlet_orchestrator_'): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

describe('orchestrator metrics', () => {
  it('declares the families with their types and label names', async () => {
    const m = testMetrics();
    createOrchestratorMetrics(m);
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE brixlet_orchestrator_reconcile_total counter');
    expect(text).toContain('# TYPE brixlet_orchestrator_reconcile_duration_seconds histogram');
    expect(text).toContain('# TYPE brixlet_orchestrator_actions_total counter');
    expect(text).toContain('# TYPE brixlet_orchestrator_fleets gauge');
    expect(text).toContain('# TYPE brixlet_orchestrator_replicas gauge');
    expect(text).toContain('# TYPE brixlet_orchestrator_leader gauge');
    const labelNames = (name: string) => (m.registry.getSingleMetric(name) as unknown as { labelNames: string[] } | undefined)?.labelNames;
    expect(labelNames('brixlet_orchestrator_reconcile_total')).toEqual(['result']);
    expect(labelNames('brixlet_orchestrator_reconcile_duration_seconds')).toEqual([]);
    expect(labelNames('brixlet_orchestrator_actions_total')).toEqual(['action']);
    expect(labelNames('brixlet_orchestrator_fleets')).toEqual([]);
    expect(labelNames('brixlet_orchestrator_replicas')).toEqual(['state']);
    expect(labelNames('brixlet_orchestrator_leader')).toEqual([]);
    const names = (await m.registry.getMetricsAsJSON()).map((f) => f.name).filter((n) => n.startsWith('brixlet_orchestrator_'));
    expect(names).toHaveLength(6);
  });

  it('reads 0 fleets, 0 replicas in every state and not leader before the controller reports', async () => {
    const m = testMetrics();
    createOrchestratorMetrics(m);
    const lines = await series(m);
    expect(lines).toContain('brixlet_orchestrator_fleets 0');
    expect(lines).toContain('brixlet_orchestrator_leader 0');
    for (const state of ['ready', 'not-ready', 'failed']) expect(lines).toContain(`brixlet_orchestrator_replicas{state="${state}"} 0`);
  });

  it('counts reconciles by result with their duration, and actions by kind', async () => {
    const m = testMetrics();
    const om = createOrchestratorMetrics(m);
    om.reconciled('ok', 0.002);
    om.reconciled('ok', 0.3);
    om.reconciled('conflict', 0.02);
    om.action('create');
    om.action('create');
    om.action('give-up');
    const lines = await series(m);
    expect(lines).toContain('brixlet_orchestrator_reconcile_total{result="ok"} 2');
    expect(lines).toContain('brixlet_orchestrator_reconcile_total{result="conflict"} 1');
    expect(lines).toContain('brixlet_orchestrator_reconcile_duration_seconds_count 3');
    expect(lines).toContain('brixlet_orchestrator_reconcile_duration_seconds_bucket{le="0.005"} 1');
    expect(lines).toContain('brixlet_orchestrator_reconcile_duration_seconds_bucket{le="0.025"} 2');
    expect(lines).toContain('brixlet_orchestrator_reconcile_duration_seconds_bucket{le="+Inf"} 3');
    expect(lines.find((l) => l.startsWith('brixlet_orchestrator_reconcile_duration_seconds_sum'))).toMatch(/ 0\.322\d*$/);
    expect(lines).toContain('brixlet_orchestrator_actions_total{action="create"} 2');
    expect(lines).toContain('brixlet_orchestrator_actions_total{action="give-up"} 1');
  });

  it('reads the gauges from the latest snapshot at every scrape', async () => {
    const m = testMetrics();
    const om = createOrchestratorMetrics(m);
    let fleets = 3;
    let leader = true;
    const snapshot: OrchestratorSnapshot = { fleets: () => fleets, replicaStates: () => ({ ready: 5, 'not-ready': 2, failed: 1 }), isLeader: () => leader };
    om.observe(snapshot);
    let lines = await series(m);
    expect(lines).toEqual(expect.arrayContaining(['brixlet_orchestrator_fleets 3', 'brixlet_orchestrator_leader 1', 'brixlet_orchestrator_replicas{state="ready"} 5', 'brixlet_orchestrator_replicas{state="not-ready"} 2', 'brixlet_orchestrator_replicas{state="failed"} 1']));
    fleets = 0;
    leader = false;
    lines = await series(m);
    expect(lines).toEqual(expect.arrayContaining(['brixlet_orchestrator_fleets 0', 'brixlet_orchestrator_leader 0']));
    // A new term's controller replaces the snapshot.
    om.observe({ fleets: () => 7, replicaStates: () => ({ ready: 0, 'not-ready': 0, failed: 0 }), isLeader: () => true });
    lines = await series(m);
    expect(lines).toEqual(expect.arrayContaining(['brixlet_orchestrator_fleets 7', 'brixlet_orchestrator_replicas{state="ready"} 0']));
  });

  it('can be created twice on one registry (a second coordinator in the process) and shares the counters', async () => {
    const m = testMetrics();
    const a = createOrchestratorMetrics(m);
    const b = createOrchestratorMetrics(m);
    a.reconciled('ok', 0.01);
    b.reconciled('ok', 0.01);
    b.action('delete');
    const lines = await series(m);
    expect(lines).toContain('brixlet_orchestrator_reconcile_total{result="ok"} 2');
    expect(lines).toContain('brixlet_orchestrator_actions_total{action="delete"} 1');
    expect(lines.filter((l) => l.startsWith('brixlet_orchestrator_fleets '))).toHaveLength(1);
  });

  it('reads the gauges from the snapshot of the latest creation on a registry (a restarted orchestrator)', async () => {
    const m = testMetrics();
    const first = createOrchestratorMetrics(m);
    first.observe({ fleets: () => 1, replicaStates: () => ({ ready: 1, 'not-ready': 0, failed: 0 }), isLeader: () => true });
    const second = createOrchestratorMetrics(m);
    second.observe({ fleets: () => 5, replicaStates: () => ({ ready: 3, 'not-ready': 1, failed: 1 }), isLeader: () => false });
    const lines = await series(m);
    expect(lines).toEqual(expect.arrayContaining(['brixlet_orchestrator_fleets 5', 'brixlet_orchestrator_leader 0', 'brixlet_orchestrator_replicas{state="ready"} 3', 'brixlet_orchestrator_replicas{state="failed"} 1']));
  });
});
