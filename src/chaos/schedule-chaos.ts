/** Schedule: runs an experiment again and again on a cron schedule (soak tests). */
import { CHAOS_KINDS } from './chaos-kinds.js';
import { experimentBase, type MetadataInput } from './experiment-base.js';
import type { ExperimentObject, Schedule, ScheduleSpec } from './types.js';
import { validateChaos } from './validate-chaos.js';

export interface ScheduleInput extends Omit<MetadataInput, 'name' | 'namespace'> {
  /** Default: the experiment's name. */
  readonly name?: string;
  /** Default: the experiment's namespace. */
  readonly namespace?: string;
  /** Cron (`*\/15 * * * *`), a descriptor (`@hourly`) or `@every 10m`. */
  readonly schedule: string;
  /** `Forbid` (Chaos Mesh's default) skips a run while the previous one is still active. */
  readonly concurrencyPolicy?: 'Forbid' | 'Allow';
  /** Finished experiments kept. */
  readonly historyLimit?: number;
  /** A run missed by more than this many seconds is skipped. */
  readonly startingDeadlineSeconds?: number;
  /** The experiment to run; its metadata is not used, only its kind and spec. */
  readonly experiment: ExperimentObject;
}

export function scheduleChaos(input: ScheduleInput): Schedule {
  const exp = input.experiment;
  const field = CHAOS_KINDS[exp.kind].scheduleField ?? 'podChaos';
  const spec = { schedule: input.schedule, type: exp.kind, [field]: structuredClone(exp.spec) } as ScheduleSpec;
  if (input.concurrencyPolicy !== undefined) spec.concurrencyPolicy = input.concurrencyPolicy;
  if (input.historyLimit !== undefined) spec.historyLimit = input.historyLimit;
  if (input.startingDeadlineSeconds !== undefined) spec.startingDeadlineSeconds = input.startingDeadlineSeconds;
  const name = input.name ?? exp.metadata.name ?? '';
  const namespace = input.namespace ?? exp.metadata.namespace;
  const base = experimentBase('Schedule', { name, ...(namespace === undefined ? {} : { namespace }), labels: input.labels, annotations: input.annotations });
  return validateChaos({ ...base, spec }) as Schedule;
}
