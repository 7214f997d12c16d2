/**
 * The fake dashboard's view of its Ray cluster: a head and workers with fixed resources, which a
 * test kills or adds (`setAlive`), and the two answers built from them the way the real dashboard
 * builds them: `/api/cluster_status` (the autoscaler monitor's report, keys camelCased by the
 * dashboard except inside tuples) and `/api/v0/nodes` (the state API, snake_case, dead nodes kept).
 */
import { createHash } from 'node:crypto';

export interface FakeNode {
  readonly nodeId: string;
  readonly ip: string;
  readonly isHead: boolean;
  alive: boolean;
  /** Static resources, Ray's own key spelling (`object_store_memory`, `node:10.0.0.1`). */
  readonly resources: Record<string, number>;
  readonly startTimeMs: number;
  endTimeMs: number;
}

export interface FakeClusterOptions {
  readonly gpusPerNode: number;
  readonly cpusPerNode: number;
  /** GPUs on the head (KubeRay serving heads run vLLM rank 0, so they have GPUs). Default gpusPerNode. */
  readonly headGpus?: number;
}

const GiB = 1024 ** 3;

export class FakeCluster {
  readonly nodes: FakeNode[] = [];
  gpusUsed = 0;
  pendingNodes = 0;
  failedNodes = 0;
  /** false: the monitor has not written its first report (clusterStatus is null). */
  reportReady = true;
  autoscaler = false;
  autoscalingError: string | null = null;
  private serial = 0;

  constructor(private readonly opts: FakeClusterOptions, private readonly now: () => number) {}

  get aliveCount(): number {
    return this.nodes.filter((n) => n.alive).length;
  }

  /** Kills the newest alive nodes (head last) or starts new ones until `count` are alive. */
  setAlive(count: number): void {
    let alive = this.nodes.filter((n) => n.alive);
    while (alive.length > count) {
      const victim = alive.filter((n) => !n.isHead).at(-1) ?? alive.at(-1)!;
      victim.alive = false;
      victim.endTimeMs = this.now();
      alive = this.nodes.filter((n) => n.alive);
    }
    while (alive.length < count) {
      this.nodes.push(this.newNode(!alive.some((n) => n.isHead)));
      alive = this.nodes.filter((n) => n.alive);
    }
  }

  clusterStatusData(): unknown {
    const alive = this.nodes.filter((n) => n.alive);
    if (!this.reportReady) return { autoscalingStatus: null, autoscalingError: this.autoscalingError, clusterStatus: null };
    const usage: Record<string, [number, number]> = {};
    const usageByNode: Record<string, Record<string, [number, number]>> = {};
    let gpusLeft = this.gpusUsed;
    for (const node of alive) {
      const perNode: Record<string, [number, number]> = {};
      for (const [key, total] of Object.entries(node.resources)) {
        const used = key === 'GPU' ? Math.min(total, gpusLeft) : 0;
        if (key === 'GPU') gpusLeft -= used;
        const name = camel(key);
        perNode[name] = [used, total];
        const sum = usage[name] ?? [0, 0];
        usage[name] = [sum[0] + used, sum[1] + total];
      }
      usageByNode[node.ip] = perNode;
    }
    const head = alive.find((n) => n.isHead);
    const report: Record<string, unknown> = {
      gcsRequestTime: 0.0012,
      loadMetricsReport: {
        usage,
        resourceDemand: [],
        pgDemand: [],
        requestDemand: [],
        // Every node carries its own `node:<ip>` resource, so each is its own shape with count 1.
        nodeTypes: alive.map((n) => [n.resources, 1]),
        headIp: null,
        usageByNode,
      },
      time: this.now() / 1000,
      monitorPid: 4242,
    };
    if (this.autoscaler) {
      const workers = alive.filter((n) => !n.isHead).length;
      report['autoscalerReport'] = {
        activeNodes: { headgroup: head ? 1 : 0, 'gpu-group': workers },
        idleNodes: {},
        pendingNodes: Array.from({ length: this.pendingNodes }, (_, i) => [`10.0.1.${i + 1}`, 'gpu-group', 'setting-up']),
        pendingLaunches: {},
        failedNodes: Array.from({ length: this.failedNodes }, (_, i) => [`10.0.2.${i + 1}`, 'gpu-group']),
        nodeAvailabilitySummary: { nodeAvailabilities: {} },
        pendingResources: {},
        legacy: false,
      };
    }
    return {
      autoscalingStatus: `======== Autoscaler status ========\nActive:\n ${alive.length} node(s)\n`,
      autoscalingError: this.autoscalingError,
      clusterStatus: report,
    };
  }

  stateNodesData(limit: number): unknown {
    const rows = this.nodes.slice(0, limit).map((n) => ({
      node_id: n.nodeId,
      node_ip: n.ip,
      is_head_node: n.isHead,
      state: n.alive ? 'ALIVE' : 'DEAD',
      state_message: n.alive ? null : 'Unexpected termination: health check failed due to missing too many heartbeats',
      node_name: n.ip,
      resources_total: n.resources,
      labels: { 'ray.io/node_id': n.nodeId },
      start_time_ms: n.startTimeMs,
      end_time_ms: n.endTimeMs,
    }));
    return { result: { total: this.nodes.length, num_after_truncation: rows.length, num_filtered: rows.length, result: rows, partial_failure_warning: '', warnings: null } };
  }

  get headNodeId(): string {
    return this.nodes.find((n) => n.isHead && n.alive)?.nodeId ?? this.nodes[0]?.nodeId ?? '';
  }

  private newNode(isHead: boolean): FakeNode {
    this.serial += 1;
    const ip = `10.0.0.${this.serial}`;
    const gpus = isHead ? (this.opts.headGpus ?? this.opts.gpusPerNode) : this.opts.gpusPerNode;
    const resources: Record<string, number> = {
      CPU: this.opts.cpusPerNode,
      memory: 64 * GiB,
      object_store_memory: 16 * GiB,
      [`node:${ip}`]: 1,
      ...(gpus > 0 ? { GPU: gpus, 'accelerator_type:H100': 1 } : {}),
      ...(isHead ? { 'node:__internal_head__': 1 } : {}),
    };
    // Ray node ids are 28 random bytes in hex; a hash keeps them stable across runs of a test.
    const nodeId = createHash('sha256').update(`fake-ray-node-${this.serial}`).digest('hex').slice(0, 56);
    return { nodeId, ip, isHead, alive: true, resources, startTimeMs: this.now(), endTimeMs: 0 };
  }
}

/** The dashboard's key conversion (`to_camel_case`): `object_store_memory` → `objectStoreMemory`. */
function camel(key: string): string {
  const [first, ...rest] = key.split('_');
  return (first ?? '') + rest.map((p) => (p.length > 0 ? p[0]!.toUpperCase() + p.slice(1).toLowerCase() : '')).join('');
}
