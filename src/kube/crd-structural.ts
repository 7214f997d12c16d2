/**
 * Checks that a CRD's schemas are structural, as apiextensions.k8s.io/v1 requires before it
 * accepts a CRD: every node has a type (or is int-or-string / preserve-unknown-fields), no type,
 * default, description, nullable or additionalProperties inside anyOf/allOf/oneOf/not,
 * `properties` and `additionalProperties` never together, metadata restricted at most in name and
 * generateName, no $ref; and that every default validates against its own node and every CEL rule
 * has a rule and a message. Catches a hand-written CRD the API server would refuse, offline.
 */
import { compileCrd, createCrdAjv, parseCrd, toJsonSchema } from './crd-schema.js';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'] as const;
const FORBIDDEN_IN_JUNCTOR = ['type', 'default', 'description', 'nullable', 'additionalProperties'] as const;

/** [] when every served version's schema is structural; else `path: problem` lines. */
export function crdStructuralProblems(crd: string | object): string[] {
  const doc = parseCrd(crd);
  const problems: string[] = [];
  if (doc.apiVersion !== 'apiextensions.k8s.io/v1') problems.push(`apiVersion must be apiextensions.k8s.io/v1, got ${String(doc.apiVersion)}`);
  const expectedName = `${doc.spec.names.plural}.${doc.spec.group}`;
  if (doc.metadata?.name !== expectedName) problems.push(`metadata.name must be ${expectedName}, got ${String(doc.metadata?.name)}`);
  if (doc.spec.versions.filter((v) => v.storage === true).length !== 1) problems.push('exactly one version must have storage: true');
  const ajv = createCrdAjv();
  for (const v of doc.spec.versions) {
    const root = v.schema?.openAPIV3Schema;
    const at = `versions[${v.name}]`;
    if (!isObj(root)) {
      problems.push(`${at}: no schema.openAPIV3Schema`);
      continue;
    }
    if (root.type !== 'object') problems.push(`${at}: the root must have type: object`);
    walk(root, at, false, problems, ajv);
    const meta = isObj(root.properties) ? root.properties.metadata : undefined;
    if (isObj(meta)) {
      const keys = Object.keys(isObj(meta.properties) ? meta.properties : {});
      const bad = keys.filter((k) => k !== 'name' && k !== 'generateName');
      if (bad.length > 0) problems.push(`${at}.metadata: only name and generateName may be restricted, found ${bad.join(', ')}`);
    }
    try {
      compileCrd(doc, v.name, ajv);
    } catch (err) {
      problems.push(`${at}: does not compile: ${(err as Error).message}`);
    }
  }
  return problems;
}

function walk(node: Json, path: string, inJunctor: boolean, problems: string[], ajv: ReturnType<typeof createCrdAjv>): void {
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if ('$ref' in node) problems.push(`${path}: $ref is not allowed`);
  if (inJunctor) {
    for (const k of FORBIDDEN_IN_JUNCTOR) if (k in node && !(k === 'type' && intOrStringBranch(node))) problems.push(`${path}: ${k} is not allowed inside a junctor`);
  } else if (typeof node.type !== 'string' && !intOrString && !preserve) {
    problems.push(`${path}: type is missing`);
  }
  if ('properties' in node && 'additionalProperties' in node) problems.push(`${path}: properties and additionalProperties are mutually exclusive`);
  if ('default' in node && !inJunctor) {
    const validate = ajv.compile(toJsonSchema(node) as object);
    if (!validate(node.default)) problems.push(`${path}: default ${JSON.stringify(node.default)} does not validate against its own schema`);
  }
  const rules = node['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) problems.push(`${path}: x-kubernetes-validations must be a list`);
    else {
      for (const [i, r] of rules.entries()) {
        if (!isObj(r) || typeof r.rule !== 'string' || r.rule === '') problems.push(`${path}: x-kubernetes-validations[${i}] has no rule`);
        else if (typeof r.message !== 'string' && typeof r.messageExpression !== 'string') problems.push(`${path}: x-kubernetes-validations[${i}] has no message`);
      }
    }
  }
  if (isObj(node.properties)) for (const [k, s] of Object.entries(node.properties)) if (isObj(s)) walk(s, `${path}.${k}`, inJunctor, problems, ajv);
  if (isObj(node.additionalProperties)) walk(node.additionalProperties, `${path}.*`, inJunctor, problems, ajv);
  if (isObj(node.items)) walk(node.items, `${path}[]`, inJunctor, problems, ajv);
  else if ('items' in node) problems.push(`${path}: items must be one schema`);
  if (!inJunctor && node.type === 'array' && !('items' in node) && !preserve) problems.push(`${path}: an array needs items`);
  for (const j of JUNCTORS) {
    const sub = node[j];
    const list = Array.isArray(sub) ? sub : sub === undefined ? [] : [sub];
    for (const [i, s] of list.entries()) if (isObj(s)) walk(s, `${path}.${j}[${i}]`, true, problems, ajv);
  }
}

/** `anyOf: [{type: integer}, {type: string}]` under x-kubernetes-int-or-string is the one allowed exception. */
function intOrStringBranch(node: Json): boolean {
  return (node.type === 'integer' || node.type === 'string') && Object.keys(node).length === 1;
}
