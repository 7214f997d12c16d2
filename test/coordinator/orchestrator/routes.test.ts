// GET /v1/orchestrator/fleets on a control server, answered by a real orchestrator (a follower,
// reading the fleets from the fake API server), through inject().
import { afterEach, describe, expect, it } from 'vitest';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import { registryNodeSource } from '../../../src/coordinator/orchestrator/fleet-nodes.js';
import { OrchestratorFleetsView, registerOrchestratorRoutes } from '../../../src/coordinator/orchestrator/routes.js';
import { LEASE_NAME, type RunningOrchestrator, startOrchestrator } from '../../../src/coordinator/orchestrator/setup.js';
import { microTime } from '../../../src/kube/leader-election.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';
import { fastPresence, raySpec } from './controller-setup.js';
import { FLEETS, type FleetWorld, NS, startFleetWorld } from './fleet-world.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A control server whose orchestrator follows: another coordinator holds the Lease. */
async function follower(): Promise<{ w: FleetWorld; app: BrixletServer; o: RunningOrchestrator }> {
  const w = await startFleetWorld({ crds: ['ray'] });
  cleanup.push(() => w.close());
  const now = microTime(Date.now());
  w.server.store.create('leases.coordination.k8s.io', NS, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE_NAME, namespace: NS }, spec: { holderIdentity: 'coord-leader', leaseDurationSeconds: 60, acquireTime: now, renewTime: now } });
  const presence = fastPresence(w.kube);
  const o = startOrchestrator({
    config: { enabled: true, namespace: NS, leaderElection: 'on', resync: 1000, probeInterval: 200 },
    namespace: NS,
    kube: w.kube,
    nodes: registryNodeSource(w.registry),
    backends: presence,
    health: async () => ({ ready: false, failed: false, reasons: [] }),
    log: silentLog,
    identity: 'coord-follower',
    election: { leaseDurationSeconds: 2, renewDeadlineMs: 1200, retryPeriodMs: 100 },
  });
  const app = await createServer({ name: 'control', title: 't', version: '1', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
  registerOrchestratorRoutes(app, o);
  cleanup.push(() => presence.dispose(), () => o.dispose(), () => app.close());
  await presence.whenKnown();
  return { w, app, o };
}

describe('GET /v1/orchestrator/fleets', () => {
  it('answers 200 with the fleets, their status and replica reasons, the leader and the backends', async () => {
    const { w, app } = await follower();
    w.createFleet('llama', raySpec());
    const f = w.fleet('llama')!;
    const status = {
      observedGeneration: 1,
      replicas: 2,
      readyReplicas: 1,
      currentRevision: 'rev1',
      selector: 'brixlet.io/fleet=llama',
      conditions: [{ type: 'Available', status: 'False', reason: 'NotEnoughReady', message: '1 of 2 ready', lastTransitionTime: '2026-03-01T10:00:00Z' }],
      replicaStatuses: [{ name: 'llama-rev1-bcdfg', revision: 'rev1', ready: false, reasons: ['pods 1/2 ready (1 missing)'], restarts: 1, nodes: ['n1'] }],
    };
    w.server.store.update(FLEETS, NS, 'llama', { ...f, status }, 'status');
    const res = await app.inject({ method: 'GET', url: '/v1/orchestrator/fleets' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ namespace: NS, identity: 'coord-follower', isLeader: false, leaderElection: true, backends: { ray: { crd: 'rayclusters.ray.io', installed: true }, lws: { installed: false } } });
    expect(body.fleets).toEqual([{ namespace: NS, name: 'llama', backend: 'ray', generation: 1, status }]);
  });

  it('names the Lease holder once the follower has seen it, and leaves the leader out before', async () => {
    const { app } = await follower();
    let body: Record<string, unknown> = {};
    for (let i = 0; i < 200 && body.leader === undefined; i++) {
      body = (await app.inject({ method: 'GET', url: '/v1/orchestrator/fleets' })).json();
      if (body.leader === undefined) {
        expect(body).not.toHaveProperty('leader');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    expect(body.leader).toBe('coord-leader');
  });

  it('shows only the documented fields of what the API server stores', async () => {
    const { w, app } = await follower();
    w.createFleet('llama', raySpec());
    const f = w.fleet('llama')!;
    w.server.store.update(FLEETS, NS, 'llama', { ...f, status: { replicas: 1, somethingNew: { x: 1 }, replicaStatuses: [{ name: 'r', revision: 'v', ready: true, restarts: 0, podIPs: ['10.0.0.1'] }] } }, 'status');
    const body = (await app.inject({ method: 'GET', url: '/v1/orchestrator/fleets' })).json<{ fleets: { status: Record<string, unknown> }[] }>();
    expect(body.fleets[0]?.status).toEqual({ replicas: 1, replicaStatuses: [{ name: 'r', revision: 'v', ready: true, restarts: 0 }] });
  });

  it('ignores a query string', async () => {
    const { app } = await follower();
    const res = await app.inject({ method: 'GET', url: '/v1/orchestrator/fleets?namespace=other&watch=true' });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ namespace: string }>().namespace).toBe(NS);
  });

  it('answers other methods and paths with a JSON 404', async () => {
    const { app } = await follower();
    for (const [method, url] of [['POST', '/v1/orchestrator/fleets'], ['DELETE', '/v1/orchestrator/fleets'], ['GET', '/v1/orchestrator/fleets/llama'], ['GET', '/v1/orchestrator']] as const) {
      const res = await app.inject({ method, url, ...(method === 'POST' && { payload: { name: 'x' } }) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('BRX_ERR_HTTP_NOT_FOUND');
    }
  });

  it('passes on an API server failure of a follower as a 502 with the Kubernetes error code', async () => {
    const { w, app } = await follower();
    w.server.failNext({ method: 'GET', path: '/modelfleets', status: 403, reason: 'Forbidden', message: 'modelfleets.brixlet.io is forbidden' });
    const res = await app.inject({ method: 'GET', url: '/v1/orchestrator/fleets' });
    expect(res.statusCode).toBe(502);
    const { error } = res.json<{ error: { code: string; message: string; type: string } }>();
    expect(error.code).toBe('BRX_ERR_KUBE_UNAUTHORIZED');
    expect(error.type).toBe('server_error');
    // The next request reads again.
    expect((await app.inject({ method: 'GET', url: '/v1/orchestrator/fleets' })).statusCode).toBe(200);
  });

  it('documents the route with its response schema', async () => {
    const { app } = await follower();
    await app.ready();
    const spec = app.swagger() as { paths: Record<string, { get?: { responses?: Record<string, unknown> } }> };
    expect(spec.paths['/v1/orchestrator/fleets']?.get?.responses).toHaveProperty('200');
    expect(Object.keys(OrchestratorFleetsView.properties).sort()).toEqual(['backends', 'fleets', 'identity', 'isLeader', 'leader', 'leaderElection', 'namespace']);
  });
});
