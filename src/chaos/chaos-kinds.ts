/**
 * The Chaos Mesh kinds brixlet builds, how the API names them (the plurals are irregular:
 * `podchaos`, not `podchaoses`) and where a Schedule embeds each one's spec.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ResourceRef } from '../kube/types.js';
import { IOChaosSpec, NetworkChaosSpec, PodChaosSpec, ScheduleSpec, StressChaosSpec } from './chaos-schema.js';

export const CHAOS_GROUP = 'chaos-mesh.org';
export const CHAOS_API_VERSION = `${CHAOS_GROUP}/v1alpha1`;

export type ExperimentKind = 'PodChaos' | 'NetworkChaos' | 'StressChaos' | 'IOChaos';
export type ChaosKind = ExperimentKind | 'Schedule';

export interface ChaosKindInfo {
  readonly kind: ChaosKind;
  readonly ref: ResourceRef;
  readonly spec: TSchema;
  /** The key under a Schedule's spec that holds this kind's spec. */
  readonly scheduleField?: 'podChaos' | 'networkChaos' | 'stressChaos' | 'ioChaos';
}

const ref = (plural: string): ResourceRef => ({ group: CHAOS_GROUP, version: 'v1alpha1', plural, namespaced: true });

export const CHAOS_KINDS: Readonly<Record<ChaosKind, ChaosKindInfo>> = {
  PodChaos: { kind: 'PodChaos', ref: ref('podchaos'), spec: PodChaosSpec, scheduleField: 'podChaos' },
  NetworkChaos: { kind: 'NetworkChaos', ref: ref('networkchaos'), spec: NetworkChaosSpec, scheduleField: 'networkChaos' },
  StressChaos: { kind: 'StressChaos', ref: ref('stresschaos'), spec: StressChaosSpec, scheduleField: 'stressChaos' },
  IOChaos: { kind: 'IOChaos', ref: ref('iochaos'), spec: IOChaosSpec, scheduleField: 'ioChaos' },
  Schedule: { kind: 'Schedule', ref: ref('schedules'), spec: ScheduleSpec },
};

export const EXPERIMENT_KINDS: readonly ExperimentKind[] = ['PodChaos', 'NetworkChaos', 'StressChaos', 'IOChaos'];

export function isChaosKind(kind: unknown): kind is ChaosKind {
  return typeof kind === 'string' && Object.hasOwn(CHAOS_KINDS, kind);
}
