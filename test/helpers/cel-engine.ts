// A CelEngine for the fake API server and the CRD tests, bound to @marcbachmann/cel-js (a
// devDependency: the fake server takes the engine as an option and never imports it). `self` is
// typed from the OpenAPI schema node as the API server types it (integer → int, int-or-string and
// preserved unknown fields → dyn, objects with properties → a message type, maps and lists by their
// element type), so a misspelled field or a type error fails at compile time, as in `kubectl apply`.
import { Environment } from '@marcbachmann/cel-js';
import { parse } from 'yaml';
import { compileCelRules, type CelEngine, type CelFailure, type CompiledCel } from '../../mocks/kube-apiserver/cel-rules.js';

type Json = Record<string, unknown>;
type CelType = string | { [field: string]: CelType };

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const isDyn = (node: Json): boolean => node['x-kubernetes-int-or-string'] === true || (node['x-kubernetes-preserve-unknown-fields'] === true && !isObj(node.properties));
const asTypeName = (t: CelType): string => (typeof t === 'string' ? t : 'dyn');

/** The CEL type of values under an OpenAPI schema node. */
export function celTypeOf(node: unknown, root = false): CelType {
  if (!isObj(node) || isDyn(node)) return 'dyn';
  switch (node.type) {
    case 'integer':
      return 'int';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'array':
      return `list<${asTypeName(celTypeOf(node.items))}>`;
    case 'object': {
      if (isObj(node.properties)) {
        const fields: Record<string, CelType> = Object.fromEntries(Object.entries(node.properties).map(([k, s]) => [k, celTypeOf(s)]));
        // A root rule sees metadata.name and metadata.generateName only.
        if (root) fields.metadata = { name: 'string', generateName: 'string' };
        return fields;
      }
      return `map<string, ${isObj(node.additionalProperties) ? asTypeName(celTypeOf(node.additionalProperties)) : 'dyn'}>`;
    }
    default:
      return 'dyn';
  }
}

/** A JSON value as CEL sees it under `node`: integers as BigInt, fields the schema does not declare dropped. */
export function celValueOf(value: unknown, node: unknown, root = false): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number') return Number.isInteger(value) && !(isObj(node) && node.type === 'number') ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map((v) => celValueOf(v, isObj(node) ? node.items : undefined));
  if (!isObj(value)) return value;
  if (isObj(node) && isObj(node.properties) && !isDyn(node)) {
    const props = root ? { ...node.properties, metadata: { type: 'object', properties: { name: { type: 'string' }, generateName: { type: 'string' } } } } : node.properties;
    return Object.fromEntries(Object.entries(value).filter(([k]) => k in props).map(([k, v]) => [k, celValueOf(v, props[k])]));
  }
  const element = isObj(node) && isObj(node.additionalProperties) ? node.additionalProperties : undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celValueOf(v, element)]));
}

function declare(env: Environment, name: string, type: CelType): Environment {
  return typeof type === 'string' ? env.registerVariable(name, type) : env.registerVariable({ name, schema: type });
}

/** @marcbachmann/cel-js as the fake API server's CEL engine. */
export const celJsEngine: CelEngine = {
  compile(expression: string, schema: unknown, transition: boolean): CompiledCel {
    const root = isObj(schema) && isObj(schema.properties) && isObj(schema.properties.metadata) && isObj(schema.properties.spec);
    const type = celTypeOf(schema, root);
    let env = declare(new Environment(), 'self', type);
    if (transition) env = declare(env, 'oldSelf', type);
    const checked = env.check(expression);
    if (!checked.valid) throw new Error(checked.error?.message ?? 'does not type-check');
    const run = env.parse(expression);
    return ({ self, oldSelf }) => run({ self: celValueOf(self, schema, root), ...(transition ? { oldSelf: celValueOf(oldSelf, schema, root) } : {}) });
  },
};

/** The openAPIV3Schema of a CRD's version (default its storage version), from YAML or an object. */
export function crdVersionSchema(crd: string | object, version?: string): unknown {
  const doc = (typeof crd === 'string' ? parse(crd) : crd) as { spec: { versions: { name: string; storage?: boolean; schema?: { openAPIV3Schema?: unknown } }[] } };
  const v = doc.spec.versions.find((x) => (version === undefined ? x.storage === true : x.name === version));
  if (v?.schema?.openAPIV3Schema === undefined) throw new Error(`CRD has no ${version ?? 'storage'} version with a schema`);
  return v.schema.openAPIV3Schema;
}

/** Evaluates every CEL rule of a CRD on `obj` (and `old` for transition rules), as the API server does. */
export function crdCelFailures(crd: string | object, obj: unknown, old?: unknown): CelFailure[] {
  return compileCelRules(crdVersionSchema(crd), celJsEngine).evaluate(obj, old);
}
