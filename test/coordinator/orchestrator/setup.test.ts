// startOrchestrator / createOrchestrator against the fake API server: who reconciles (leader
// election on, off, auto), what a follower shows, and that dispose stops it all.
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { registryNodeSource } from '../../../src/coordinator/orchestrator/fleet-nodes.js';
import { createOrchestrator, defaultIdentity, LEASE_NAME, type OrchestratorDeps, type RunningOrchestrator, startOrchestrator } from '../../../src/coordinator/orchestrator/setup.js';
import { microTime } from '../../../src/kube/leader-election.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';
import { fastPresence, raySpec } from './controller-setup.js';
import { FLEETS, type FleetWorld, NS, startFleetWorld } from './fleet-world.js';

const LEASES = 'leases.coordination.k8s.io';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function world(crds: ('ray' | 'lws')[] = ['ray']): Promise<FleetWorld> {
  const w = await startFleetWorld({ crds });
  cleanup.push(() => w.close());
  return w;
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function orchestrator(w: FleetWorld, over: Partial<OrchestratorDeps> & { leaderElection?: 'on' | 'off' | 'auto' } = {}): RunningOrchestrator {
  const presence = fastPresence(w.kube);
  const { leaderElection = 'off', ...rest } = over;
  const o = startOrchestrator({
    config: { enabled: true, namespace: NS, leaderElection, resync: 1000, probeInterval: 200 },
    namespace: NS,
    kube: w.kube,
    nodes: registryNodeSource(w.registry),
    backends: presence,
    health: async () => ({ ready: false, failed: false, reasons: ['not probed in this test'] }),
    log: silentLog,
    identity: 'coord-a',
    election: { leaseDurationSeconds: 2, renewDeadlineMs: 1200, retryPeriodMs: 100 },
    controller: { backoff: { initialMs: 20, maxMs: 200 }, minWatchMs: 0, retryMs: 20, maxRetryMs: 200 },
    ...rest,
  });
  cleanup.push(() => presence.dispose(), () => o.dispose());
  return o;
}

/** A Lease held by `holder`, renewed just now, for a minute. */
function holdLease(w: FleetWorld, holder: string): void {
  const now = microTime(Date.now());
  w.server.store.create(LEASES, NS, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE_NAME, namespace: NS }, spec: { holderIdentity: holder, leaseDurationSeconds: 60, acquireTime: now, renewTime: now, leaseTransitions: 0 } });
}

describe('defaultIdentity', () => {
  it('is the pod name, else the host name, with 6 random hex characters', () => {
    expect(defaultIdentity({ POD_NAME: 'brixlet-coordinator-7d9f' })).toMatch(/^brixlet-coordinator-7d9f-[0-9a-f]{6}$/);
    expect(defaultIdentity({})).toMatch(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{6}$`));
    expect(defaultIdentity({ POD_NAME: '' }).startsWith(`${hostname()}-`)).toBe(true);
    expect(defaultIdentity({ POD_NAME: 'p' })).not.toBe(defaultIdentity({ POD_NAME: 'p' }));
  });
});

describe('startOrchestrator', () => {
  it('reconciles at once without leader election, and says so in its view', async () => {
    const w = await world();
    w.createFleet('llama', raySpec({ replicas: 1 }));
    const o = orchestrator(w, { leaderElection: 'off' });
    expect(o.isLeader()).toBe(true);
    await until(() => w.rayClusters('llama').length === 1, 'the RayCluster');
    expect(o.controller()).toBeDefined();
    await until(() => o.controller()?.fleetViews().length === 1, 'the fleet view');
    const view = await o.view();
    expect(view).toMatchObject({ namespace: NS, identity: 'coord-a', leader: 'coord-a', isLeader: true, leaderElection: false });
    expect(view.backends).toEqual({ ray: { crd: 'rayclusters.ray.io', installed: true }, lws: { crd: 'leaderworkersets.leaderworkerset.x-k8s.io', installed: false } });
    expect(view.fleets.map((f) => [f.name, f.backend])).toEqual([['llama', 'ray']]);
    expect(w.server.store.get(LEASES, NS, LEASE_NAME)).toBeUndefined();
  });

  it('stops reconciling on dispose: not the leader any more, no controller, no more writes', async () => {
    const w = await world();
    const o = orchestrator(w, { leaderElection: 'off' });
    await until(() => o.controller() !== undefined, 'a controller');
    await o.dispose();
    expect(o.isLeader()).toBe(false);
    expect(o.controller()).toBeUndefined();
    // The route may still be asked while the coordinator shuts down: it must agree.
    expect((await o.view()).isLeader).toBe(false);
    w.createFleet('late', raySpec({ replicas: 1 }));
    await new Promise((r) => setTimeout(r, 300));
    expect(w.rayClusters('late')).toEqual([]);
  });

  it('elects with auto only in a cluster', async () => {
    const w = await world();
    const outside = orchestrator(w, { leaderElection: 'auto', inCluster: false, identity: 'outside' });
    expect((await outside.view()).leaderElection).toBe(false);
    await outside.dispose();
    const inside = orchestrator(w, { leaderElection: 'auto', inCluster: true, identity: 'inside' });
    await until(() => inside.isLeader(), 'inside leads');
    expect(w.server.store.get(LEASES, NS, LEASE_NAME)?.spec).toMatchObject({ holderIdentity: 'inside' });
    const view = await inside.view();
    expect(view).toMatchObject({ leaderElection: true, isLeader: true, leader: 'inside' });
  });

  it('as a follower runs no controller and shows the fleets as the API server has them', async () => {
    const w = await world(['ray', 'lws']);
    holdLease(w, 'coord-other');
    w.createFleet('a-ray', raySpec());
    w.createFleet('b-lws', raySpec({ backend: 'lws' }));
    const fleet = w.fleet('a-ray')!;
    w.server.store.update(FLEETS, NS, 'a-ray', { ...fleet, status: { replicas: 2, readyReplicas: 1, currentRevision: 'abc' } }, 'status');
    const o = orchestrator(w, { leaderElection: 'on' });
    const view = await (async () => {
      await until(() => o.isLeader() === false, 'campaign');
      for (let i = 0; i < 200; i++) {
        const v = await o.view();
        if (v.leader === 'coord-other' && v.backends.lws.installed) return v;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the follower never saw the holder');
    })();
    expect(o.controller()).toBeUndefined();
    expect(view).toMatchObject({ isLeader: false, leaderElection: true, identity: 'coord-a', leader: 'coord-other', backends: { ray: { installed: true }, lws: { installed: true } } });
    const byName = Object.fromEntries(view.fleets.map((f) => [f.name, f]));
    expect(byName['a-ray']).toEqual({ namespace: NS, name: 'a-ray', backend: 'ray', generation: 1, status: { replicas: 2, readyReplicas: 1, currentRevision: 'abc' } });
    expect(byName['b-lws']).toMatchObject({ backend: 'lws', status: {} });
    expect(w.rayClusters()).toEqual([]);
  });

  it('lets a follower take over once the Lease is free', async () => {
    const w = await world();
    holdLease(w, 'coord-other');
    w.createFleet('llama', raySpec({ replicas: 1 }));
    const o = orchestrator(w, { leaderElection: 'on' });
    await new Promise((r) => setTimeout(r, 300));
    expect(o.isLeader()).toBe(false);
    w.server.store.remove(LEASES, NS, LEASE_NAME);
    await until(() => o.isLeader(), 'takes the Lease');
    await until(() => w.rayClusters('llama').length === 1, 'reconciles');
    expect(o.controller()).toBeDefined();
  });
});

describe('createOrchestrator', () => {
  it('wires presence, nodes, health and metrics, and releases everything on dispose', async () => {
    const w = await world();
    const metrics = testMetrics();
    const o = await createOrchestrator({ config: { enabled: true, namespace: '', leaderElection: 'off', resync: 1000, probeInterval: 200 }, namespace: '', kube: w.kube, registry: w.registry, metrics, log: silentLog });
    let disposed = false;
    cleanup.push(() => (disposed ? undefined : o.dispose()));
    // '' = the client's namespace (the fake server's kubeconfig names it).
    expect((await o.view()).namespace).toBe(w.kube.namespace);
    expect(o.identity).toMatch(/-[0-9a-f]{6}$/);
    await until(() => o.controller() !== undefined, 'a controller');
    const text = await metrics.registry.metrics();
    expect(text).toContain('brixlet_orchestrator_leader 1');
    await until(() => w.server.requests.some((r) => r.path.includes('customresourcedefinitions')), 'CRD presence polled');
    await o.dispose();
    disposed = true;
    expect(o.controller()).toBeUndefined();
    expect(await metrics.registry.metrics()).toContain('brixlet_orchestrator_leader 0');
  });
});
