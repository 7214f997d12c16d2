// Builds a FleetController against a FleetWorld with the real parts around it: the registry's node
// source, backend CRD presence (crd-presence.ts) and replica health (health.ts) probing a fake Ray
// dashboard and a mock engine.
import { silentLog } from '../../helpers/apps.js';
import { startFakeRayDashboard, type FakeRayDashboard } from '../../../mocks/ray-dashboard/index.js';
import { createReplicaProber } from '../../../src/coordinator/orchestrator/health.js';
import { createFleetHealth } from '../../../src/coordinator/orchestrator/replica-health.js';
import { startMockEngine, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { registryNodeSource } from '../../../src/coordinator/orchestrator/fleet-nodes.js';
import { type BackendPresence, FleetController, type FleetControllerOptions, type ReplicaHealthFn } from '../../../src/coordinator/orchestrator/reconciler.js';
import type { ModelFleetStatus } from '../../../src/coordinator/orchestrator/types.js';
import type { Disposable } from '../../../src/common/lifecycle.js';
import { followBackendCrds } from '../../../src/coordinator/orchestrator/backend-presence.js';
import type { KubeClient } from '../../../src/kube/kube-client.js';
import { type FleetWorld, startFleetWorld, type WorldOptions } from './fleet-world.js';


export interface Probes {
  readonly dashboard: FakeRayDashboard;
  readonly engine: RunningMockEngine;
  readonly health: ReplicaHealthFn;
  close(): Promise<void>;
}

/**
 * The real replica health (health.ts via replica-health.ts) with every serving pod's probes sent
 * to one fake Ray dashboard (2 nodes of 8 GPUs: a TP 8 × PP 2 replica) and one mock engine.
 */
export async function startProbes(o: { nodes?: number; gpusPerNode?: number } = {}): Promise<Probes> {
  const dashboard = await startFakeRayDashboard({ nodes: o.nodes ?? 2, gpusPerNode: o.gpusPerNode ?? 8 });
  const engine = await startMockEngine({ timeScale: Infinity });
  const prober = createReplicaProber({ timeoutMs: 2000 });
  const fleetHealth = createFleetHealth({
    prober,
    probeIntervalMs: 100,
    target: (_pod, input) => ({ engineUrl: engine.url, ...(input.backend === 'ray' && { dashboardUrl: dashboard.url }) }),
  });
  return {
    dashboard,
    engine,
    health: fleetHealth.health,
    async close() {
      fleetHealth.dispose();
      await prober.dispose();
      await engine.close();
      await dashboard.close();
    },
  };
}

/** The real backend CRD presence (crd-presence.ts), polling the fake server every 50 ms. */
export function fastPresence(kube: KubeClient): BackendPresence & Disposable & { whenKnown(): Promise<void> } {
  return followBackendCrds({ kube, log: silentLog, pollIntervalMs: 50 });
}

export function startController(world: FleetWorld, probes: Probes, o: Partial<FleetControllerOptions> & { presence: BackendPresence }): FleetController {
  const controller = new FleetController({
    kube: world.kube,
    namespace: 'serving',
    log: silentLog,
    nodes: registryNodeSource(world.registry),
    backends: o.presence,
    health: probes.health,
    backoff: { initialMs: 20, maxMs: 200 },
    minWatchMs: 0,
    retryMs: 20,
    maxRetryMs: 200,
    probeIntervalMs: 150,
    resyncMs: 1000,
    ...o,
  });
  return controller;
}

/** A valid ray fleet spec: TP 8 × PP 2 on 2 nodes of 8 GPUs. */
export function raySpec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'meta-llama/Llama-3.1-405B-Instruct', image: 'vllm/vllm-openai:v0.8.5', tensorParallelSize: 8, pipelineParallelSize: 2, gpusPerNode: 8, nodesPerReplica: 2, replicas: 2, ...over };
}

export interface Rig {
  readonly world: FleetWorld;
  readonly probes: Probes;
  readonly presence: BackendPresence & Disposable;
  controller: FleetController;
}

const rigs: Rig[] = [];

/** A world, probes and a started controller; closeRigs() (in afterEach) releases them all. */
export async function startRig(worldOptions: WorldOptions = {}, o: Partial<FleetControllerOptions> = {}, fleets: [string, Record<string, unknown>][] = []): Promise<Rig> {
  const world = await startFleetWorld(worldOptions);
  const probes = await startProbes();
  const presence = fastPresence(world.kube);
  await presence.whenKnown();
  for (const [name, spec] of fleets) world.createFleet(name, spec);
  const rig: Rig = { world, probes, presence, controller: startController(world, probes, { ...o, presence }) };
  rigs.push(rig);
  await rig.controller.start();
  return rig;
}

export async function closeRigs(): Promise<void> {
  for (const r of rigs.splice(0)) {
    await r.controller.dispose();
    await r.presence.dispose();
    await r.world.close();
    await r.probes.close();
  }
}

export const status = (w: FleetWorld, name: string): ModelFleetStatus => (w.fleet(name)?.status ?? {}) as ModelFleetStatus;
export const condition = (w: FleetWorld, name: string, type: string) => status(w, name).conditions?.find((c) => c.type === type);
