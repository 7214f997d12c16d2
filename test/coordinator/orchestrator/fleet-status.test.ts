import { describe, expect, it } from 'vitest';
import { fleetStatus, mergeConditions } from '../../../src/coordinator/orchestrator/fleet-status.js';

describe('fleet status conditions', () => {
  it('keeps lastTransitionTime while a condition\'s status holds, and moves it on a flip', () => {
    const t1 = '2026-01-01T00:00:00.000Z';
    const t2 = '2026-01-01T00:05:00.000Z';
    const first = mergeConditions(undefined, [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: '0 of 2' }], t1);
    const same = mergeConditions(first, [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: '1 of 2' }], t2);
    expect(same[0]).toMatchObject({ message: '1 of 2', lastTransitionTime: t1 });
    const flipped = mergeConditions(same, [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: '2 of 2' }], t2);
    expect(flipped[0]).toMatchObject({ status: 'True', lastTransitionTime: t2 });
  });

  it('is Available while ready ≥ desired − maxUnavailable (with one ready at least), and names spent budgets in ReplicaFailure', () => {
    const replicas = [
      { name: 'a', revision: 'r1', ready: true, restarts: 0 },
      { name: 'b', revision: 'r1', ready: false, restarts: 3 },
    ];
    const s = fleetStatus({ fleet: 'llama', generation: 4, desired: 2, revision: 'r1', replicas, failed: [{ name: 'b', restarts: 3 }], paused: false, unavailable: 1 });
    const byType = Object.fromEntries(s.conditions.map((c) => [c.type, c]));
    expect(byType.Available?.status).toBe('True');
    expect(byType.ReplicaFailure).toMatchObject({ status: 'True', reason: 'RestartBudgetExhausted' });
    expect(byType.ReplicaFailure?.message).toContain('b (3 restarts)');
    expect(s.status).toMatchObject({ observedGeneration: 4, replicas: 2, readyReplicas: 1, updatedReplicas: 2, selector: 'brixlet.io/fleet=llama,brixlet.io/role=serving' });
    const none = fleetStatus({ fleet: 'llama', desired: 2, revision: 'r1', replicas: replicas.map((r) => ({ ...r, ready: false })), failed: [], paused: false, unavailable: 1 });
    expect(none.conditions.find((c) => c.type === 'Available')?.status).toBe('False');
  });
});
