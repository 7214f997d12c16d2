// The node-conditions controller against the fake API server: condition and taint set and cleared on
// a real Node object, other conditions and taints preserved, conflicts and errors retried.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeApiServer, startFakeApiServer } from '../../../mocks/kube-apiserver/index.js';
import type { AcceleratorReport, NodeReport } from '../../../src/common/node-report.js';
import { CONDITION_TYPE, desiredCondition, type NodeConditions, startNodeConditions, TAINT_KEY } from '../../../src/coordinator/registry/node-conditions.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { silentLog } from '../../helpers/apps.js';

const NODE_DEF = { version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, status: true };
const OTHER_TAINT = { key: 'dedicated', value: 'llm', effect: 'NoSchedule' };
const READY = { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' };

interface NodeObject {
  metadata: { name: string; resourceVersion: string };
  spec?: { taints?: { key: string; value?: string; effect: string; timeAdded?: string }[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string; lastHeartbeatTime?: string }[] };
}

let server: FakeApiServer;
let kube: KubeClient;
let t = 0;
let registry: Registry;
let controller: NodeConditions | undefined;

beforeAll(async () => {
  server = await startFakeApiServer({ resources: [NODE_DEF] });
  kube = createKubeClient({ kubeconfigText: server.kubeconfig() });
});
afterAll(async () => {
  await kube.dispose();
  await server.close();
});
beforeEach(() => {
  t = Date.parse('2026-03-01T10:00:00Z');
  registry = new Registry({ now: () => t, sweepTimer: false, staleAfter: 3 });
});
afterEach(async () => {
  await controller?.dispose();
  controller = undefined;
  registry.dispose();
  for (const n of server.store.list('nodes')) server.store.remove('nodes', undefined, n.metadata.name!);
});

function createNode(name: string): void {
  server.store.create('nodes', undefined, { metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: { taints: [OTHER_TAINT] } });
  server.store.update('nodes', undefined, name, { metadata: { name }, status: { conditions: [READY] } }, 'status');
}

const node = (name: string): NodeObject => server.store.get('nodes', undefined, name) as unknown as NodeObject;
const ours = (name: string) => node(name).status?.conditions?.find((c) => c.type === CONDITION_TYPE);
const taintKeys = (name: string) => (node(name).spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`);
const patches = () => server.requests.filter((r) => r.method === 'PATCH').length;

function gpu(index: number, health: AcceleratorReport['health'] = 'healthy', reasons: string[] = []): AcceleratorReport {
  return { vendor: 'nvidia', index, uuid: `GPU-${index}`, name: 'H100', health, reasons };
}
function report(name: string, accelerators: AcceleratorReport[]): NodeReport {
  return { name, agentUrl: `http://${name}:9464`, version: '1', components: ['accelerators'], heartbeatMs: 1000, accelerators };
}

function start(opts: { retryMs?: number } = {}): NodeConditions {
  controller = startNodeConditions(registry, kube, silentLog, { retryMs: opts.retryMs ?? 20, now: () => t });
  return controller;
}

describe('node conditions', () => {
  it('sets the condition False and the taint for an unhealthy GPU, keeping the other conditions and taints; clears both on recovery', async () => {
    createNode('gpu-a');
    const c = start();
    registry.upsertNode(report('gpu-a', [gpu(0), gpu(1, 'unhealthy', ['XID 79 (GPU has fallen off the bus)'])]));
    await c.settled();
    expect(ours('gpu-a')).toEqual({
      type: CONDITION_TYPE,
      status: 'False',
      reason: 'UnhealthyAccelerator',
      message: 'GPU 1 (GPU-1): XID 79 (GPU has fallen off the bus)',
      lastHeartbeatTime: '2026-03-01T10:00:00Z',
      lastTransitionTime: '2026-03-01T10:00:00Z',
    });
    expect(node('gpu-a').status?.conditions?.[0]).toEqual(READY);
    expect(taintKeys('gpu-a')).toEqual(['dedicated:NoSchedule', `${TAINT_KEY}:NoSchedule`]);
    expect(node('gpu-a').spec?.taints?.[0]).toEqual(OTHER_TAINT);

    t += 60_000;
    registry.upsertNode(report('gpu-a', [gpu(0), gpu(1)]));
    await c.settled();
    expect(ours('gpu-a')).toMatchObject({ status: 'True', reason: 'AcceleratorsHealthy', message: 'all 2 accelerators healthy', lastTransitionTime: '2026-03-01T10:01:00Z' });
    expect(node('gpu-a').spec?.taints).toEqual([OTHER_TAINT]);
    expect(node('gpu-a').status?.conditions?.map((x) => x.type)).toEqual(['Ready', CONDITION_TYPE]);
  });

  it('writes nothing when the Node already says it (idempotent), and keeps the transition time on a same-status change', async () => {
    createNode('gpu-b');
    registry.upsertNode(report('gpu-b', [gpu(0, 'unhealthy', ['row remap failure'])]));
    const c = start();
    await c.settled();
    const before = patches();
    expect(before).toBeGreaterThanOrEqual(2);
    await c.dispose();
    // A second controller (a restarted coordinator) finds the Node as wanted: reads only.
    const again = start();
    await again.settled();
    expect(patches()).toBe(before);
    // Same status, new message (a second GPU fails): the condition is rewritten, its transition time kept.
    t += 5000;
    registry.upsertNode(report('gpu-b', [gpu(0, 'unhealthy', ['row remap failure']), gpu(1, 'unhealthy', ['XID 48'])]));
    await again.settled();
    expect(ours('gpu-b')).toMatchObject({ status: 'False', message: 'GPU 0 (GPU-0): row remap failure; GPU 1 (GPU-1): XID 48', lastTransitionTime: '2026-03-01T10:00:00Z', lastHeartbeatTime: '2026-03-01T10:00:05Z' });
    expect(taintKeys('gpu-b').filter((k) => k.startsWith(TAINT_KEY))).toHaveLength(1);
  });

  it('reports that change nothing the Node shows (KV use, heartbeats) cost the API server nothing', async () => {
    createNode('gpu-k');
    const c = start();
    const r = report('gpu-k', [gpu(0, 'unhealthy', ['XID 79'])]);
    registry.upsertNode(r);
    await c.settled();
    const before = server.requests.length;
    for (let used = 1; used <= 5; used++) {
      registry.upsertNode({ ...r, kv: { capacityBytes: 100, usedBytes: used * 10, entries: used, hitRatio: 0.5, policy: 's3fifo', socket: '/run/kv.sock' } });
      await c.settled();
    }
    expect(server.requests.length).toBe(before);
    registry.upsertNode({ ...r, accelerators: [gpu(0)] });
    await c.settled();
    expect(ours('gpu-k')?.status).toBe('True');
  });

  it('marks a stale node AgentStale with the taint; a report brings it back', async () => {
    createNode('gpu-c');
    const c = start();
    registry.upsertNode(report('gpu-c', [gpu(0)]));
    await c.settled();
    expect(ours('gpu-c')?.status).toBe('True');
    t += 3001;
    registry.sweep();
    await c.settled();
    expect(ours('gpu-c')).toMatchObject({ status: 'False', reason: 'AgentStale' });
    expect(ours('gpu-c')?.message).toMatch(/^the brixlet agent has not reported since 2026-03-01T10:0\d:\d\d\.\d{3}Z$/);
    expect(taintKeys('gpu-c')).toContain(`${TAINT_KEY}:NoSchedule`);
    registry.upsertNode(report('gpu-c', [gpu(0)]));
    await c.settled();
    expect(ours('gpu-c')).toMatchObject({ status: 'True', reason: 'AcceleratorsHealthy' });
    expect(taintKeys('gpu-c')).toEqual(['dedicated:NoSchedule']);
  });

  it('re-reads and retries when a write conflicts with another writer', async () => {
    createNode('gpu-d');
    const c = start();
    server.failNext({ method: 'PATCH', path: '/api/v1/nodes/gpu-d/status', status: 409, reason: 'Conflict', message: 'the object has been modified' });
    server.failNext({ method: 'PATCH', path: /\/api\/v1\/nodes\/gpu-d$/, status: 409, reason: 'Conflict', message: 'the object has been modified' });
    registry.upsertNode(report('gpu-d', [gpu(0, 'unhealthy', ['XID 79'])]));
    await c.settled();
    expect(ours('gpu-d')?.status).toBe('False');
    expect(taintKeys('gpu-d')).toEqual(['dedicated:NoSchedule', `${TAINT_KEY}:NoSchedule`]);
    // Both injected conflicts were hit, each followed by a fresh read and a successful patch.
    const calls = server.requests.filter((r) => r.path.startsWith('/api/v1/nodes/gpu-d')).map((r) => `${r.method} ${r.path.slice('/api/v1/nodes/gpu-d'.length) || '/'}`);
    expect(calls).toEqual(['GET /', 'PATCH /status', 'GET /', 'PATCH /status', 'PATCH /', 'GET /', 'PATCH /']);
    expect(server.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/api/v1/nodes/gpu-d')).every((r) => r.contentType === 'application/merge-patch+json')).toBe(true);
  });

  it('a condition another writer changed since our last write is kept as they left it', async () => {
    createNode('gpu-e');
    const c = start();
    registry.upsertNode(report('gpu-e', []));
    await c.settled();
    // The kubelet updates its Ready condition; our next write must keep it, not the copy read earlier.
    const fresh = { ...READY, lastHeartbeatTime: '2026-03-01T10:00:30Z' };
    server.store.update('nodes', undefined, 'gpu-e', { metadata: { name: 'gpu-e' }, status: { conditions: [fresh, ours('gpu-e')!] } }, 'status');
    registry.upsertNode(report('gpu-e', [gpu(0, 'unhealthy', ['XID 79'])]));
    await c.settled();
    expect(node('gpu-e').status?.conditions?.[0]?.lastHeartbeatTime).toBe('2026-03-01T10:00:30Z');
  });

  it('retries later after API errors, never throwing', async () => {
    createNode('gpu-f');
    const c = start({ retryMs: 10 });
    server.failNext({ method: 'GET', path: '/api/v1/nodes/gpu-f', status: 500, times: 3 });
    registry.upsertNode(report('gpu-f', [gpu(0, 'unhealthy', ['XID 79'])]));
    await expect.poll(() => ours('gpu-f')?.status, { timeout: 10_000, interval: 20 }).toBe('False');
    await c.settled();
    expect(taintKeys('gpu-f')).toContain(`${TAINT_KEY}:NoSchedule`);
    // Three failed reads, each retried after a backoff, then one that worked.
    expect(server.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes/gpu-f').length).toBeGreaterThanOrEqual(4);
  });

  it('skips a node Kubernetes does not know and carries on with the others', async () => {
    createNode('gpu-g');
    const c = start();
    registry.upsertNode(report('laptop', [gpu(0, 'unhealthy', ['XID 79'])]));
    registry.upsertNode(report('gpu-g', [gpu(0, 'unhealthy', ['XID 79'])]));
    await c.settled();
    expect(ours('gpu-g')?.status).toBe('False');
    expect(server.store.get('nodes', undefined, 'laptop')).toBeUndefined();
  });

  it('on removal from the registry, sets Unknown and lifts only its own taint', async () => {
    createNode('gpu-h');
    const c = start();
    registry.upsertNode(report('gpu-h', [gpu(0, 'unhealthy', ['XID 79'])]));
    await c.settled();
    expect(taintKeys('gpu-h')).toHaveLength(2);
    registry.removeNode('gpu-h');
    await c.settled();
    expect(ours('gpu-h')).toMatchObject({ status: 'Unknown', reason: 'AgentRemoved' });
    expect(node('gpu-h').spec?.taints).toEqual([OTHER_TAINT]);
  });

  it('stops on dispose: later changes write nothing', async () => {
    createNode('gpu-i');
    const c = start();
    await c.dispose();
    const before = server.requests.length;
    registry.upsertNode(report('gpu-i', [gpu(0, 'unhealthy', ['XID 79'])]));
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests.length).toBe(before);
    expect(ours('gpu-i')).toBeUndefined();
  });
});

describe('desiredCondition', () => {
  const view = { ...report('n', []), firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:00.000Z', state: 'ready' as const, unhealthyGpus: 0 };
  it('caps a long message and reports stale nodes with what was last known', () => {
    const many = Array.from({ length: 64 }, (_, i) => gpu(i, 'unhealthy', ['XID 79 (GPU has fallen off the bus)']));
    expect(desiredCondition({ ...view, accelerators: many }).message).toHaveLength(1024);
    const stale = desiredCondition({ ...view, state: 'stale', accelerators: [gpu(2, 'unhealthy', ['XID 48'])] });
    expect(stale).toEqual({
      status: 'False',
      reason: 'AgentStale',
      message: 'the brixlet agent has not reported since 2026-01-01T00:00:00.000Z; unhealthy when last heard: GPU 2 (GPU-2): XID 48',
      taint: true,
    });
    expect(desiredCondition(view)).toEqual({ status: 'True', reason: 'AcceleratorsHealthy', message: 'no accelerators reported', taint: false });
  });
});
