import { afterEach, describe, expect, it } from 'vitest';
import { registryNodeSource } from '../../../src/coordinator/orchestrator/fleet-nodes.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';

let clock = 0;
let registry: Registry;
afterEach(() => registry?.dispose());

function newRegistry(): Registry {
  clock = Date.parse('2026-03-01T10:00:00Z');
  registry = new Registry({ sweepTimer: false, now: () => clock });
  return registry;
}

/** An agent report: `gpus` NVIDIA GPUs, those in `bad` unhealthy; `kvUsed` changes only the KV numbers. */
function report(node: string, gpus: number, bad: readonly number[] = [], kvUsed?: number): void {
  registry.upsertNode({
    name: node,
    agentUrl: `http://${node}:9464`,
    version: '1',
    components: ['accel', 'kvcache'],
    heartbeatMs: 1000,
    accelerators: Array.from({ length: gpus }, (_, i) => ({
      vendor: 'nvidia' as const,
      index: i,
      uuid: `GPU-${node}-${i}`,
      name: 'NVIDIA H100 80GB HBM3',
      health: bad.includes(i) ? ('unhealthy' as const) : ('healthy' as const),
      reasons: bad.includes(i) ? ['XID 79: GPU has fallen off the bus'] : [],
    })),
    ...(kvUsed !== undefined && { kv: { capacityBytes: 1e9, usedBytes: kvUsed, entries: 1, hitRatio: 0.5, policy: 'lru', socket: '/run/kv.sock' } }),
  });
}

describe('registryNodeSource', () => {
  it('knows no GPU limit while no agent reports GPUs', () => {
    const nodes = registryNodeSource(newRegistry());
    expect(nodes.maxGpusPerNode()).toBeUndefined();
    report('cpu-only', 0);
    expect(nodes.maxGpusPerNode()).toBeUndefined();
    expect(nodes.avoidNodes()).toEqual([]);
    expect(nodes.unhealthyGpuNodes?.()).toEqual(new Map());
  });

  it('takes the most GPUs of a reporting node, counting unhealthy GPUs but not stale nodes', () => {
    const nodes = registryNodeSource(newRegistry());
    report('n1', 4);
    report('n2', 8, [7]);
    expect(nodes.maxGpusPerNode()).toBe(8);
    clock += 2000;
    report('n1', 4);
    // n2 silent for 3 heartbeats and more: stale, and no longer the yardstick.
    clock += 1500;
    expect(registry.getNode('n2')?.state).toBe('stale');
    expect(nodes.maxGpusPerNode()).toBe(4);
  });

  it('counts only NVIDIA GPUs toward the limit: a fleet asks for nvidia.com/gpu, which an NPU node does not have', () => {
    const nodes = registryNodeSource(newRegistry());
    report('gpu-node', 8);
    registry.upsertNode({
      name: 'npu-node',
      agentUrl: 'http://npu-node:9464',
      version: '1',
      components: ['accel'],
      accelerators: Array.from({ length: 16 }, (_, i) => ({ vendor: 'ascend' as const, index: i, uuid: `NPU-${i}`, name: 'Ascend910B', health: 'healthy' as const, reasons: [] })),
    });
    expect(nodes.maxGpusPerNode()).toBe(8);
    registry.removeNode('gpu-node');
    expect(nodes.maxGpusPerNode()).toBeUndefined();
  });

  it('keeps new replicas off nodes with an unhealthy GPU and off stale nodes, but fails replicas only on the former', () => {
    const nodes = registryNodeSource(newRegistry());
    report('a', 8);
    report('b', 8, [2, 5]);
    report('c', 8);
    clock += 3500;
    report('a', 8);
    report('b', 8, [2, 5]);
    expect(nodes.avoidNodes()).toEqual(['b', 'c']);
    const bad = nodes.unhealthyGpuNodes?.();
    expect([...(bad?.keys() ?? [])]).toEqual(['b']);
    expect(bad?.get('b')).toBe('GPU 2 (GPU-b-2): XID 79: GPU has fallen off the bus; GPU 5 (GPU-b-5): XID 79: GPU has fallen off the bus');
  });

  it('stops avoiding a node once its GPUs are reported healthy again', () => {
    const nodes = registryNodeSource(newRegistry());
    report('a', 8, [0]);
    expect(nodes.avoidNodes()).toEqual(['a']);
    report('a', 8);
    expect(nodes.avoidNodes()).toEqual([]);
    expect(nodes.unhealthyGpuNodes?.().size).toBe(0);
  });

  it('passes on changes to the GPU limit, the avoided nodes and the unhealthy GPUs, and nothing else', () => {
    const nodes = registryNodeSource(newRegistry());
    report('a', 8, [], 100);
    let calls = 0;
    const off = nodes.onChange(() => calls++);
    // KV numbers, heartbeats and a new node that changes nothing the orchestrator reads.
    report('a', 8, [], 200);
    report('a', 8, [], 300);
    report('b', 4);
    expect(calls).toBe(0);
    report('c', 16);
    expect(calls).toBe(1);
    report('a', 8, [3], 300);
    expect(calls).toBe(2);
    // Another GPU of the same node going bad: same nodes, different detail.
    report('a', 8, [3, 4], 300);
    expect(calls).toBe(3);
    report('a', 8, [3, 4], 400);
    expect(calls).toBe(3);
    registry.removeNode('c');
    expect(calls).toBe(4);
    off();
    report('a', 8, [], 400);
    expect(calls).toBe(4);
  });

  it('notices a node going stale through the registry sweep', () => {
    const nodes = registryNodeSource(newRegistry());
    report('a', 8);
    report('b', 8);
    let calls = 0;
    nodes.onChange(() => calls++);
    clock += 2000;
    report('a', 8);
    expect(calls).toBe(0);
    clock += 1500;
    registry.sweep();
    expect(calls).toBe(1);
    expect(nodes.avoidNodes()).toEqual(['b']);
    // It comes back.
    report('b', 8);
    expect(calls).toBe(2);
    expect(nodes.avoidNodes()).toEqual([]);
  });
});
