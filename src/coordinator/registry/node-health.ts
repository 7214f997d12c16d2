/**
 * Whether a node's engines may take requests, from what its agent last reported: pure functions over
 * a report and the staleness verdict, shared by the registry (routing) and the node-conditions
 * controller (Kubernetes condition and taint), so both give the same reasons.
 */
import type { AcceleratorReport, NodeReport } from '../../common/node-report.js';

/** What `Registry.isRoutable` answers; `reason` says why not, for logs and GET /v1/engines. */
export interface Routability {
  readonly ok: boolean;
  readonly reason?: string;
}

export const ROUTABLE: Routability = Object.freeze({ ok: true });

/**
 * Accelerators the agent reports as unhealthy. Degraded (throttled, a PCIe link down-trained) and
 * unknown (the event source failed) GPUs still serve, only slower or unobserved, so they stay in.
 */
export function unhealthyAccelerators(report: Pick<NodeReport, 'accelerators'>): AcceleratorReport[] {
  return (report.accelerators ?? []).filter((a) => a.health === 'unhealthy');
}

/** `GPU 3 (GPU-ab12…): XID 79 (GPU has fallen off the bus)` — one line per device, `; ` between. */
export function describeAccelerators(gpus: readonly AcceleratorReport[]): string {
  return gpus
    .map((g) => {
      const kind = g.vendor === 'ascend' ? 'NPU' : 'GPU';
      const why = g.reasons.length > 0 ? `: ${g.reasons.join(', ')}` : '';
      return `${kind} ${g.index} (${g.uuid})${why}`;
    })
    .join('; ');
}

export interface RoutabilityInput {
  readonly name: string;
  readonly stale: boolean;
  /** Seconds since the last report, for the reason. */
  readonly silentSeconds: number;
  readonly unhealthy: readonly AcceleratorReport[];
}

/**
 * A stale node is out. Otherwise, with the engine's GPU UUIDs known, only those GPUs count; with
 * them unknown, any unhealthy GPU of the node takes the node's engines out (the engine might be on it).
 */
export function routability(node: RoutabilityInput, gpuUuids?: readonly string[]): Routability {
  if (node.stale) return { ok: false, reason: `node ${node.name} is stale (no agent report for ${Math.round(node.silentSeconds)} s)` };
  if (node.unhealthy.length === 0) return ROUTABLE;
  const hit = gpuUuids === undefined || gpuUuids.length === 0 ? node.unhealthy : node.unhealthy.filter((g) => gpuUuids.includes(g.uuid));
  if (hit.length === 0) return ROUTABLE;
  return { ok: false, reason: `unhealthy on node ${node.name}: ${describeAccelerators(hit)}` };
}
