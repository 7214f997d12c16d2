import { describe, expect, it } from 'vitest';
import { podChaos } from '../../src/chaos/pod-chaos.js';
import { crdErrors, HAVE_CRDS, SKIP_REASON } from './crd-schema.js';

const codeAndMessage = (fn: () => unknown): { code?: string; message?: string } => {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message?: string };
  }
  return {};
};

describe('podChaos', () => {
  it('builds a pod-kill on a label selector in the object namespace, mode one by default', () => {
    const obj = podChaos({ name: 'kill-head', namespace: 'serving', action: 'pod-kill', gracePeriod: 0, selector: { labelSelectors: { 'ray.io/node-type': 'head' } } });
    expect(obj).toEqual({
      apiVersion: 'chaos-mesh.org/v1alpha1',
      kind: 'PodChaos',
      metadata: { name: 'kill-head', namespace: 'serving', labels: { 'app.kubernetes.io/managed-by': 'brixlet' } },
      spec: { action: 'pod-kill', mode: 'one', gracePeriod: 0, selector: { labelSelectors: { 'ray.io/node-type': 'head' }, namespaces: ['serving'] } },
    });
  });

  it('keeps explicit namespaces and pods, and stringifies the mode value', () => {
    const obj = podChaos({ name: 'f', namespace: 'ops', action: 'pod-failure', duration: '5m', mode: 'fixed-percent', value: 50, selector: { pods: { serving: ['vllm-0', 'vllm-1'] } } });
    expect(obj.spec.selector).toEqual({ pods: { serving: ['vllm-0', 'vllm-1'] } });
    expect(obj.spec).toMatchObject({ mode: 'fixed-percent', value: '50', duration: '5m' });
  });

  it.skipIf(!HAVE_CRDS)(`every action passes the PodChaos CRD${SKIP_REASON}`, () => {
    const sel = { labelSelectors: { app: 'vllm' } };
    const objs = [
      podChaos({ name: 'a', namespace: 'x', action: 'pod-kill', selector: sel, mode: 'all' }),
      podChaos({ name: 'b', namespace: 'x', action: 'pod-failure', duration: '30s', selector: sel, mode: 'fixed', value: 2 }),
      podChaos({ name: 'c', namespace: 'x', action: 'container-kill', containerNames: ['agent'], selector: sel, mode: 'random-max-percent', value: '30' }),
    ];
    for (const o of objs) expect(crdErrors(o)).toEqual([]);
  });

  it('refuses pod-failure without a duration, container-kill without containers, and a value with mode one', () => {
    const sel = { namespaces: ['x'] };
    const noDuration = codeAndMessage(() => podChaos({ name: 'a', action: 'pod-failure', selector: sel } as never));
    expect(noDuration.code).toBe('BRX_ERR_CHAOS_INVALID');
    expect(noDuration.message).toContain('spec.duration is required for pod-failure');
    expect(codeAndMessage(() => podChaos({ name: 'a', action: 'container-kill', containerNames: [], selector: sel })).message).toContain('spec.containerNames must name at least one container');
    expect(codeAndMessage(() => podChaos({ name: 'a', action: 'pod-kill', value: 3, selector: sel })).message).toContain('spec.value must not be set with mode one');
    expect(codeAndMessage(() => podChaos({ name: 'a', action: 'pod-kill', mode: 'fixed', selector: sel })).message).toContain('spec.value must be a positive pod count with mode fixed');
    expect(codeAndMessage(() => podChaos({ name: 'a', action: 'pod-kill', mode: 'fixed-percent', value: 101, selector: sel })).message).toContain('percent from 1 to 100');
  });
});
