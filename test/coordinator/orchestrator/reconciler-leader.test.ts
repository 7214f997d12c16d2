import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorMetrics } from '../../../src/coordinator/orchestrator/orchestrator-metrics.js';
import { registryNodeSource } from '../../../src/coordinator/orchestrator/fleet-nodes.js';
import { LEASE_NAME, type RunningOrchestrator, startOrchestrator } from '../../../src/coordinator/orchestrator/setup.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { silentLog } from '../../helpers/apps.js';
import { fastPresence, type Probes, raySpec, startProbes, status } from './controller-setup.js';
import { type FleetWorld, NS, startFleetWorld } from './fleet-world.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Candidate {
  readonly orchestrator: RunningOrchestrator;
  /** Writes this candidate made (backend objects and status). */
  readonly writes: () => number;
}

function candidate(world: FleetWorld, probes: Probes, identity: string): Candidate {
  const kube: KubeClient = createKubeClient({ kubeconfigText: world.server.kubeconfig() });
  const presence = fastPresence(kube);
  let writes = 0;
  const metrics: OrchestratorMetrics = { reconciled: () => undefined, action: () => void writes++, observe: () => undefined };
  const orchestrator = startOrchestrator({
    config: { enabled: true, namespace: NS, leaderElection: 'on', resync: 1000, probeInterval: 150 },
    namespace: NS,
    kube,
    nodes: registryNodeSource(world.registry),
    backends: presence,
    health: probes.health,
    metrics,
    log: silentLog,
    identity,
    election: { leaseDurationSeconds: 2, renewDeadlineMs: 1200, retryPeriodMs: 200 },
    controller: { backoff: { initialMs: 20, maxMs: 200 }, minWatchMs: 0, retryMs: 20, maxRetryMs: 200 },
  });
  cleanup.push(async () => {
    await orchestrator.dispose();
    await presence.dispose();
    await kube.dispose();
  });
  return { orchestrator, writes: () => writes };
}

describe('orchestrator leader election', () => {
  it('lets only the Lease holder write, and hands over when the leader stops', async () => {
    const world = await startFleetWorld();
    const probes = await startProbes();
    cleanup.push(async () => {
      await world.close();
      await probes.close();
    });
    const a = candidate(world, probes, 'coord-a');
    await world.until(() => a.orchestrator.isLeader(), 30_000, 'a leads');
    const b = candidate(world, probes, 'coord-b');
    world.createFleet('llama', raySpec({ replicas: 2 }));
    await world.until(() => status(world, 'llama').readyReplicas === 2, 60_000, 'fleet ready');
    expect(a.writes()).toBeGreaterThan(0);
    expect(b.writes()).toBe(0);
    expect(b.orchestrator.isLeader()).toBe(false);
    expect(b.orchestrator.controller()).toBeUndefined();
    const view = await b.orchestrator.view();
    expect(view).toMatchObject({ isLeader: false, leaderElection: true, identity: 'coord-b', leader: 'coord-a' });
    expect(view.fleets.map((f) => [f.name, f.status.readyReplicas])).toEqual([['llama', 2]]);
    expect(world.server.store.get('leases.coordination.k8s.io', NS, LEASE_NAME)?.spec).toMatchObject({ holderIdentity: 'coord-a' });

    // The leader goes away: b takes the Lease and carries on (a scale-up it alone can do).
    const before = a.writes();
    await a.orchestrator.dispose();
    await world.until(() => b.orchestrator.isLeader(), 30_000, 'b leads');
    world.patchFleetSpec('llama', { replicas: 3 });
    await world.until(() => status(world, 'llama').readyReplicas === 3, 60_000, 'b scaled the fleet');
    expect(a.writes()).toBe(before);
    expect(b.writes()).toBeGreaterThan(0);
  }, 120_000);

  it('stops writing the moment its Lease renewals fail, mid-rollout, and the new leader finishes the rollout', async () => {
    const world = await startFleetWorld();
    const probes = await startProbes();
    cleanup.push(async () => {
      await world.close();
      await probes.close();
    });
    const markReady = (): void => {
      for (const p of world.pods((x) => !x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) world.setPodReady(p.metadata.name ?? '', true);
    };
    const a = candidate(world, probes, 'coord-a');
    await world.until(() => a.orchestrator.isLeader(), 30_000, 'a leads');
    world.createFleet('llama', raySpec({ replicas: 2 }));
    await world.until(() => status(world, 'llama').readyReplicas === 2, 60_000, 'fleet ready');
    world.setReadyAfter(-1);
    // An upgrade starts: a deletes one old replica and waits (new pods are not made ready).
    world.patchFleetSpec('llama', { image: 'vllm/vllm-openai:v0.9.0' });
    await world.until(() => world.rayClusters('llama').some((r) => r.metadata.labels?.['brixlet.io/revision'] !== status(world, 'llama').currentRevision) && status(world, 'llama').updatedReplicas === 1, 30_000, 'rollout under way');
    const b = candidate(world, probes, 'coord-b');
    // a's renewals (and b's attempts) fail for a while, longer than a's renew deadline: a must step down.
    world.server.failNext({ method: 'PUT', path: `/leases/${LEASE_NAME}`, status: 500, reason: 'InternalError', message: 'etcd unavailable', times: 25 });
    await world.until(() => !a.orchestrator.isLeader(), 30_000, 'a steps down');
    const frozen = a.writes();
    expect(a.orchestrator.controller()).toBeUndefined();
    // The failures run out; b (or a again) takes the Lease and, as pods come up, the rollout finishes.
    // Until someone leads again, a writes nothing (its controller is gone, the rollout is frozen).
    await world.until(() => {
      expect(a.writes()).toBe(frozen);
      return a.orchestrator.isLeader() || b.orchestrator.isLeader();
    }, 30_000, 'a leader again');
    const next = b.orchestrator.isLeader() ? b : a;
    const from = next.writes();
    world.setReadyAfter(0);
    markReady();
    await world.until(() => {
      const s = status(world, 'llama');
      return s.updatedReplicas === 2 && s.readyReplicas === 2 && s.replicas === 2;
    }, 60_000, 'rollout finished');
    expect(next.writes()).toBeGreaterThan(from);
    expect(a.orchestrator.isLeader() && b.orchestrator.isLeader()).toBe(false);
  }, 120_000);
});
