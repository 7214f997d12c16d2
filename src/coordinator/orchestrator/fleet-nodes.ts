/**
 * The orchestrator's view of the nodes, from the agents' reports in the registry: the most NVIDIA
 * GPUs a reporting node has (a fleet asking for more per node can never be placed) and the nodes new
 * replicas stay off (an agent reports an unhealthy GPU there, or stopped reporting), and the nodes
 * whose GPUs are unhealthy with which (a replica there has failed). Changes that alter any of these
 * are passed on; KV and load numbers in reports are not.
 */
import { describeAccelerators } from '../registry/node-health.js';
import type { Registry } from '../registry/registry.js';
import type { FleetNodeSource } from './reconciler.js';

export function registryNodeSource(registry: Registry): FleetNodeSource {
  const maxGpusPerNode = (): number | undefined => {
    let max: number | undefined;
    for (const n of registry.listNodes()) {
      if (n.state === 'stale') continue;
      // Fleets ask for nvidia.com/gpu: a node's NPUs cannot hold a replica.
      const count = n.accelerators?.filter((a) => a.vendor === 'nvidia').length ?? 0;
      if (count > 0) max = Math.max(max ?? 0, count);
    }
    return max;
  };
  const avoidNodes = (): string[] =>
    registry
      .listNodes()
      .filter((n) => n.state === 'stale' || n.unhealthyGpus > 0)
      .map((n) => n.name);
  const unhealthyGpuNodes = (): Map<string, string> => {
    const out = new Map<string, string>();
    for (const n of registry.listNodes()) {
      const bad = registry.unhealthyGpus(n.name);
      if (bad.length > 0) out.set(n.name, describeAccelerators(bad));
    }
    return out;
  };
  const shape = (): string => JSON.stringify([maxGpusPerNode(), avoidNodes(), [...unhealthyGpuNodes()]]);
  return {
    maxGpusPerNode,
    avoidNodes,
    unhealthyGpuNodes,
    onChange(fn) {
      let last = shape();
      return registry.onChange(() => {
        const now = shape();
        if (now === last) return;
        last = now;
        fn();
      });
    },
  };
}
