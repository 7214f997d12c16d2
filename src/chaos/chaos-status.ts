/**
 * Reads what the Chaos Mesh controller reports under `.status` into one summary: the conditions
 * (Selected, AllInjected, AllRecovered, Paused), the desired phase (Run/Stop) and how many
 * selected containers are injected; for a Schedule, how many runs are active and when it last
 * fired.
 */
import type { ChaosKind } from './chaos-kinds.js';
import type { ChaosObject } from './types.js';

export type ChaosConditionType = 'Selected' | 'AllInjected' | 'AllRecovered' | 'Paused';

export interface ChaosState {
  readonly kind: ChaosKind;
  readonly name: string;
  readonly namespace: string;
  readonly exists: boolean;
  /** `Run` while the fault should be in place, `Stop` once it should be (or was) recovered. */
  readonly desiredPhase?: string;
  /** Condition type → `True` / `False` / `Unknown`, as the controller wrote them. */
  readonly conditions: Readonly<Record<string, string>>;
  /** Selected targets (containers or pods) and how many of them are injected right now. */
  readonly records: number;
  readonly injected: number;
  /** Schedule only: experiments it has running, and the last time it fired. */
  readonly active?: number;
  readonly lastRun?: string;
}

export function chaosState(kind: ChaosKind, name: string, namespace: string, obj: ChaosObject | undefined): ChaosState {
  if (obj === undefined) return { kind, name, namespace, exists: false, conditions: {}, records: 0, injected: 0 };
  const status = obj.status ?? {};
  const conditions: Record<string, string> = {};
  for (const c of status.conditions ?? []) conditions[c.type] = c.status;
  const records = status.experiment?.containerRecords ?? [];
  const state: ChaosState = {
    kind,
    name,
    namespace,
    exists: true,
    ...(status.experiment?.desiredPhase === undefined ? {} : { desiredPhase: status.experiment.desiredPhase }),
    conditions,
    records: records.length,
    injected: records.filter((r) => r.phase === 'Injected').length,
  };
  if (kind !== 'Schedule') return state;
  return { ...state, active: status.active?.length ?? 0, ...(typeof status.time === 'string' ? { lastRun: status.time } : {}) };
}

/** True when the controller reports the condition `True`. */
export function hasCondition(state: ChaosState, type: ChaosConditionType): boolean {
  return state.conditions[type] === 'True';
}

/** One line for logs and timeouts: `phase Run, Selected=True AllInjected=False, 1/2 injected`. */
export function describeChaosState(state: ChaosState): string {
  if (!state.exists) return 'the object does not exist';
  const parts: string[] = [];
  if (state.kind === 'Schedule') {
    parts.push(`${state.active ?? 0} active`, `last run ${state.lastRun ?? 'never'}`);
    return parts.join(', ');
  }
  parts.push(`phase ${state.desiredPhase ?? 'unknown'}`);
  const conds = Object.entries(state.conditions).map(([k, v]) => `${k}=${v}`);
  parts.push(conds.length > 0 ? conds.join(' ') : 'no conditions yet (is the Chaos Mesh controller running?)');
  if (state.records > 0) parts.push(`${state.injected}/${state.records} injected`);
  return parts.join(', ');
}
