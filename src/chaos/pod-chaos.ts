/** PodChaos: kill pods, make them fail (pause image) for a while, or kill named containers. */
import { experimentBase, selection } from './experiment-base.js';
import type { ExperimentInput, PodChaos, PodChaosSpec } from './types.js';
import { validateChaos } from './validate-chaos.js';

export type PodChaosInput = ExperimentInput &
  (
    | { readonly action: 'pod-kill'; /** Seconds the pods get to stop; default the pod's own. */ readonly gracePeriod?: number }
    | { readonly action: 'pod-failure'; readonly duration: string }
    | { readonly action: 'container-kill'; readonly containerNames: readonly string[] }
  );

export function podChaos(input: PodChaosInput): PodChaos {
  const spec: PodChaosSpec = { action: input.action, ...selection(input, input.namespace, 'one') };
  if (input.duration !== undefined) spec.duration = input.duration;
  if (input.action === 'pod-kill' && input.gracePeriod !== undefined) spec.gracePeriod = input.gracePeriod;
  if (input.action === 'container-kill') spec.containerNames = [...input.containerNames];
  return validateChaos({ ...experimentBase('PodChaos', input), spec }) as PodChaos;
}
