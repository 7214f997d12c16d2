/**
 * Validates objects against a CustomResourceDefinition's openAPIV3Schema with ajv, offline. CRD
 * schemas are OpenAPI v3.0, not JSON Schema, so they are converted first: `nullable`, boolean
 * `exclusiveMinimum`, the OpenAPI formats and the x-kubernetes-* keywords. Objects are closed
 * (unknown fields rejected) unless x-kubernetes-preserve-unknown-fields says otherwise, which is
 * what the API server does with fieldValidation=Strict (kubectl's default). CEL rules
 * (x-kubernetes-validations) are not evaluated: the rules of brixlet's own CRD are mirrored in
 * TypeScript where the object is built.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** OpenAPI v3.0 (structural CRD schema) → JSON Schema ajv understands. */
export function toJsonSchema(node: unknown, closeObjects = true): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, closeObjects));
  if (!isObj(node)) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
      out[k] = Object.fromEntries(Object.entries(v as Json).map(([name, s]) => [name, toJsonSchema(s, closeObjects)]));
    } else if (k === 'description' || k === 'example' || k === 'default') {
      out[k] = v;
    } else {
      out[k] = toJsonSchema(v, closeObjects);
    }
  }
  if (out.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  delete out.nullable;
  for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[ex] === 'boolean') {
      if (out[ex] === true && typeof out[bound] === 'number') {
        out[ex] = out[bound];
        delete out[bound];
      } else {
        delete out[ex];
      }
    }
  }
  if (closeObjects && isObj(out.properties) && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** An ajv instance that knows the OpenAPI formats and x-kubernetes-* keywords CRDs use. */
export function createCrdAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  const int = (bits: number) => ({ type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= -(2 ** (bits - 1)) && n < 2 ** (bits - 1) });
  ajv.addFormat('int32', int(32));
  ajv.addFormat('int64', int(64));
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i);
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    schemaType: 'boolean',
    validate: (on: boolean, data: unknown) => !on || typeof data === 'string' || Number.isInteger(data),
    errors: false,
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    schemaType: 'string',
    type: 'array',
    // `set`: no duplicates; `map`: unique by x-kubernetes-list-map-keys; `atomic`: anything.
    validate: function listType(this: unknown, kind: string, data: unknown[], parent?: Json) {
      if (kind === 'set') return new Set(data.map((d) => JSON.stringify(d))).size === data.length;
      if (kind !== 'map') return true;
      const keys = (parent?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
      return new Set(data.map((d) => JSON.stringify(keys.map((k) => (d as Json)[k])))).size === data.length;
    },
    errors: false,
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-embedded-resource',
    schemaType: 'boolean',
    type: 'object',
    validate: (on: boolean, data: Json) => !on || (typeof data.apiVersion === 'string' && typeof data.kind === 'string'),
    errors: false,
  });
  // Annotations ajv need not act on: list-type reads the map keys itself, CEL rules need a CEL engine.
  for (const keyword of ['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations']) {
    ajv.addKeyword({ keyword });
  }
  return ajv;
}

/** The parts of a CRD this module reads. */
export interface CrdDocument {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string };
  readonly spec: {
    readonly group: string;
    readonly names: { readonly kind: string; readonly plural: string };
    readonly versions: readonly { readonly name: string; readonly served?: boolean; readonly storage?: boolean; readonly schema?: { readonly openAPIV3Schema?: unknown } }[];
  };
}

export interface CompiledCrd {
  /** `spec.names.kind`. */
  readonly kind: string;
  readonly group: string;
  /** The version compiled (the one asked for, else the storage version). */
  readonly version: string;
  /** `group/version`: what an object's apiVersion must be. */
  readonly apiVersion: string;
  /** [] when valid, else one `path keyword message` line per problem. */
  validate(obj: unknown): string[];
}

/** Reads a CRD from YAML (or an already parsed object); throws on anything that is not a CRD. */
export function parseCrd(crd: string | object): CrdDocument {
  const doc: unknown = typeof crd === 'string' ? parse(crd) : crd;
  const spec = isObj(doc) && isObj(doc.spec) ? doc.spec : undefined;
  if (doc === null || !isObj(doc) || doc.kind !== 'CustomResourceDefinition' || spec === undefined || !isObj(spec.names) || !Array.isArray(spec.versions)) {
    throw new Error('not a CustomResourceDefinition (apiextensions.k8s.io/v1) with spec.names and spec.versions');
  }
  return doc as unknown as CrdDocument;
}

const shared = { ajv: undefined as Ajv | undefined };

/**
 * The JSON Schema a custom object of one CRD version is checked against, as the API server reads its
 * `openAPIV3Schema`: converted from OpenAPI (toJsonSchema); metadata validated as ObjectMeta whatever
 * the schema says (a CRD may only narrow name and generateName, so the rest of metadata stays open);
 * apiVersion, kind and metadata implicitly specified at the root even where the schema does not list them.
 */
export function crdObjectSchema(openAPIV3Schema: unknown): Record<string, unknown> {
  const json = toJsonSchema(openAPIV3Schema) as Json;
  const meta = isObj(json.properties) ? json.properties.metadata : undefined;
  if (isObj(meta)) delete meta.additionalProperties;
  if (isObj(json.properties)) json.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...json.properties };
  return json;
}

/** Compiles one version of a CRD (default: its storage version) into a validator. */
export function compileCrd(crd: string | object, version?: string, ajv?: Ajv): CompiledCrd {
  const doc = parseCrd(crd);
  const v = version === undefined ? (doc.spec.versions.find((x) => x.storage === true) ?? doc.spec.versions[0]) : doc.spec.versions.find((x) => x.name === version);
  const schema = v?.schema?.openAPIV3Schema;
  if (v === undefined || schema === undefined) {
    throw new Error(`CRD ${doc.metadata?.name ?? doc.spec.names.kind} has no ${version === undefined ? 'version with a schema' : `version ${version} with a schema`}; versions: ${doc.spec.versions.map((x) => x.name).join(', ')}`);
  }
  const json = crdObjectSchema(schema);
  const validateFn = (ajv ?? (shared.ajv ??= createCrdAjv())).compile(json);
  return {
    kind: doc.spec.names.kind,
    group: doc.spec.group,
    version: v.name,
    apiVersion: `${doc.spec.group}/${v.name}`,
    validate: (obj) => (validateFn(obj) ? [] : formatAjvErrors(validateFn)),
  };
}

/** ajv's errors as `path keyword message params` lines (path `/` for the root). */
export function formatAjvErrors(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.keyword} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
