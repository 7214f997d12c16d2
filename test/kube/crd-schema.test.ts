// The offline CRD validator: version choice, the metadata rule, and what it refuses to read.
import { describe, expect, it } from 'vitest';
import { compileCrd, parseCrd } from '../../src/kube/crd-schema.js';
import { crdStructuralProblems } from '../../src/kube/crd-structural.js';

const schema = (props: Record<string, unknown>) => ({
  type: 'object',
  properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 5 } } }, spec: { type: 'object', properties: props } },
});
const crd = (versions: unknown[]) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions },
});
const v1 = { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema({ size: { type: 'integer', minimum: 1 }, mode: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } }) } };
const v1beta1 = { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: schema({ count: { type: 'integer' } }) } };
const widget = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'w' }) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata, spec });

describe('compileCrd', () => {
  it('compiles the storage version unless a version is named, from YAML or an object', () => {
    const c = compileCrd(crd([v1beta1, v1]));
    expect([c.kind, c.group, c.version, c.apiVersion]).toEqual(['Widget', 'example.com', 'v1', 'example.com/v1']);
    expect(compileCrd(crd([v1beta1, v1]), 'v1beta1').validate(widget({ count: 2 }))).toEqual([]);
    expect(compileCrd(JSON.stringify(crd([v1]))).kind).toBe('Widget');
  });

  it('reports problems with their JSON paths, including unknown fields', () => {
    const c = compileCrd(crd([v1]));
    expect(c.validate(widget({ size: 2, mode: 'x' }))).toEqual([]);
    expect(c.validate(widget({ size: 0 }))[0]).toMatch(/^\/spec\/size minimum must be >= 1/);
    expect(c.validate(widget({ colour: 'red' }))[0]).toMatch(/^\/spec additionalProperties/);
    expect(c.validate(widget({ mode: 1.5 })).join('\n')).toMatch(/^\/spec\/mode /m);
  });

  it('leaves metadata open beyond what the CRD narrows (the API server checks ObjectMeta itself)', () => {
    const c = compileCrd(crd([v1]));
    expect(c.validate(widget({}, { name: 'w', namespace: 'ns', labels: { a: 'b' } }))).toEqual([]);
    expect(c.validate(widget({}, { name: 'too-long' }))[0]).toMatch(/^\/metadata\/name maxLength/);
  });

  it('refuses what is not a CRD, and a version that is not there', () => {
    expect(() => parseCrd('kind: ConfigMap')).toThrow(/not a CustomResourceDefinition/);
    expect(() => compileCrd(crd([v1]), 'v2')).toThrow(/has no version v2 with a schema; versions: v1/);
  });
});

describe('crdStructuralProblems', () => {
  it('accepts a structural CRD', () => {
    expect(crdStructuralProblems(crd([v1, v1beta1]))).toEqual([]);
  });

  it('finds what the API server would refuse', () => {
    const bad = crd([
      {
        name: 'v1',
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              metadata: { type: 'object', properties: { labels: { type: 'object' } } },
              spec: {
                type: 'object',
                properties: {
                  untyped: { description: 'no type' },
                  both: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
                  junctor: { type: 'string', anyOf: [{ type: 'string', default: 'x' }] },
                  list: { type: 'array' },
                  badDefault: { type: 'integer', minimum: 1, default: 0 },
                  cel: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self != ""' }] },
                },
              },
            },
          },
        },
      },
      { name: 'v2', storage: true, schema: { openAPIV3Schema: { type: 'string' } } },
    ]);
    expect(crdStructuralProblems(bad)).toEqual([
      'exactly one version must have storage: true',
      'versions[v1].spec.untyped: type is missing',
      'versions[v1].spec.both: properties and additionalProperties are mutually exclusive',
      'versions[v1].spec.junctor.anyOf[0]: type is not allowed inside a junctor',
      'versions[v1].spec.junctor.anyOf[0]: default is not allowed inside a junctor',
      'versions[v1].spec.list: an array needs items',
      'versions[v1].spec.badDefault: default 0 does not validate against its own schema',
      'versions[v1].spec.cel: x-kubernetes-validations[0] has no message',
      'versions[v1].metadata: only name and generateName may be restricted, found labels',
      'versions[v2]: the root must have type: object',
    ]);
  });
});
