import { describe, expect, it } from 'vitest';
import { ioChaos } from '../../src/chaos/io-chaos.js';
import { crdErrors, HAVE_CRDS } from './crd-schema.js';

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

const sel = { labelSelectors: { app: 'vllm' } };

describe('ioChaos', () => {
  it('builds latency and fault experiments on a volume, and they pass the CRD', () => {
    const slow = ioChaos({ name: 'slow-weights', namespace: 'serving', action: 'latency', delay: '200ms', volumePath: '/models', path: '/models/**/*.safetensors', methods: ['read', 'open'], percent: 50, duration: '5m', selector: sel });
    const eio = ioChaos({ name: 'spill-eio', namespace: 'serving', action: 'fault', errno: 5, volumePath: '/var/cache/kv', containerNames: ['vllm'], selector: sel });
    expect(slow.spec).toEqual({
      action: 'latency',
      volumePath: '/models',
      mode: 'one',
      selector: { ...sel, namespaces: ['serving'] },
      duration: '5m',
      path: '/models/**/*.safetensors',
      methods: ['read', 'open'],
      percent: 50,
      delay: '200ms',
    });
    expect(eio.spec).toMatchObject({ action: 'fault', errno: 5, containerNames: ['vllm'] });
    expect(eio.spec).not.toHaveProperty('delay');
    if (HAVE_CRDS) for (const o of [slow, eio]) expect(crdErrors(o)).toEqual([]);
  });

  it('refuses a relative volume path, unknown methods, a bad percent, errno 0 and a delay that is not a duration', () => {
    expect(messageOf(() => ioChaos({ name: 'x', action: 'fault', errno: 5, volumePath: 'models', selector: sel }))).toContain("spec.volumePath must be an absolute path, got 'models'");
    expect(messageOf(() => ioChaos({ name: 'x', action: 'fault', errno: 5, volumePath: '/m', methods: ['read', 'explode'], selector: sel }))).toContain('spec.methods: unknown explode');
    expect(messageOf(() => ioChaos({ name: 'x', action: 'fault', errno: 5, volumePath: '/m', percent: 120, selector: sel }))).toContain('spec.percent must be from 0 to 100, got 120');
    expect(messageOf(() => ioChaos({ name: 'x', action: 'fault', errno: 0, volumePath: '/m', selector: sel }))).toContain('spec.errno must be a positive errno');
    expect(messageOf(() => ioChaos({ name: 'x', action: 'latency', delay: 'slow', volumePath: '/m', selector: sel }))).toContain("spec.delay must be a duration such as 100ms, got 'slow'");
  });
});
