/**
 * IOChaos: slow down (latency) or fail (fault, with an errno) file operations under a volume
 * mounted in the selected pods, e.g. the model-weights volume or the KV-cache spill directory.
 */
import { experimentBase, selection } from './experiment-base.js';
import type { ExperimentInput, IOChaos, IOChaosSpec } from './types.js';
import { validateChaos } from './validate-chaos.js';

interface IOCommon extends ExperimentInput {
  /** Mount point of the volume in the container. */
  readonly volumePath: string;
  /** Glob of the files affected; default every file under volumePath. */
  readonly path?: string;
  /** Operations affected (`read`, `write`, `open`, …); default all. */
  readonly methods?: readonly string[];
  /** Percent of operations affected; default 100. */
  readonly percent?: number;
  readonly containerNames?: readonly string[];
}

export type IOChaosInput = IOCommon & ({ readonly action: 'latency'; readonly delay: string } | { readonly action: 'fault'; readonly errno: number });

export function ioChaos(input: IOChaosInput): IOChaos {
  const spec: IOChaosSpec = { action: input.action, volumePath: input.volumePath, ...selection(input, input.namespace, 'one') };
  if (input.duration !== undefined) spec.duration = input.duration;
  if (input.path !== undefined) spec.path = input.path;
  if (input.methods !== undefined) spec.methods = [...input.methods];
  if (input.percent !== undefined) spec.percent = input.percent;
  if (input.containerNames !== undefined) spec.containerNames = [...input.containerNames];
  if (input.action === 'latency') spec.delay = input.delay;
  else spec.errno = input.errno;
  return validateChaos({ ...experimentBase('IOChaos', input), spec }) as IOChaos;
}
