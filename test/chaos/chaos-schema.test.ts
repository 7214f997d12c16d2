import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { ChaosMetadata, IOChaosSpec, NetworkChaosSpec, PodChaosSpec, PodSelectorSpec, ScheduleSpec, StressChaosSpec } from '../../src/chaos/chaos-schema.js';
import { crdErrors, HAVE_CRDS, SKIP_REASON } from './crd-schema.js';

const paths = (schema: Parameters<typeof Value.Errors>[0], v: unknown) => [...new Set([...Value.Errors(schema, v)].map((e) => e.path))];

const selector = { namespaces: ['serving'], labelSelectors: { app: 'vllm' }, expressionSelectors: [{ key: 'role', operator: 'In' as const, values: ['head'] }] };
const pod = { selector, mode: 'one', action: 'pod-kill', gracePeriod: 0 };
const net = {
  selector,
  mode: 'fixed-percent',
  value: '50',
  action: 'delay',
  direction: 'to',
  target: { selector: { namespaces: ['serving'] }, mode: 'all' },
  delay: { latency: '100ms', jitter: '10ms', correlation: '25', reorder: { reorder: '10', gap: 5 } },
  duration: '30s',
};
const bandwidth = { selector, mode: 'all', action: 'bandwidth', bandwidth: { rate: '1mbps', limit: 100, buffer: 10_000 } };
const stress = { selector, mode: 'all', stressors: { cpu: { workers: 2, load: 80 }, memory: { workers: 1, size: '1GiB', oomScoreAdj: -1000 } }, duration: '1m' };
const io = { selector, mode: 'one', action: 'latency', volumePath: '/data', path: '/data/**/*', delay: '100ms', percent: 50, methods: ['READ'] };
const schedule = { schedule: '@every 5m', type: 'PodChaos', concurrencyPolicy: 'Forbid', historyLimit: 2, podChaos: pod };

describe('chaos-schema: valid specs pass', () => {
  it.each([
    ['PodChaos', PodChaosSpec, pod],
    ['NetworkChaos delay', NetworkChaosSpec, net],
    ['NetworkChaos bandwidth', NetworkChaosSpec, bandwidth],
    ['StressChaos', StressChaosSpec, stress],
    ['IOChaos', IOChaosSpec, io],
    ['IOChaos mistake', IOChaosSpec, { ...io, action: 'mistake', mistake: { filling: 'zero', maxOccurrences: 1, maxLength: 10 } }],
    ['Schedule', ScheduleSpec, schedule],
  ])('%s', (_n, schema, spec) => {
    expect(paths(schema, spec)).toEqual([]);
  });

  it('metadata keeps server-set keys (files exported with kubectl get -o yaml)', () => {
    expect(Value.Check(ChaosMetadata, { name: 'x', uid: 'abc', resourceVersion: '5' })).toBe(true);
    expect(paths(ChaosMetadata, { name: 'x', labels: { a: 1 } })).toContain('/labels/a');
  });

  it.skipIf(!HAVE_CRDS)(`the same specs pass the real Chaos Mesh CRDs${SKIP_REASON}`, () => {
    const wrap = (kind: string, spec: unknown) => ({ apiVersion: 'chaos-mesh.org/v1alpha1', kind, metadata: { name: 'x', namespace: 'serving' }, spec });
    expect(crdErrors(wrap('PodChaos', pod))).toEqual([]);
    expect(crdErrors(wrap('NetworkChaos', net))).toEqual([]);
    expect(crdErrors(wrap('NetworkChaos', bandwidth))).toEqual([]);
    expect(crdErrors(wrap('StressChaos', stress))).toEqual([]);
    expect(crdErrors(wrap('IOChaos', io))).toEqual([]);
    expect(crdErrors(wrap('Schedule', schedule))).toEqual([]);
  });
});

describe('chaos-schema: invalid specs fail at the expected path', () => {
  it.each([
    ['typo durtion', PodChaosSpec, { ...pod, durtion: '30s' }, '/durtion'],
    ['missing mode', PodChaosSpec, { selector, action: 'pod-kill' }, '/mode'],
    ['unknown mode', PodChaosSpec, { ...pod, mode: 'some' }, '/mode'],
    ['unknown pod action', PodChaosSpec, { ...pod, action: 'pod-restart' }, '/action'],
    ['negative grace period', PodChaosSpec, { ...pod, gracePeriod: -1 }, '/gracePeriod'],
    ['selector typo', PodChaosSpec, { ...pod, selector: { namespace: ['x'] } }, '/selector/namespace'],
    ['bad expression operator', PodChaosSpec, { ...pod, selector: { expressionSelectors: [{ key: 'a', operator: 'Is' }] } }, '/selector/expressionSelectors/0/operator'],
    ['pods not a list', PodChaosSpec, { ...pod, selector: { pods: { serving: 'a' } } }, '/selector/pods/serving'],
    ['delay without latency', NetworkChaosSpec, { ...net, delay: { jitter: '1ms' } }, '/delay/latency'],
    ['bad direction', NetworkChaosSpec, { ...net, direction: 'up' }, '/direction'],
    ['reorder gap as text', NetworkChaosSpec, { ...net, delay: { latency: '1ms', reorder: { reorder: '1', gap: '5' } } }, '/delay/reorder/gap'],
    ['bandwidth limit 0', NetworkChaosSpec, { ...bandwidth, bandwidth: { rate: '1mbps', limit: 0, buffer: 1 } }, '/bandwidth/limit'],
    ['target typo', NetworkChaosSpec, { ...net, target: { selector: {}, mode: 'all', valu: '1' } }, '/target/valu'],
    ['cpu workers 0', StressChaosSpec, { ...stress, stressors: { cpu: { workers: 0 } } }, '/stressors/cpu/workers'],
    ['cpu load 101', StressChaosSpec, { ...stress, stressors: { cpu: { workers: 1, load: 101 } } }, '/stressors/cpu/load'],
    ['unknown stressor', StressChaosSpec, { ...stress, stressors: { disk: {} } }, '/stressors/disk'],
    ['io without volumePath', IOChaosSpec, { selector, mode: 'one', action: 'fault' }, '/volumePath'],
    ['io bad filling', IOChaosSpec, { ...io, mistake: { filling: 'ones' } }, '/mistake/filling'],
    ['schedule without type', ScheduleSpec, { schedule: '@hourly', podChaos: pod }, '/type'],
    ['schedule bad concurrency', ScheduleSpec, { ...schedule, concurrencyPolicy: 'Replace' }, '/concurrencyPolicy'],
    ['schedule embedded spec checked', ScheduleSpec, { ...schedule, podChaos: { ...pod, action: 'x' } }, '/podChaos/action'],
    ['schedule unknown embedded kind', ScheduleSpec, { ...schedule, kernelChaos: {} }, '/kernelChaos'],
  ])('%s', (_n, schema, spec, path) => {
    expect(Value.Check(schema, spec)).toBe(false);
    expect(paths(schema, spec)).toContain(path);
  });

  it('PodSelectorSpec alone rejects non-string label values', () => {
    expect(paths(PodSelectorSpec, { labelSelectors: { app: 1 } })).toContain('/labelSelectors/app');
  });
});
