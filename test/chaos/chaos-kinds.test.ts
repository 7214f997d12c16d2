import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { CHAOS_API_VERSION, CHAOS_KINDS, EXPERIMENT_KINDS, isChaosKind } from '../../src/chaos/chaos-kinds.js';
import { ScheduleSpec } from '../../src/chaos/chaos-schema.js';
import { collectionPath } from '../../src/kube/types.js';

describe('chaos-kinds', () => {
  it('uses the irregular plurals Chaos Mesh serves', () => {
    expect(Object.fromEntries(Object.values(CHAOS_KINDS).map((k) => [k.kind, k.ref.plural]))).toEqual({
      PodChaos: 'podchaos',
      NetworkChaos: 'networkchaos',
      StressChaos: 'stresschaos',
      IOChaos: 'iochaos',
      Schedule: 'schedules',
    });
    expect(collectionPath(CHAOS_KINDS.PodChaos.ref, 'serving')).toBe('/apis/chaos-mesh.org/v1alpha1/namespaces/serving/podchaos');
    expect(CHAOS_API_VERSION).toBe('chaos-mesh.org/v1alpha1');
  });

  it('every kind is keyed by its own name and namespaced', () => {
    for (const [key, info] of Object.entries(CHAOS_KINDS)) {
      expect(info.kind).toBe(key);
      expect(info.ref).toMatchObject({ group: 'chaos-mesh.org', version: 'v1alpha1', namespaced: true });
    }
  });

  it('each experiment kind has a scheduleField under which ScheduleSpec checks that kind\'s spec; Schedule has none', () => {
    expect(CHAOS_KINDS.Schedule.scheduleField).toBeUndefined();
    expect(EXPERIMENT_KINDS).toEqual(['PodChaos', 'NetworkChaos', 'StressChaos', 'IOChaos']);
    const selected = { selector: { namespaces: ['serving'] }, mode: 'one' };
    const samples: Record<string, object> = {
      PodChaos: { ...selected, action: 'pod-kill' },
      NetworkChaos: { ...selected, action: 'partition' },
      StressChaos: { ...selected, stressors: { cpu: { workers: 1 } } },
      IOChaos: { ...selected, action: 'fault', volumePath: '/data', errno: 5 },
    };
    for (const kind of EXPERIMENT_KINDS) {
      const info = CHAOS_KINDS[kind];
      const sample = samples[kind]!;
      expect(Value.Check(info.spec, sample), kind).toBe(true);
      expect(Value.Check(ScheduleSpec, { schedule: '@hourly', type: kind, [info.scheduleField!]: sample }), kind).toBe(true);
      // The other kinds' specs are not this one's: each field really is bound to its own kind.
      for (const other of EXPERIMENT_KINDS.filter((k) => k !== kind)) expect(Value.Check(CHAOS_KINDS[other].spec, sample), `${kind} as ${other}`).toBe(false);
    }
  });

  it('isChaosKind accepts the five kinds only, not inherited keys or other types', () => {
    for (const k of ['PodChaos', 'NetworkChaos', 'StressChaos', 'IOChaos', 'Schedule']) expect(isChaosKind(k)).toBe(true);
    for (const k of ['podchaos', 'KernelChaos', 'toString', 'constructor', '__proto__', 1, undefined, null]) expect(isChaosKind(k)).toBe(false);
  });
});
