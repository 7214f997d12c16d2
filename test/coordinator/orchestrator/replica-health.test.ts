// createFleetHealth with the real prober against a fake Ray dashboard (2 nodes × 8 GPUs) and a mock
// engine, on an injected clock: when it probes, what it caches, and what it remembers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeRayDashboard, startFakeRayDashboard } from '../../../mocks/ray-dashboard/index.js';
import type { FleetPod } from '../../../src/coordinator/orchestrator/backend.js';
import { fleetDefaults } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import { createReplicaProber, type ReplicaProber, type ReplicaProbeTarget } from '../../../src/coordinator/orchestrator/health.js';
import type { ReplicaHealthInput } from '../../../src/coordinator/orchestrator/reconciler.js';
import { createFleetHealth, defaultProbeTarget, RAY_DASHBOARD_PORT } from '../../../src/coordinator/orchestrator/replica-health.js';
import type { ModelFleetSpecInput } from '../../../src/coordinator/orchestrator/types.js';
import { type RunningMockEngine, startMockEngine } from '../../../src/mock-engine/index.js';

const INTERVAL = 1000;
let dashboard: FakeRayDashboard;
let engine: RunningMockEngine;
let prober: ReplicaProber;
beforeAll(async () => {
  dashboard = await startFakeRayDashboard({ nodes: 2, gpusPerNode: 8 });
  engine = await startMockEngine({ timeScale: Infinity });
  prober = createReplicaProber({ timeoutMs: 2000 });
});
afterAll(async () => {
  await prober.dispose();
  await engine.close();
  await dashboard.close();
});

const spec = (over: Partial<ModelFleetSpecInput> = {}) =>
  fleetDefaults({ model: 'm', image: 'i', tensorParallelSize: 8, pipelineParallelSize: 2, gpusPerNode: 8, nodesPerReplica: 2, port: 8123, ...over });

function pod(name: string, over: { uid?: string; ready?: boolean; ip?: string; node?: string } = {}): FleetPod {
  return {
    metadata: { name, ...(over.uid !== '' && { uid: over.uid ?? `uid-${name}` }) },
    spec: { nodeName: over.node ?? `node-${name}` },
    status: {
      phase: 'Running',
      podIP: over.ip ?? '10.0.0.1',
      conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }],
      containerStatuses: [{ name: 'engine', ready: over.ready !== false, restartCount: 0, state: { running: {} } }],
    },
  };
}

function input(pods: FleetPod[], over: Partial<ReplicaHealthInput> = {}): ReplicaHealthInput {
  return { backend: 'ray', spec: spec(), pods, serving: pods[0], groupSize: 2, unhealthyGpuNodes: new Map(), ...over };
}

/** Fleet health on a clock the test moves, probing the fakes and recording each probe's target. */
function fleetHealth() {
  const clock = { now: 1_000_000 };
  const probes: ReplicaProbeTarget[] = [];
  const h = createFleetHealth({
    prober: { probe: (t) => (probes.push(t), prober.probe(t)) },
    probeIntervalMs: INTERVAL,
    now: () => clock.now,
    target: (serving, i) => ({ engineUrl: engine.url, ...(i.backend === 'ray' && { dashboardUrl: dashboard.url }), servingIp: serving.status?.podIP }) as ReplicaProbeTarget,
  });
  return { ...h, clock, probes };
}

describe('defaultProbeTarget', () => {
  it('probes the serving pod IP: the engine on the fleet port and, for ray, the dashboard', () => {
    expect(defaultProbeTarget(pod('h', { ip: '10.1.2.3' }), input([], { spec: spec() }))).toEqual({ engineUrl: 'http://10.1.2.3:8123', dashboardUrl: `http://10.1.2.3:${RAY_DASHBOARD_PORT}` });
    expect(defaultProbeTarget(pod('h', { ip: '10.1.2.3' }), input([], { backend: 'lws' }))).toEqual({ engineUrl: 'http://10.1.2.3:8123' });
  });

  it('puts an IPv6 address in brackets and has no target without an IP', () => {
    expect(defaultProbeTarget(pod('h', { ip: 'fd00::5' }), input([]))).toEqual({ engineUrl: 'http://[fd00::5]:8123', dashboardUrl: 'http://[fd00::5]:8265' });
    expect(defaultProbeTarget(pod('h', { ip: '' }), input([]))).toBeUndefined();
    expect(defaultProbeTarget({ metadata: { name: 'x' } }, input([]))).toBeUndefined();
  });
});

describe('createFleetHealth', () => {
  it('probes nothing until every pod of the group is there and ready', async () => {
    const h = fleetHealth();
    const notReady = await h.health(input([pod('a'), pod('b', { ready: false })]));
    expect(notReady).toMatchObject({ ready: false, failed: false });
    expect(notReady.reasons).toEqual(expect.arrayContaining(['ray: not probed yet', 'engine /health: not probed yet']));
    const short = await h.health(input([pod('a')]));
    expect(short.ready).toBe(false);
    expect(short.reasons.join(' ')).toContain('1 missing');
    // A serving pod without a uid cannot key the cache: not probed.
    const noUid = await h.health(input([pod('a', { uid: '' }), pod('b')]));
    expect(noUid.ready).toBe(false);
    expect(h.probes).toEqual([]);
  });

  it('is ready once the pods, Ray (nodes and TP×PP GPUs) and the engine all are', async () => {
    const h = fleetHealth();
    const v = await h.health(input([pod('a'), pod('b')]));
    expect(v).toEqual({ ready: true, failed: false, reasons: [] });
    expect(h.probes).toHaveLength(1);
    const lws = await h.health(input([pod('c'), pod('d')], { backend: 'lws' }));
    expect(lws.ready).toBe(true);
    expect(h.probes[1]?.dashboardUrl).toBeUndefined();
  });

  it('checks the GPUs Ray sees against TP × PP of the spec', async () => {
    const h = fleetHealth();
    const v = await h.health(input([pod('a'), pod('b')], { spec: spec({ tensorParallelSize: 8, pipelineParallelSize: 4, gpusPerNode: 16 }) }));
    expect(v.ready).toBe(false);
    expect(v.reasons).toContain('ray sees 16 GPUs, needs TP×PP = 32');
  });

  it('reuses a probe answer for one interval per serving pod, then probes again', async () => {
    const h = fleetHealth();
    const pods = [pod('a'), pod('b')];
    await h.health(input(pods));
    h.clock.now += INTERVAL - 1;
    await h.health(input(pods));
    expect(h.probes).toHaveLength(1);
    // Another replica (another serving pod) gets its own probe.
    await h.health(input([pod('x'), pod('y')]));
    expect(h.probes).toHaveLength(2);
    h.clock.now += 1;
    await h.health(input(pods));
    expect(h.probes).toHaveLength(3);
  });

  it('shares one probe between concurrent assessments of the same replica', async () => {
    const h = fleetHealth();
    const pods = [pod('a'), pod('b')];
    const all = await Promise.all([h.health(input(pods)), h.health(input(pods)), h.health(input(pods))]);
    expect(all.every((v) => v.ready)).toBe(true);
    expect(h.probes).toHaveLength(1);
  });

  it('counts a pod lost after the replica was ready as a failure, but not one missing at start-up', async () => {
    const h = fleetHealth();
    const fresh = await h.health(input([pod('a', { uid: 'head-1' })]));
    expect(fresh.failed).toBe(false);
    expect((await h.health(input([pod('a', { uid: 'head-2' }), pod('b')]))).ready).toBe(true);
    const lost = await h.health(input([pod('a', { uid: 'head-2' })]));
    expect(lost).toMatchObject({ ready: false, failed: true });
  });

  it('keeps remembering a broken replica that was ready for as long as it is assessed', async () => {
    const h = fleetHealth();
    expect((await h.health(input([pod('a'), pod('b')]))).ready).toBe(true);
    // The worker is gone and the replica is not repaired (restart budget spent): every reconcile
    // still sees a failed replica, however long it stays that way.
    for (let i = 0; i < 25; i++) {
      h.clock.now += INTERVAL;
      expect((await h.health(input([pod('a')]))).failed, `after ${i + 1} intervals`).toBe(true);
    }
  });

  it('forgets a replica no longer assessed for ten intervals', async () => {
    const h = fleetHealth();
    expect((await h.health(input([pod('a'), pod('b')]))).ready).toBe(true);
    h.clock.now += INTERVAL * 10 + 1;
    // Another replica's assessment sweeps; the old serving pod's memory is gone with it.
    await h.health(input([pod('x'), pod('y')]));
    expect((await h.health(input([pod('a')]))).failed).toBe(false);
  });

  it('fails a replica with a pod on a node whose agent reports an unhealthy GPU, naming the GPU', async () => {
    const h = fleetHealth();
    const v = await h.health(input([pod('a', { node: 'n1' }), pod('b', { node: 'n2' })], { unhealthyGpuNodes: new Map([['n2', 'GPU 3 (GPU-n2-3): XID 79']]) }));
    expect(v).toMatchObject({ ready: false, failed: true });
    expect(v.reasons).toContain('node n2: GPU unhealthy (GPU 3 (GPU-n2-3): XID 79)');
  });

  it('reports what the dashboard and the engine say when they are down', async () => {
    const h = fleetHealth();
    dashboard.setGcsHealthy(false);
    try {
      const v = await h.health(input([pod('a'), pod('b')]));
      expect(v.ready).toBe(false);
      expect(v.reasons).toContain('ray GCS unhealthy');
    } finally {
      dashboard.setGcsHealthy(true);
    }
  });

  it('forgets everything on dispose', async () => {
    const h = fleetHealth();
    expect((await h.health(input([pod('a'), pod('b')]))).ready).toBe(true);
    h.dispose();
    expect((await h.health(input([pod('a')]))).failed).toBe(false);
    await h.health(input([pod('a'), pod('b')]));
    expect(h.probes).toHaveLength(2);
  });
});
