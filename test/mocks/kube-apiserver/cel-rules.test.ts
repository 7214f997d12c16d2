// The CEL rule walker of the fake API server (cel-rules.ts) with @marcbachmann/cel-js as its engine:
// where rules are evaluated, what `self` is there, and how failures are worded and placed.
import { describe, expect, it } from 'vitest';
import { celRulesOf, compileCelRules } from '../../../mocks/kube-apiserver/cel-rules.js';
import { celJsEngine } from '../../helpers/cel-engine.js';

const schema = {
  type: 'object',
  properties: {
    metadata: { type: 'object', properties: { name: { type: 'string' } } },
    spec: {
      type: 'object',
      properties: {
        min: { type: 'integer' },
        max: { type: 'integer' },
        limits: {
          type: 'object',
          additionalProperties: { type: 'string', 'x-kubernetes-validations': [{ rule: "self != ''", message: 'limit values may not be empty' }] },
        },
        ports: {
          type: 'array',
          items: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self > 1024', messageExpression: "'port ' + string(self) + ' is privileged'" }] },
        },
        mode: { type: 'string' },
      },
      'x-kubernetes-validations': [
        { rule: 'self.min <= self.max', message: 'min above max', fieldPath: '.min', reason: 'FieldValueForbidden' },
        { rule: "self.mode.startsWith('x')" },
      ],
    },
  },
};
const rules = compileCelRules(schema, celJsEngine);
const obj = (spec: Record<string, unknown>) => ({ metadata: { name: 'w', labels: { a: 'b' } }, spec: { min: 1, max: 2, mode: 'xy', ...spec } });

describe('compileCelRules with the cel-js engine', () => {
  it('finds every rule with the node that holds it', () => {
    expect(celRulesOf(schema).map((r) => r.at)).toEqual(['spec', 'spec', 'spec.limits{}', 'spec.ports[]']);
  });

  it('passes a value that keeps every rule', () => {
    expect(rules.evaluate(obj({ limits: { cpu: '2' }, ports: [8000] }))).toEqual([]);
  });

  it('binds self per map value and list item and names them as the API server does', () => {
    const failures = rules.evaluate(obj({ limits: { cpu: '2', 'nvidia.com/gpu': '' }, ports: [8000, 80] }));
    expect(failures.map((f) => [f.at, f.field, f.type, f.message])).toEqual([
      ['spec.limits{}', 'spec.limits[nvidia.com/gpu]', 'string', 'limit values may not be empty'],
      ['spec.ports[]', 'spec.ports[1]', 'integer', 'port 80 is privileged'],
    ]);
  });

  it('honours fieldPath and reason, and falls back to "failed rule" without a message', () => {
    const failures = rules.evaluate(obj({ min: 5, mode: 'y' }));
    expect(failures.map((f) => [f.field, f.reason, f.message])).toEqual([
      ['spec.min', 'FieldValueForbidden', 'min above max'],
      ['spec', 'FieldValueInvalid', "failed rule: self.mode.startsWith('x')"],
    ]);
  });

  it('reports a rule that cannot be evaluated (a field it needs is absent) as failed, naming the rule', () => {
    const failures = rules.evaluate({ spec: { min: 1, max: 2 } });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toMatch(/mode.*evaluating rule: self\.mode\.startsWith\('x'\)/);
  });

  it('refuses, at compile time, a rule with a misspelled field, a type error or a syntax error, naming its node', () => {
    const bad = (rule: string) => () => compileCelRules({ type: 'object', properties: { spec: { type: 'object', properties: { n: { type: 'integer' } }, 'x-kubernetes-validations': [{ rule }] } } }, celJsEngine);
    expect(bad('self.m > 0')).toThrow(/CEL rule at spec does not compile: self\.m > 0/);
    expect(bad("self.n + 'a' == 1")).toThrow(/does not compile/);
    expect(bad('self.n >')).toThrow(/does not compile/);
    expect(bad('self.n > 0')).not.toThrow();
  });
});
