/**
 * The node registry as the engine set sees it: whether an engine's node (and GPUs) may take
 * requests, a change signal to recompute exclusion, and the node's KV shard summary for the
 * kv-aware policy. Kept to the three Registry calls it needs, so the engine set does not depend on
 * the rest of the registry.
 */
import type { NodeKvView } from '../router/types.js';
import type { Registry } from '../registry/registry.js';
import type { NodeHealthView } from './engine-set.js';

export function registryNodeView(registry: Pick<Registry, 'isRoutable' | 'onChange' | 'getReport'>): NodeHealthView {
  return {
    isRoutable: (node, gpus) => registry.isRoutable(node, gpus),
    onChange: (fn) => registry.onChange(() => fn()),
    kvOf(node): NodeKvView | undefined {
      const kv = registry.getReport(node)?.kv;
      return kv === undefined ? undefined : { capacityBytes: kv.capacityBytes, usedBytes: kv.usedBytes, hitRatio: kv.hitRatio };
    },
  };
}
