/**
 * The orchestrator's view of the nodes, from the agents' reports in the registry: the most NVIDIA
 * GPUs a reporting node has (a fleet asking for more per node can never be placed) and the nodes new
 * replicas stay off (an agent reports an unhealthy GPU there, or stopped reporting), and the nodes
 * whose GPUs are unhealthy with which (a replica there has failed). Changes that alter any of these
 * are passed on; KV and load numbers in reports are not.
 */
import { describeAccelerators } from '../registry/node-health.js';
import type { NodeView, Registry } from '../registry/registry.js';
import type { FleetNodeSource } from './reconciler.js';

export function registryNodeSource(registry: Registry): FleetNodeSource {
  // Each over one listing, so the change filter (run on every agent report) lists the nodes once.
  const maxGpusOf = (nodes: readonly NodeView[]): number | undefined => {
    let max: number | undefined;
    for (const n of nodes) {
      if (n.state === 'stale') continue;
      // Fleets ask for nvidia.com/gpu: a node's NPUs cannot hold a replica.
      const count = n.accelerators?.filter((a) => a.vendor === 'nvidia').length ?? 0;
      if (count > 0) max = Math.max(max ?? 0, count);
    }
    return max;
  };
  const avoidOf = (nodes: readonly NodeView[]): string[] => nodes.filter((n) => n.state === 'stale' || n.unhealthyGpus > 0).map((n) => n.name);
  const unhealthyOf = (nodes: readonly NodeView[]): Map<string, string> => {
    const out = new Map<string, string>();
    for (const n of nodes) {
      const bad = registry.unhealthyGpus(n.name);
      if (bad.length > 0) out.set(n.name, describeAccelerators(bad));
    }
    return out;
  };
  const shape = (): string => {
    const nodes = registry.listNodes();
    return JSON.stringify([maxGpusOf(nodes), avoidOf(nodes), [...unhealthyOf(nodes)]]);
  };
  return {
    maxGpusPerNode: () => maxGpusOf(registry.listNodes()),
    avoidNodes: () => avoidOf(registry.listNodes()),
    unhealthyGpuNodes: () => unhealthyOf(registry.listNodes()),
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
