import { describe, expect, it } from 'vitest';
import { AGENT_LABELS, buildChaosPreset, CHAOS_PRESETS, COORDINATOR_LABELS } from '../../src/chaos/chaos-presets.js';
import { validateChaos } from '../../src/chaos/validate-chaos.js';
import { crdErrors, HAVE_CRDS, SKIP_REASON } from './crd-schema.js';

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('chaos presets', () => {
  it('are the four serving-cluster experiments, each described, with parameters and defaults', () => {
    expect(CHAOS_PRESETS.map((p) => `${p.name}:${p.kind}`)).toEqual([
      'kill-engine-head:PodChaos',
      'partition-agent-kv:NetworkChaos',
      'delay-coordinator-agent:NetworkChaos',
      'stress-gpu-node-agent:StressChaos',
    ]);
    for (const p of CHAOS_PRESETS) expect(p.description.length).toBeGreaterThan(60);
  });

  it.skipIf(!HAVE_CRDS)(`build valid objects with defaults and with every parameter set${SKIP_REASON}`, () => {
    for (const p of CHAOS_PRESETS) {
      const defaults = buildChaosPreset(p.name, { namespace: 'serving' });
      expect(defaults.metadata).toMatchObject({ name: `brixlet-${p.name}`, namespace: 'serving', labels: { 'brixlet.io/chaos-preset': p.name } });
      expect(crdErrors(defaults)).toEqual([]);
      const all = Object.fromEntries(Object.keys(p.params).map((k) => [k, { selector: { app: 'x' }, targetSelector: { app: 'y' }, node: 'gpu-7', duration: '2m', latency: '250ms', jitter: '50ms' }[k]]));
      const custom = buildChaosPreset(p.name, { namespace: 'ops', name: 'custom', ...all });
      expect(custom.metadata.name).toBe('custom');
      expect(crdErrors(custom)).toEqual([]);
      expect(validateChaos(custom)).toBe(custom);
    }
  });

  it('kill-engine-head kills one Ray head at once; partition cuts one agent from all agents both ways', () => {
    expect(buildChaosPreset('kill-engine-head', { namespace: 'serving' }).spec).toEqual({
      action: 'pod-kill',
      mode: 'one',
      gracePeriod: 0,
      selector: { labelSelectors: { 'ray.io/node-type': 'head' }, namespaces: ['serving'] },
    });
    const part = buildChaosPreset('partition-agent-kv', { namespace: 'serving', duration: '45s' });
    expect(part.spec).toMatchObject({ action: 'partition', direction: 'both', mode: 'one', duration: '45s', target: { mode: 'all', selector: { labelSelectors: AGENT_LABELS } } });
  });

  it('delay-coordinator-agent adds 100ms ± 10ms both ways; stress targets the named node', () => {
    expect(buildChaosPreset('delay-coordinator-agent', { namespace: 's' }).spec).toMatchObject({
      action: 'delay',
      delay: { latency: '100ms', jitter: '10ms' },
      direction: 'both',
      selector: { labelSelectors: COORDINATOR_LABELS },
      target: { selector: { labelSelectors: AGENT_LABELS } },
    });
    const stress = buildChaosPreset('stress-gpu-node-agent', { namespace: 's', node: 'gpu-3' });
    expect(stress.spec).toMatchObject({ selector: { nodes: ['gpu-3'], labelSelectors: AGENT_LABELS }, stressors: { cpu: { workers: 2, load: 90 }, memory: { workers: 1, size: '512MB' } } });
  });

  it('refuses unknown presets (with a suggestion), parameters a preset does not take, and bad values', () => {
    expect(messageOf(() => buildChaosPreset('kill-engine-haed', { namespace: 's' }))).toContain('no such preset (did you mean kill-engine-head?)');
    expect(messageOf(() => buildChaosPreset('kill-engine-head', { namespace: 's', duration: '30s' }))).toBe(
      'invalid preset kill-engine-head: it takes no duration; it takes: namespace, name, selector',
    );
    expect(messageOf(() => buildChaosPreset('partition-agent-kv', { namespace: 's', duration: 'a while' }))).toContain("spec.duration must be a positive Go duration");
    expect(messageOf(() => buildChaosPreset('stress-gpu-node-agent', { namespace: 'Bad NS' }))).toContain("metadata.namespace 'Bad NS' is not a valid namespace name");
  });
});
