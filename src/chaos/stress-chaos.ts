/** StressChaos: CPU and/or memory pressure inside the selected pods' containers (stress-ng). */
import { experimentBase, selection } from './experiment-base.js';
import type { ExperimentInput, StressChaos, StressChaosSpec } from './types.js';
import { validateChaos } from './validate-chaos.js';

export interface StressChaosInput extends ExperimentInput {
  /** `load` is the percent each worker keeps busy. */
  readonly cpu?: { readonly workers: number; readonly load?: number };
  /** `size` per worker: `256MB`, `1GiB`, or a percent of the pod's memory (`50%`). */
  readonly memory?: { readonly workers: number; readonly size?: string; readonly oomScoreAdj?: number };
  /** Only these containers; default all of the pod's. */
  readonly containerNames?: readonly string[];
}

export function stressChaos(input: StressChaosInput): StressChaos {
  const stressors: NonNullable<StressChaosSpec['stressors']> = {};
  if (input.cpu !== undefined) stressors.cpu = { ...input.cpu };
  if (input.memory !== undefined) stressors.memory = { ...input.memory };
  const spec: StressChaosSpec = { ...selection(input, input.namespace, 'one'), stressors };
  if (input.duration !== undefined) spec.duration = input.duration;
  if (input.containerNames !== undefined) spec.containerNames = [...input.containerNames];
  return validateChaos({ ...experimentBase('StressChaos', input), spec }) as StressChaos;
}
