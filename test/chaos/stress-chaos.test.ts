import { describe, expect, it } from 'vitest';
import { stressChaos } from '../../src/chaos/stress-chaos.js';
import { crdErrors, HAVE_CRDS, SKIP_REASON } from './crd-schema.js';

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

const sel = { labelSelectors: { app: 'agent' }, nodes: ['gpu-node-3'] };

describe('stressChaos', () => {
  it('builds cpu and memory stressors together or alone, and they pass the CRD', () => {
    const both = stressChaos({ name: 's', namespace: 'serving', duration: '2m', selector: sel, cpu: { workers: 2, load: 80 }, memory: { workers: 1, size: '512MB', oomScoreAdj: -1000 }, containerNames: ['agent'] });
    expect(both.spec).toEqual({
      mode: 'one',
      selector: { ...sel, namespaces: ['serving'] },
      duration: '2m',
      stressors: { cpu: { workers: 2, load: 80 }, memory: { workers: 1, size: '512MB', oomScoreAdj: -1000 } },
      containerNames: ['agent'],
    });
    const cpu = stressChaos({ name: 'c', namespace: 'serving', selector: sel, cpu: { workers: 1 } });
    const mem = stressChaos({ name: 'm', namespace: 'serving', selector: sel, mode: 'all', memory: { workers: 4, size: '50%' } });
    expect(cpu.spec.stressors).toEqual({ cpu: { workers: 1 } });
    if (HAVE_CRDS) for (const o of [both, cpu, mem]) expect(crdErrors(o)).toEqual([]);
  });

  it.skipIf(!HAVE_CRDS)(`the CRD itself rejects out-of-range workers and load${SKIP_REASON}`, () => {
    const obj = stressChaos({ name: 'c', namespace: 'serving', selector: sel, cpu: { workers: 1 } });
    obj.spec.stressors = { cpu: { workers: 9000, load: 150 } };
    expect(crdErrors(obj).join('\n')).toMatch(/workers maximum[\s\S]*load maximum|load maximum[\s\S]*workers maximum/);
  });

  it('refuses no stressor at all, a bad memory size and too many workers', () => {
    expect(messageOf(() => stressChaos({ name: 's', selector: sel }))).toContain('spec.stressors needs cpu or memory');
    expect(messageOf(() => stressChaos({ name: 's', selector: sel, memory: { workers: 1, size: 'lots' } }))).toContain("spec.stressors.memory.size must be a size such as 256MB or 1GiB, or a percent such as 50%, got 'lots'");
    expect(messageOf(() => stressChaos({ name: 's', selector: sel, memory: { workers: 1, size: '150%' } }))).toContain("got '150%'");
    expect(messageOf(() => stressChaos({ name: 's', selector: sel, cpu: { workers: 9000 } }))).toContain('spec.stressors.cpu.workers: expected integer to be less or equal to 8192');
  });
});
