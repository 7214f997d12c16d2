/**
 * Validation of custom resources against their CRD, as the API server does it on create, update,
 * patch and the status/scale subresources (opt-in: `validateCustomResources`): the served
 * version's openAPIV3Schema (ajv, through src/kube/crd-schema's OpenAPI → JSON Schema conversion),
 * then, when a CelEngine is given, the x-kubernetes-validations rules. Failures are a 422 `Invalid`
 * Status with one cause per field, worded like the real server's. Unknown fields are dropped with
 * a `Warning` header (the server's default, fieldValidation=Warn), or refused with 400 under
 * `fieldValidation=Strict` (kubectl's default). Defaulting is not modelled.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createCrdAjv, crdObjectSchema } from '../../src/kube/crd-schema.js';
import { ApiStatusError, type StatusCause } from './api-status.js';
import { compileCelRules, type CelEngine, type CelFailure } from './cel-rules.js';
import { CRD_ID } from './crds.js';
import { pointer } from './patch.js';
import type { ResourceDefinition, ResourceStore, StoredObject } from './resource-store.js';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** How a write treats fields the schema does not declare (the request's `fieldValidation`). */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Checks (and prunes) an object about to be stored; throws an ApiStatusError to refuse it. */
export type ObjectCheck = (next: StoredObject, old: StoredObject | undefined) => void;

interface Compiled {
  readonly resourceVersion: string | undefined;
  readonly schema: Json;
  readonly validate: ValidateFunction;
  readonly cel: ReturnType<typeof compileCelRules> | undefined;
}

/** The field as the API server names it (`spec.env[0].name`, `spec.resources.requests[cpu]`), from a JSON pointer. */
function fieldOf(schema: Json, value: unknown, path: string, extra?: string): string {
  const segments = pointer(path);
  if (extra !== undefined) segments.push(extra);
  let node: unknown = schema;
  let cur: unknown = value;
  let out = '';
  for (const seg of segments) {
    const n = isObj(node) ? node : {};
    if (Array.isArray(cur)) {
      out += `[${seg}]`;
      node = n.items;
    } else if (isObj(n.properties) && seg in n.properties) {
      out += out === '' ? seg : `.${seg}`;
      node = n.properties[seg];
    } else {
      out += `[${seg}]`;
      node = n.additionalProperties;
    }
    cur = isObj(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'null' : JSON.stringify(v));

function valueAt(value: unknown, path: string): unknown {
  let cur = value;
  for (const seg of pointer(path)) cur = isObj(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
  return cur;
}

/** One ajv error as a field error of the real server (reason, body, field). */
function schemaCause(schema: Json, obj: unknown, e: ErrorObject): StatusCause | undefined {
  const p = e.params as Record<string, unknown>;
  const value = valueAt(obj, e.instancePath);
  const field = fieldOf(schema, obj, e.instancePath);
  switch (e.keyword) {
    case 'required':
      return { reason: 'FieldValueRequired', field: fieldOf(schema, obj, e.instancePath, String(p.missingProperty)), message: 'Required value' };
    case 'enum':
      return { reason: 'FieldValueNotSupported', field, message: `Unsupported value: ${shown(value)}: supported values: ${(p.allowedValues as unknown[]).map(shown).join(', ')}` };
    case 'type':
      return { reason: 'FieldValueTypeInvalid', field, message: `Invalid value: ${shown(Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value)}: ${field} in body must be of type ${String(p.type)}: ${shown(typeof value)}` };
    case 'x-kubernetes-list-type':
      return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${field} has duplicate entries` };
    case 'anyOf':
      return undefined; // int-or-string: the type keywords below it say what is wrong
    case 'maxItems':
      return { reason: 'FieldValueTooMany', field, message: `Too many: ${(value as unknown[]).length}: must have at most ${String(p.limit)} items` };
    case 'maxLength':
      return { reason: 'FieldValueTooLong', field, message: `Too long: may not be more than ${String(p.limit)} bytes` };
    default:
      return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown(value)}: ${field} in body ${e.message ?? e.keyword}` };
  }
}

const celCause = (f: CelFailure): StatusCause => ({ reason: f.reason, field: f.field === '' ? '<nil>' : f.field, message: `Invalid value: ${shown(f.type)}: ${f.message}` });

/**
 * A validator for the custom resources of `store`: `checkFor(def, fieldValidation, warn)` is the
 * check for one write of that resource, or undefined when its CRD is not stored (kinds registered
 * by hand are never validated). Schemas and rules are compiled once per CRD resourceVersion.
 */
export function createCustomResourceValidator(store: ResourceStore, cel?: CelEngine): (def: ResourceDefinition, fieldValidation: FieldValidation, warn: (text: string) => void) => ObjectCheck | undefined {
  const ajv = createCrdAjv();
  const cache = new Map<string, Compiled>();

  const compiledFor = (def: ResourceDefinition): Compiled | undefined => {
    const name = `${def.plural}.${def.group ?? ''}`;
    // The CRD's resourceVersion alone decides a cache hit: a write does not copy the (possibly MBs large) CRD.
    const rv = def.group ? store.resourceVersionOf(CRD_ID, undefined, name) : undefined;
    if (rv === undefined) return undefined;
    const hit = cache.get(name);
    if (hit && hit.resourceVersion === rv) return hit;
    const crd = store.get(CRD_ID, undefined, name);
    if (!crd) return undefined;
    const versions = ((crd.spec as Json | undefined)?.versions ?? []) as { name?: string; schema?: { openAPIV3Schema?: unknown } }[];
    const schema = versions.find((v) => v.name === def.version)?.schema?.openAPIV3Schema;
    if (!isObj(schema)) return undefined;
    const json = crdObjectSchema(schema);
    let rules: Compiled['cel'];
    try {
      rules = cel ? compileCelRules(schema, cel) : undefined;
    } catch (err) {
      throw new ApiStatusError(500, 'InternalError', `fake API server: the CRD ${name} would not be accepted: ${(err as Error).message}`);
    }
    const compiled: Compiled = { resourceVersion: crd.metadata.resourceVersion, schema, validate: ajv.compile(json), cel: rules };
    cache.set(name, compiled);
    return compiled;
  };

  return (def, fieldValidation, warn) => {
    const compiled = compiledFor(def);
    if (!compiled) return undefined;
    return (next, old) => {
      const { schema, validate } = compiled;
      let ok = validate(next);
      const unknown = (validate.errors ?? []).filter((e) => e.keyword === 'additionalProperties');
      if (!ok && unknown.length > 0) {
        const fields = unknown.map((e) => {
          const parent = fieldOf(schema, next, e.instancePath);
          return `${parent === '' ? '' : `${parent}.`}${String((e.params as Json).additionalProperty)}`;
        });
        if (fieldValidation === 'Strict') throw new ApiStatusError(400, 'BadRequest', `strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(', ')}`);
        for (const e of unknown) delete (valueAt(next, e.instancePath) as Json)[String((e.params as Json).additionalProperty)];
        if (fieldValidation === 'Warn') for (const f of fields) warn(`unknown field "${f}"`);
        ok = validate(next);
      }
      const causes: StatusCause[] = ok ? [] : (validate.errors ?? []).map((e) => schemaCause(schema, next, e)).filter((c): c is StatusCause => c !== undefined);
      // A value of the wrong type is reported as that alone (not also its format, bounds…).
      const mistyped = new Set(causes.filter((c) => c.reason === 'FieldValueTypeInvalid').map((c) => c.field));
      const seen = new Set<string>();
      const unique = causes.filter((c) => (c.reason === 'FieldValueTypeInvalid' || !mistyped.has(c.field)) && !seen.has(`${c.field} ${c.message}`) && seen.add(`${c.field} ${c.message}`));
      if (compiled.cel) {
        // As the real server: a value of the wrong type blocks CEL, whose rules assume the schema's types.
        if (unique.some((c) => c.reason === 'FieldValueTypeInvalid')) {
          unique.push({ reason: 'FieldValueInvalid', field: '<nil>', message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation' });
        } else {
          unique.push(...compiled.cel.evaluate(next, old).map(celCause));
        }
      }
      if (unique.length === 0) return;
      const kind = `${def.kind}.${def.group ?? ''}`;
      const lines = unique.map((c) => `${c.field}: ${c.message}`);
      const name = next.metadata.name ?? '';
      throw new ApiStatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`}`, {
        name,
        group: def.group ?? '',
        kind: def.kind,
        causes: unique,
      });
    };
  };
}
