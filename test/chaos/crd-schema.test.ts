// The CRD validator the chaos tests rely on must reject what the API server would: otherwise
// "valid against the CRD" proves nothing.
import { describe, expect, it } from 'vitest';
import { crdErrors, HAVE_CRDS, SKIP_REASON, toJsonSchema } from './crd-schema.js';

const podChaos = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'chaos-mesh.org/v1alpha1',
  kind: 'PodChaos',
  metadata: { name: 'p', namespace: 'serving' },
  spec: { action: 'pod-kill', mode: 'one', selector: { namespaces: ['serving'] }, ...spec },
  ...extra,
});

describe('OpenAPI → JSON Schema conversion', () => {
  it('turns nullable into a null type, boolean exclusiveMinimum into a number, and closes objects with properties', () => {
    expect(toJsonSchema({ type: 'integer', minimum: 0, exclusiveMinimum: true, nullable: true })).toEqual({ type: ['integer', 'null'], exclusiveMinimum: 0 });
    expect(toJsonSchema({ type: 'object', properties: { a: { type: 'string' } } })).toEqual({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false });
    expect(toJsonSchema({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: {} })).not.toHaveProperty('additionalProperties');
    // A property *named* like a keyword is a property, not a keyword.
    expect(toJsonSchema({ type: 'object', properties: { nullable: { type: 'boolean' } } })).toHaveProperty('properties.nullable', { type: 'boolean' });
  });
});

describe.skipIf(!HAVE_CRDS)(`Chaos Mesh CRD validator${SKIP_REASON}`, () => {
  it('accepts a valid PodChaos', () => {
    expect(crdErrors(podChaos({}))).toEqual([]);
  });

  it.each([
    ['an unknown action', { action: 'gpu-xid' }, '/spec/action enum'],
    ['a missing selector', { selector: undefined }, "/spec required must have required property 'selector'"],
    ['a bad mode', { mode: 'some' }, '/spec/mode enum'],
    ['a negative gracePeriod', { gracePeriod: -1 }, '/spec/gracePeriod minimum'],
    ['a number where a string belongs', { duration: 30 }, '/spec/duration type'],
    ['an unknown field (typo)', { durtion: '30s' }, '/spec additionalProperties'],
    ['labelSelectors with a non-string value', { selector: { labelSelectors: { a: 1 } } }, '/spec/selector/labelSelectors/a type'],
  ])('rejects %s', (_what, spec, expected) => {
    const obj = podChaos(spec);
    if ('selector' in spec && spec.selector === undefined) delete (obj.spec as Record<string, unknown>).selector;
    expect(crdErrors(obj).join('\n')).toContain(expected);
  });

  it('checks int32 ranges, patterns and nested required fields of NetworkChaos', () => {
    const net = (spec: Record<string, unknown>) => ({ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'NetworkChaos', metadata: { name: 'n' }, spec: { action: 'bandwidth', mode: 'all', selector: { namespaces: ['a'] }, ...spec } });
    expect(crdErrors(net({ bandwidth: { rate: '1mbps', limit: 100, buffer: 10 } }))).toEqual([]);
    expect(crdErrors(net({ bandwidth: { rate: '1mbps', limit: 2 ** 31, buffer: 10 } })).join()).toContain('/spec/bandwidth/limit format');
    expect(crdErrors(net({ bandwidth: { rate: '1mbps', limit: 100 } })).join()).toContain('buffer');
    expect(crdErrors(net({ action: 'delay', delay: { latency: '100 ms' } })).join()).toContain('/spec/delay/latency pattern');
    expect(crdErrors(net({ direction: 'sideways' })).join()).toContain('/spec/direction enum');
  });

  it('rejects a bad Schedule concurrency policy and a zero startingDeadlineSeconds (exclusive minimum)', () => {
    const sched = (spec: Record<string, unknown>) => ({
      apiVersion: 'chaos-mesh.org/v1alpha1',
      kind: 'Schedule',
      metadata: { name: 's' },
      spec: { schedule: '@every 1m', type: 'PodChaos', podChaos: { action: 'pod-kill', mode: 'one', selector: { namespaces: ['a'] } }, ...spec },
    });
    expect(crdErrors(sched({}))).toEqual([]);
    expect(crdErrors(sched({ concurrencyPolicy: 'Sometimes' })).join()).toContain('/spec/concurrencyPolicy enum');
    expect(crdErrors(sched({ startingDeadlineSeconds: 0 })).join()).toContain('/spec/startingDeadlineSeconds exclusiveMinimum');
    expect(crdErrors(sched({ startingDeadlineSeconds: null }))).toEqual([]);
    expect(crdErrors(sched({ podChaos: { action: 'pod-kill', mode: 'one' } })).join()).toContain('selector');
  });
});
