/** The Chaos Mesh objects brixlet builds, applies and reads back. */
import type { KubeObject, ObjectMeta } from '../kube/types.js';
import type { ChaosKind } from './chaos-kinds.js';
import type { IOChaosSpec, NetworkChaosSpec, PodChaosSpec, PodSelectorSpec, ScheduleSpec, SelectorMode, StressChaosSpec } from './chaos-schema.js';

export type { IOChaosSpec, NetworkChaosSpec, PodChaosSpec, PodSelectorSpec, ScheduleSpec, SelectorMode, StressChaosSpec };

/** What the Chaos Mesh controller writes under `.status` (the parts brixlet reads). */
export interface ChaosStatusBody {
  conditions?: { type: string; status: string; reason?: string }[];
  experiment?: {
    desiredPhase?: 'Run' | 'Stop';
    containerRecords?: { id: string; phase: string; selectorKey?: string; injectedCount?: number; recoveredCount?: number }[];
  };
  /** Schedule: the experiments it has running, and when it last fired. */
  active?: { kind?: string; name?: string; namespace?: string }[];
  time?: string | null;
}

export interface ChaosObject<K extends ChaosKind = ChaosKind, S = unknown> extends KubeObject {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  status?: ChaosStatusBody;
}

export type PodChaos = ChaosObject<'PodChaos', PodChaosSpec>;
export type NetworkChaos = ChaosObject<'NetworkChaos', NetworkChaosSpec>;
export type StressChaos = ChaosObject<'StressChaos', StressChaosSpec>;
export type IOChaos = ChaosObject<'IOChaos', IOChaosSpec>;
export type Schedule = ChaosObject<'Schedule', ScheduleSpec>;
export type ExperimentObject = PodChaos | NetworkChaos | StressChaos | IOChaos;
export type AnyChaos = ExperimentObject | Schedule;

/** Builder input shared by every experiment kind. */
export interface ExperimentInput {
  readonly name: string;
  /** Namespace of the chaos object; also the pods' namespace when the selector names none. */
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly selector: PodSelectorSpec;
  /** Default `one`: the smallest blast radius. */
  readonly mode?: SelectorMode;
  /** Pod count for `fixed`, percent (1–100) for `fixed-percent` and `random-max-percent`. */
  readonly value?: number | string;
  /** Go duration (`30s`, `1m30s`); how long the fault lasts. */
  readonly duration?: string;
}
