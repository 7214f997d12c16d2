import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createReplicaProber,
  probeReplica,
  replicaHealth,
  type ContainerStatusView,
  type ReplicaHealthInput,
  type ReplicaPod,
} from '../../../src/coordinator/orchestrator/health.js';
import { startFakeRayDashboard, type FakeRayDashboard } from '../../../mocks/ray-dashboard/index.js';
import { freePort } from '../../helpers/ports.js';

interface PodSpec {
  ready?: boolean;
  phase?: string;
  reason?: string;
  node?: string;
  deleting?: boolean;
  containers?: ContainerStatusView[];
  unschedulable?: boolean;
}

function pod(name: string, s: PodSpec = {}): ReplicaPod {
  const ready = s.ready ?? true;
  return {
    metadata: { name, ...(s.deleting ? { deletionTimestamp: '2026-12-07T17:00:00Z' } : {}) },
    spec: { nodeName: s.node ?? `node-${name}` },
    status: {
      phase: s.phase ?? (ready ? 'Running' : 'Pending'),
      ...(s.reason ? { reason: s.reason } : {}),
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False' },
        ...(s.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] : []),
      ],
      containerStatuses: s.containers ?? [{ name: 'ray', ready, restartCount: 0, state: ready ? { running: {} } : { waiting: { reason: 'ContainerCreating' } } }],
    },
  };
}

const crash = (restarts: number): ContainerStatusView[] => [
  { name: 'ray', restartCount: restarts, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } },
];

/** A healthy two-node ray replica; each case changes one thing. */
function base(over: Partial<ReplicaHealthInput> = {}): ReplicaHealthInput {
  return {
    pods: [pod('head'), pod('worker-0')],
    expectedPods: 2,
    backend: 'ray',
    ray: { reachable: true, gcsHealthy: true, aliveNodes: 2, gpusTotal: 16 },
    requiredGpus: 16,
    engine: { healthy: true },
    ...over,
  };
}

describe('replicaHealth', () => {
  const cases: [string, Partial<ReplicaHealthInput>, { ready: boolean; failed: boolean; reasons: string[] }][] = [
    ['healthy ray replica', {}, { ready: true, failed: false, reasons: [] }],
    ['healthy lws replica needs no ray probe', { backend: 'lws', ray: undefined }, { ready: true, failed: false, reasons: [] }],
    [
      'a worker still being created',
      { pods: [pod('head'), pod('worker-0', { ready: false })], ray: { reachable: true, gcsHealthy: true, aliveNodes: 1, gpusTotal: 8 } },
      { ready: false, failed: false, reasons: ['pods 1/2 ready (worker-0: ContainerCreating)', 'ray sees 1/2 nodes alive'] },
    ],
    [
      'a worker not scheduled yet',
      { pods: [pod('head'), pod('worker-0', { ready: false, unschedulable: true, containers: [] })] },
      { ready: false, failed: false, reasons: ['pods 1/2 ready (worker-0: Pending (Unschedulable))'] },
    ],
    [
      'a worker not created yet (replica starting)',
      { pods: [pod('head')] },
      { ready: false, failed: false, reasons: ['pods 1/2 ready (1 missing)'] },
    ],
    [
      'a worker deleted from a started replica',
      { pods: [pod('head')], started: true },
      { ready: false, failed: true, reasons: ['pods 1/2 ready (1 missing)'] },
    ],
    [
      'a worker being deleted in a started replica',
      { pods: [pod('head'), pod('worker-0', { deleting: true })], started: true },
      { ready: false, failed: true, reasons: ['pods 1/2 ready (worker-0: terminating; 1 missing)'] },
    ],
    [
      'a crash loop below the limit is still starting',
      { pods: [pod('head'), pod('worker-0', { ready: false, phase: 'Running', containers: crash(2) })] },
      { ready: false, failed: false, reasons: ['pods 1/2 ready (worker-0: CrashLoopBackOff, 2 restarts, last exit 1 Error)'] },
    ],
    [
      'a crash loop at the limit is failed',
      { pods: [pod('head'), pod('worker-0', { ready: false, phase: 'Running', containers: crash(3) })] },
      { ready: false, failed: true, reasons: ['pods 1/2 ready (worker-0: CrashLoopBackOff, 3 restarts, last exit 1 Error)'] },
    ],
    [
      'a container that exited with an error',
      {
        pods: [
          pod('head', { ready: false, phase: 'Running', containers: [{ name: 'ray-head', restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] }),
          pod('worker-0'),
        ],
      },
      { ready: false, failed: true, reasons: ['pods 1/2 ready (head: ray-head exited 137 (OOMKilled))'] },
    ],
    [
      'a pod in phase Failed (evicted)',
      { pods: [pod('head'), pod('worker-0', { ready: false, phase: 'Failed', reason: 'Evicted', containers: [] })] },
      { ready: false, failed: true, reasons: ['pods 1/2 ready (worker-0: Failed (Evicted))'] },
    ],
    [
      'a pod whose server exited cleanly',
      { pods: [pod('head', { ready: false, phase: 'Succeeded', containers: [] }), pod('worker-0')] },
      { ready: false, failed: true, reasons: ['pods 1/2 ready (head: exited (Succeeded))'] },
    ],
    [
      'an image that cannot be pulled is stuck, not failed',
      { pods: [pod('head', { ready: false, containers: [{ name: 'ray-head', state: { waiting: { reason: 'ImagePullBackOff' } } }] }), pod('worker-0')] },
      { ready: false, failed: false, reasons: ['pods 1/2 ready (head: ImagePullBackOff)'] },
    ],
    [
      'ErrImagePull',
      { pods: [pod('head'), pod('worker-0', { ready: false, containers: [{ name: 'ray', state: { waiting: { reason: 'ErrImagePull' } } }] })] },
      { ready: false, failed: false, reasons: ['pods 1/2 ready (worker-0: ErrImagePull)'] },
    ],
    [
      'ray has not been probed yet',
      { ray: undefined },
      { ready: false, failed: false, reasons: ['ray: not probed yet'] },
    ],
    [
      'ray dashboard unreachable',
      { ray: { reachable: false, error: 'connect ECONNREFUSED 10.0.0.1:8265' } },
      { ready: false, failed: false, reasons: ['ray dashboard unreachable: connect ECONNREFUSED 10.0.0.1:8265'] },
    ],
    [
      'ray GCS unhealthy',
      { ray: { reachable: true, gcsHealthy: false, aliveNodes: 2, gpusTotal: 16 } },
      { ready: false, failed: false, reasons: ['ray GCS unhealthy'] },
    ],
    [
      'ray sees fewer nodes than pods while starting',
      { ray: { reachable: true, gcsHealthy: true, aliveNodes: 1, gpusTotal: 8 } },
      { ready: false, failed: false, reasons: ['ray sees 1/2 nodes alive'] },
    ],
    [
      'ray lost a node behind ready pods in a started replica',
      { ray: { reachable: true, gcsHealthy: true, aliveNodes: 1, gpusTotal: 8 }, started: true },
      { ready: false, failed: true, reasons: ['ray sees 1/2 nodes alive'] },
    ],
    [
      'ray sees more nodes than the group has',
      { ray: { reachable: true, gcsHealthy: true, aliveNodes: 3, gpusTotal: 24 } },
      { ready: false, failed: false, reasons: ['ray sees 3/2 nodes alive'] },
    ],
    [
      'ray sees too few GPUs for TP × PP (placement group would hang)',
      { ray: { reachable: true, gcsHealthy: true, aliveNodes: 2, gpusTotal: 8 } },
      { ready: false, failed: false, reasons: ['ray sees 8 GPUs, needs TP×PP = 16'] },
    ],
    [
      'GPUs lost in a started replica',
      { ray: { reachable: true, gcsHealthy: true, aliveNodes: 2, gpusTotal: 15 }, started: true },
      { ready: false, failed: true, reasons: ['ray sees 15 GPUs, needs TP×PP = 16'] },
    ],
    [
      'cluster status unreadable',
      { ray: { reachable: true, gcsHealthy: true, error: 'not JSON: "<html>"' } },
      { ready: false, failed: false, reasons: ['ray dashboard: not JSON: "<html>"'] },
    ],
    [
      'engine not probed yet',
      { engine: undefined },
      { ready: false, failed: false, reasons: ['engine /health: not probed yet'] },
    ],
    [
      'engine /health refused',
      { engine: { healthy: false, error: 'connection refused' } },
      { ready: false, failed: false, reasons: ['engine /health: connection refused'] },
    ],
    [
      'a pod on a node with an unhealthy GPU (detail known)',
      { pods: [pod('head'), pod('worker-0', { node: 'gpu-3' })], unhealthyGpuNodes: new Map([['gpu-3', 'GPU 2: XID 79']]) },
      { ready: false, failed: true, reasons: ['node gpu-3: GPU unhealthy (GPU 2: XID 79)'] },
    ],
    [
      'a pod on a node with an unhealthy GPU (set)',
      { pods: [pod('head', { node: 'gpu-1' }), pod('worker-0')], unhealthyGpuNodes: new Set(['gpu-1', 'gpu-9']) },
      { ready: false, failed: true, reasons: ['node gpu-1: GPU unhealthy'] },
    ],
    [
      'an unhealthy GPU elsewhere does not matter',
      { unhealthyGpuNodes: new Set(['gpu-9']) },
      { ready: true, failed: false, reasons: [] },
    ],
  ];

  it.each(cases)('%s', (_name, over, expected) => {
    expect(replicaHealth(base(over))).toEqual(expected);
  });

  it('lists at most three pod details', () => {
    const pods = ['a', 'b', 'c', 'd', 'e'].map((n) => pod(n, { ready: false }));
    const h = replicaHealth(base({ pods, expectedPods: 5, backend: 'lws' }));
    expect(h.reasons[0]).toBe('pods 0/5 ready (a: ContainerCreating; b: ContainerCreating; c: ContainerCreating; +2 more)');
  });

  it('gives every failing check its own line', () => {
    const h = replicaHealth(
      base({
        pods: [pod('head', { node: 'gpu-3' }), pod('worker-0', { ready: false, phase: 'Running', containers: crash(5) })],
        ray: { reachable: true, gcsHealthy: false, aliveNodes: 1, gpusTotal: 8 },
        engine: { healthy: false, error: 'HTTP 503' },
        unhealthyGpuNodes: new Map([['gpu-3', 'GPU 0: XID 48']]),
      }),
    );
    expect(h).toEqual({
      ready: false,
      failed: true,
      reasons: [
        'pods 1/2 ready (worker-0: CrashLoopBackOff, 5 restarts, last exit 1 Error)',
        'ray GCS unhealthy',
        'ray sees 1/2 nodes alive',
        'engine /health: HTTP 503',
        'node gpu-3: GPU unhealthy (GPU 0: XID 48)',
      ],
    });
  });

  it('honours a custom crash-loop limit', () => {
    const pods = [pod('head'), pod('worker-0', { ready: false, phase: 'Running', containers: crash(1) })];
    expect(replicaHealth(base({ pods, maxCrashLoopRestarts: 1 })).failed).toBe(true);
    expect(replicaHealth(base({ pods, maxCrashLoopRestarts: 2 })).failed).toBe(false);
  });
});

describe('probeReplica', () => {
  let fake: FakeRayDashboard;
  let engine: Server;
  let engineUrl: string;
  let engineStatus = 200;

  beforeEach(async () => {
    fake = await startFakeRayDashboard({ nodes: 2, gpusPerNode: 8 });
    engineStatus = 200;
    engine = createServer((req, res) => {
      res.statusCode = req.url === '/health' ? engineStatus : 404;
      res.end();
    });
    await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
    engineUrl = `http://127.0.0.1:${(engine.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await fake.close();
    engine.closeAllConnections();
    await new Promise((r) => engine.close(r));
  });

  it('reads the dashboard and the engine', async () => {
    const r = await probeReplica({ dashboardUrl: fake.url, engineUrl, timeoutMs: 2000 });
    expect(r).toEqual({ ray: { reachable: true, gcsHealthy: true, aliveNodes: 2, gpusTotal: 16 }, engine: { healthy: true } });
    expect(replicaHealth(base({ ray: r.ray, engine: r.engine })).ready).toBe(true);
  });

  it('probes only the engine without a dashboard (lws)', async () => {
    engineStatus = 503;
    await expect(probeReplica({ engineUrl: `${engineUrl}/`, timeoutMs: 2000 })).resolves.toEqual({ engine: { healthy: false, error: 'HTTP 503' } });
  });

  it('turns a dead worker and a GCS outage into health reasons', async () => {
    fake.setAliveNodes(1);
    fake.setGcsHealthy(false);
    const r = await probeReplica({ dashboardUrl: fake.url, engineUrl, timeoutMs: 2000 });
    expect(r.ray).toEqual({ reachable: true, gcsHealthy: false, aliveNodes: 1, gpusTotal: 8 });
    expect(replicaHealth(base({ ray: r.ray, engine: r.engine, started: true })).reasons).toEqual(['ray GCS unhealthy', 'ray sees 1/2 nodes alive']);
  });

  it('reports unreachable peers with the cause, without rejecting', async () => {
    const port = await freePort();
    const r = await probeReplica({ dashboardUrl: `http://127.0.0.1:${port}`, engineUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    expect(r.ray).toMatchObject({ reachable: false });
    expect(r.ray?.error).toMatch(/ECONNREFUSED/);
    expect(r.engine.healthy).toBe(false);
    expect(r.engine.error).toMatch(/ECONNREFUSED/);
  });

  it('bounds a stalled dashboard by the timeout and keeps what answered', async () => {
    fake.stall('/api/cluster_status');
    const r = await probeReplica({ dashboardUrl: fake.url, engineUrl, timeoutMs: 300 });
    expect(r.ray).toEqual({ reachable: true, gcsHealthy: true, error: 'timed out after 300 ms' });
    expect(r.engine).toEqual({ healthy: true });
    expect(replicaHealth(base({ ray: r.ray })).reasons).toEqual(['ray dashboard: timed out after 300 ms']);
  });

  it('reuses one client per head and releases everything on dispose', async () => {
    const prober = createReplicaProber({ timeoutMs: 2000, maxClusters: 1 });
    const other = await startFakeRayDashboard({ nodes: 1 });
    try {
      await expect(prober.probe({ dashboardUrl: fake.url, engineUrl })).resolves.toMatchObject({ ray: { aliveNodes: 2 } });
      await expect(prober.probe({ dashboardUrl: other.url, engineUrl })).resolves.toMatchObject({ ray: { aliveNodes: 1 } });
      await expect(prober.probe({ dashboardUrl: fake.url, engineUrl })).resolves.toMatchObject({ ray: { aliveNodes: 2 } });
    } finally {
      await prober.dispose();
      await other.close();
    }
    const after = await prober.probe({ dashboardUrl: fake.url, engineUrl });
    expect(after.ray?.reachable).toBe(false);
    expect(after.engine.healthy).toBe(false);
  });
});
