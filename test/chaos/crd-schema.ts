// Validates objects against the real Chaos Mesh CRDs in ../shared/testdata/crds with ajv. CRD
// schemas are OpenAPI v3.0, not JSON Schema, so they are converted first: `nullable`, boolean
// `exclusiveMinimum`, the OpenAPI formats, and the x-kubernetes-* keywords. Objects are closed
// (unknown fields rejected) unless x-kubernetes-preserve-unknown-fields says otherwise, which is
// what the API server does with fieldValidation=Strict (kubectl's default).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/repo.js';

export const CRD_DIR = join(process.env.BRIXLET_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata'), 'crds');
export const HAVE_CRDS = existsSync(join(CRD_DIR, 'chaos-mesh.org_podchaos.yaml'));
export const SKIP_REASON = HAVE_CRDS ? '' : ` (SKIPPED: ${CRD_DIR} not found; set BRIXLET_TESTDATA)`;

const FILES: Record<string, string> = {
  PodChaos: 'chaos-mesh.org_podchaos.yaml',
  NetworkChaos: 'chaos-mesh.org_networkchaos.yaml',
  StressChaos: 'chaos-mesh.org_stresschaos.yaml',
  IOChaos: 'chaos-mesh.org_iochaos.yaml',
  Schedule: 'chaos-mesh.org_schedules.yaml',
};

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
    } else if (k === 'description' || k === 'example') {
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

const ajv = createCrdAjv();
const compiled = new Map<string, ValidateFunction>();

/** The compiled validator of a kind's served storage version (compiled on first use: Schedule's schema is 850 kB). */
export function crdValidator(kind: string): ValidateFunction {
  let v = compiled.get(kind);
  if (v) return v;
  const file = FILES[kind];
  if (file === undefined) throw new Error(`no CRD for ${kind}`);
  const crd = parse(readFileSync(join(CRD_DIR, file), 'utf8')) as { spec: { names: { kind: string }; versions: { name: string; storage: boolean; schema: { openAPIV3Schema: unknown } }[] } };
  if (crd.spec.names.kind !== kind) throw new Error(`${file} defines ${crd.spec.names.kind}, not ${kind}`);
  const version = crd.spec.versions.find((x) => x.name === 'v1alpha1');
  if (!version) throw new Error(`${file} has no v1alpha1`);
  v = ajv.compile(toJsonSchema(version.schema.openAPIV3Schema) as object);
  compiled.set(kind, v);
  return v;
}

/** The CRD's verdict: [] when valid, else `path message` lines. */
export function crdErrors(obj: { kind?: unknown }): string[] {
  const validate = crdValidator(String(obj.kind));
  if (validate(obj)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.keyword} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
