import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { PodSelectorSpec } from '../../src/chaos/chaos-schema.js';
import { chaosMetadata, experimentBase, MANAGED_BY_LABEL, selection } from '../../src/chaos/experiment-base.js';

describe('chaosMetadata', () => {
  it('always marks the object as brixlet-managed, even when labels try to override it', () => {
    expect(chaosMetadata({ name: 'a' })).toEqual({ name: 'a', labels: { [MANAGED_BY_LABEL]: 'brixlet' } });
    // listing and cleanup select on this label, so a caller's value must not replace it
    expect(chaosMetadata({ name: 'a', labels: { team: 'x', [MANAGED_BY_LABEL]: 'helm' } }).labels).toEqual({ [MANAGED_BY_LABEL]: 'brixlet', team: 'x' });
  });

  it('copies namespace and annotations only when given, annotations by value', () => {
    const annotations = { note: 'n' };
    const meta = chaosMetadata({ name: 'a', namespace: 'serving', annotations });
    expect(meta).toMatchObject({ namespace: 'serving', annotations: { note: 'n' } });
    annotations.note = 'changed';
    expect(meta.annotations).toEqual({ note: 'n' });
    expect(chaosMetadata({ name: 'a' })).not.toHaveProperty('namespace');
    expect(chaosMetadata({ name: 'a' })).not.toHaveProperty('annotations');
  });
});

describe('selection', () => {
  it('fills in the object\'s namespace when the selector names neither namespaces nor pods', () => {
    const s = selection({ selector: { labelSelectors: { app: 'vllm' } } }, 'serving', 'one');
    expect(s).toEqual({ selector: { labelSelectors: { app: 'vllm' }, namespaces: ['serving'] }, mode: 'one' });
    expect(Value.Check(PodSelectorSpec, s.selector)).toBe(true);
  });

  it('leaves explicit namespaces or pods alone, and does nothing without a namespace', () => {
    expect(selection({ selector: { namespaces: ['a'] } }, 'serving', 'one').selector).toEqual({ namespaces: ['a'] });
    expect(selection({ selector: { pods: { b: ['p'] } } }, 'serving', 'one').selector).toEqual({ pods: { b: ['p'] } });
    expect(selection({ selector: {} }, undefined, 'all').selector).toEqual({});
  });

  it('does not modify the caller\'s selector', () => {
    const input = { selector: { labelSelectors: { app: 'x' } } };
    selection(input, 'serving', 'one');
    expect(input.selector).toEqual({ labelSelectors: { app: 'x' } });
  });

  it('an explicit mode wins over the default; value becomes text, 0 included', () => {
    expect(selection({ selector: {}, mode: 'fixed', value: 0 }, undefined, 'one')).toEqual({ selector: {}, mode: 'fixed', value: '0' });
    expect(selection({ selector: {}, mode: 'fixed-percent', value: '50' }, undefined, 'one').value).toBe('50');
    expect(selection({ selector: {} }, undefined, 'all')).not.toHaveProperty('value');
  });
});

describe('experimentBase', () => {
  it('carries the Chaos Mesh apiVersion, the kind and managed metadata', () => {
    expect(experimentBase('StressChaos', { name: 's', namespace: 'ns' })).toEqual({
      apiVersion: 'chaos-mesh.org/v1alpha1',
      kind: 'StressChaos',
      metadata: { name: 's', namespace: 'ns', labels: { [MANAGED_BY_LABEL]: 'brixlet' } },
    });
  });
});
