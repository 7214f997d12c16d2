// The coordinator with --orchestrator.enabled against the fake API server: it reconciles a
// ModelFleet into RayClusters (KubeRay simulated by the test world) and serves the fleets, the
// leader and the CRD presence at GET /v1/orchestrator/fleets, and the orchestrator metrics.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { DisposableStore } from '../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import { type RunningCoordinator, startCoordinator } from '../../src/coordinator/main.js';
import type { OrchestratorView } from '../../src/coordinator/orchestrator/routes.js';
import { silentLog } from '../helpers/apps.js';
import { raySpec } from './orchestrator/controller-setup.js';
import { type FleetWorld, NS, startFleetWorld } from './orchestrator/fleet-world.js';

let world: FleetWorld;
let store: DisposableStore;
let c: RunningCoordinator;
beforeAll(async () => {
  world = await startFleetWorld({ crds: ['ray'] });
  store = new DisposableStore('test');
  const flags = { 'gateway.host': '127.0.0.1', 'gateway.port': '0', 'control.host': '127.0.0.1', 'control.port': '0', 'orchestrator.enabled': 'true', 'orchestrator.leaderElection': 'off', 'orchestrator.probeInterval': '500', 'kube.namespace': NS };
  c = await startCoordinator({ config: loadConfig({ flags, env: {} }).config, log: silentLog, processRegistry: createProcessRegistry(), store, version: 'test' }, { kube: world.kube });
});
afterAll(async () => {
  await store.dispose();
  await world.close();
});

it('reconciles a fleet and shows it, the leader and the backend CRDs on the control port', async () => {
  world.createFleet('llama', raySpec({ replicas: 2 }));
  await world.until(() => world.rayClusters('llama').length === 2, 30_000, 'two RayClusters');
  let view: OrchestratorView | undefined;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    view = (await (await fetch(`${c.controlUrl}/v1/orchestrator/fleets`)).json()) as OrchestratorView;
    if (view.fleets[0]?.status.replicas === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(view).toMatchObject({ namespace: NS, isLeader: true, leaderElection: false, backends: { ray: { installed: true }, lws: { installed: false } } });
  const fleet = view?.fleets[0];
  expect(fleet).toMatchObject({ name: 'llama', backend: 'ray' });
  // No engine answers at the pods' addresses here: the replicas say why they are not ready.
  expect(fleet?.status.replicaStatuses?.[0]?.reasons?.join(' ')).toMatch(/engine \/health|ray dashboard/);
  const metrics = await (await fetch(`${c.controlUrl}/metrics`)).text();
  expect(metrics).toMatch(/brixlet_orchestrator_reconcile_total\{result="ok"\} [1-9]/);
  expect(metrics).toContain('brixlet_orchestrator_leader 1');
  expect(metrics).toMatch(/brixlet_orchestrator_actions_total\{action="create"\} 2/);
}, 60_000);

it('records a Warning event on a fleet it rejects, naming the field', async () => {
  world.createFleet('odd', raySpec({ tensorParallelSize: 8, pipelineParallelSize: 1 }));
  const events = () => world.server.store.list('events', NS) as { reason?: string; type?: string; message?: string; involvedObject?: { name?: string; kind?: string } }[];
  await world.until(() => events().some((e) => e.involvedObject?.name === 'odd'), 30_000, 'an event on the fleet');
  const e = events().find((x) => x.involvedObject?.name === 'odd');
  expect(e).toMatchObject({ type: 'Warning', reason: 'BadParallelism', involvedObject: { kind: 'ModelFleet' } });
  expect(e?.message).toContain('spec.tensorParallelSize');
  expect(world.rayClusters('odd')).toEqual([]);
}, 60_000);
