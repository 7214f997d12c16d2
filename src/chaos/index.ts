/** Chaos Mesh client: typed builders, validation, presets, and apply/status/wait/delete. */
export { CHAOS_API_VERSION, CHAOS_GROUP, CHAOS_KINDS, EXPERIMENT_KINDS, type ChaosKind, type ExperimentKind } from './chaos-kinds.js';
export { createChaosClient, PAUSE_ANNOTATION, type ApplyResult, type ChaosClient, type WaitOptions } from './chaos-client.js';
export { buildChaosPreset, CHAOS_PRESETS, type ChaosPreset, type ChaosPresetParams } from './chaos-presets.js';
export { chaosState, describeChaosState, hasCondition, type ChaosConditionType, type ChaosState } from './chaos-status.js';
export { ioChaos, type IOChaosInput } from './io-chaos.js';
export { networkChaos, type NetworkChaosInput } from './network-chaos.js';
export { parseChaosManifests } from './parse-chaos-manifests.js';
export { podChaos, type PodChaosInput } from './pod-chaos.js';
export { scheduleChaos, type ScheduleInput } from './schedule-chaos.js';
export { stressChaos, type StressChaosInput } from './stress-chaos.js';
export type * from './types.js';
export { validateChaos } from './validate-chaos.js';
