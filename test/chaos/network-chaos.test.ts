import { describe, expect, it } from 'vitest';
import { networkChaos } from '../../src/chaos/network-chaos.js';
import { crdErrors, HAVE_CRDS, SKIP_REASON } from './crd-schema.js';

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`;
  }
  return 'no error';
};

const agents = { labelSelectors: { 'app.kubernetes.io/component': 'agent' } };
const coordinator = { labelSelectors: { 'app.kubernetes.io/component': 'coordinator' } };

describe('networkChaos', () => {
  const built = [
    networkChaos({ name: 'delay', namespace: 'serving', action: 'delay', delay: { latency: '100ms', jitter: '10ms', correlation: 25 }, direction: 'both', duration: '1m', selector: coordinator, mode: 'all', target: { selector: agents } }),
    networkChaos({ name: 'loss', namespace: 'serving', action: 'loss', loss: { loss: 30, correlation: '50' }, selector: agents, externalTargets: ['10.0.0.1', 'example.com'], device: 'eth0' }),
    networkChaos({ name: 'part', namespace: 'serving', action: 'partition', direction: 'from', selector: agents, target: { selector: agents, mode: 'fixed', value: 1 } }),
    networkChaos({ name: 'bw', namespace: 'serving', action: 'bandwidth', bandwidth: { rate: '1mbps', limit: 20_971_520, buffer: 10_000 }, selector: agents, duration: '30s' }),
  ];

  it('builds each action with its own field, the target in the same namespace, mode all by default for targets', () => {
    const [delay, loss, part, bw] = built;
    expect(delay?.spec).toEqual({
      action: 'delay',
      mode: 'all',
      selector: { ...coordinator, namespaces: ['serving'] },
      duration: '1m',
      direction: 'both',
      target: { selector: { ...agents, namespaces: ['serving'] }, mode: 'all' },
      delay: { latency: '100ms', jitter: '10ms', correlation: '25' },
    });
    expect(loss?.spec.loss).toEqual({ loss: '30', correlation: '50' });
    expect(loss?.spec).toMatchObject({ externalTargets: ['10.0.0.1', 'example.com'], device: 'eth0' });
    expect(part?.spec.target).toEqual({ selector: { ...agents, namespaces: ['serving'] }, mode: 'fixed', value: '1' });
    expect(bw?.spec.bandwidth).toEqual({ rate: '1mbps', limit: 20_971_520, buffer: 10_000 });
  });

  it.skipIf(!HAVE_CRDS)(`every action passes the NetworkChaos CRD${SKIP_REASON}`, () => {
    for (const o of built) expect(crdErrors(o), o.metadata.name).toEqual([]);
  });

  it('refuses from/both without a target, external targets with both, and malformed latency, percent and rate', () => {
    expect(messageOf(() => networkChaos({ name: 'p', action: 'partition', direction: 'both', selector: agents }))).toContain('spec.target is required with direction both');
    expect(messageOf(() => networkChaos({ name: 'p', action: 'partition', direction: 'both', selector: agents, target: { selector: agents }, externalTargets: ['1.2.3.4'] }))).toContain(
      'spec.externalTargets only work with direction to',
    );
    expect(messageOf(() => networkChaos({ name: 'd', action: 'delay', delay: { latency: '100' }, selector: agents }))).toContain("spec.delay.latency must be a duration such as 100ms, got '100'");
    expect(messageOf(() => networkChaos({ name: 'l', action: 'loss', loss: { loss: 120 }, selector: agents }))).toContain("spec.loss.loss must be a percent from 0 to 100 as a string, got '120'");
    expect(messageOf(() => networkChaos({ name: 'b', action: 'bandwidth', bandwidth: { rate: 'fast', limit: 1, buffer: 1 }, selector: agents }))).toContain('spec.bandwidth.rate must be a rate');
    expect(messageOf(() => networkChaos({ name: 'b', action: 'partition', selector: {} }))).toBe(
      'BRX_ERR_CHAOS_INVALID: invalid NetworkChaos b: spec.selector is empty and would select every pod in the cluster; give namespaces, labelSelectors or pods',
    );
  });
});
