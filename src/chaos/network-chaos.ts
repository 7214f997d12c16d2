/**
 * NetworkChaos between the selected pods and a target set (or external addresses): delay, loss,
 * partition, bandwidth. `direction` says which packets are affected: `to` the target (default),
 * `from` it, or `both`.
 */
import type { PodSelectorSpec, SelectorMode } from './chaos-schema.js';
import { experimentBase, selection } from './experiment-base.js';
import type { ExperimentInput, NetworkChaos, NetworkChaosSpec } from './types.js';
import { validateChaos } from './validate-chaos.js';

export interface NetworkTargetInput {
  readonly selector: PodSelectorSpec;
  /** Default `all`: every matching pod is on the other side. */
  readonly mode?: SelectorMode;
  readonly value?: number | string;
}

interface NetworkCommon extends ExperimentInput {
  readonly direction?: 'to' | 'from' | 'both';
  readonly target?: NetworkTargetInput;
  /** IPs or host names outside the cluster (direction `to` only). */
  readonly externalTargets?: readonly string[];
  /** Interface inside the pod, e.g. `eth0`. */
  readonly device?: string;
}

export type NetworkChaosInput = NetworkCommon &
  (
    | { readonly action: 'delay'; readonly delay: { readonly latency: string; readonly jitter?: string; readonly correlation?: number | string } }
    | { readonly action: 'loss'; readonly loss: { readonly loss: number | string; readonly correlation?: number | string } }
    | { readonly action: 'partition' }
    | { readonly action: 'bandwidth'; readonly bandwidth: { readonly rate: string; readonly limit: number; readonly buffer: number; readonly peakrate?: number; readonly minburst?: number } }
  );

export function networkChaos(input: NetworkChaosInput): NetworkChaos {
  const spec: NetworkChaosSpec = { action: input.action, ...selection(input, input.namespace, 'one') };
  if (input.duration !== undefined) spec.duration = input.duration;
  if (input.direction !== undefined) spec.direction = input.direction;
  if (input.target !== undefined) spec.target = selection(input.target, input.namespace, 'all');
  if (input.externalTargets !== undefined) spec.externalTargets = [...input.externalTargets];
  if (input.device !== undefined) spec.device = input.device;
  switch (input.action) {
    case 'delay': {
      const { latency, jitter, correlation } = input.delay;
      spec.delay = { latency, ...(jitter === undefined ? {} : { jitter }), ...(correlation === undefined ? {} : { correlation: String(correlation) }) };
      break;
    }
    case 'loss':
      spec.loss = { loss: String(input.loss.loss), ...(input.loss.correlation === undefined ? {} : { correlation: String(input.loss.correlation) }) };
      break;
    case 'bandwidth':
      spec.bandwidth = { ...input.bandwidth };
      break;
    case 'partition':
      break;
  }
  return validateChaos({ ...experimentBase('NetworkChaos', input), spec }) as NetworkChaos;
}
