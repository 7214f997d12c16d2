/**
 * The x-kubernetes-validations (CEL) rules of a CRD schema, evaluated where the API server
 * evaluates them: at each schema node that declares rules, once per value present there, with
 * `self` bound to that value (and `oldSelf` to the stored value at the same place on an update,
 * for transition rules). The fake server carries no CEL implementation: the caller brings one as
 * a CelEngine (tests bind a CEL library), so this folder stays free of dev-only imports.
 */

type Json = Record<string, unknown>;

/** A rule compiled against the schema node that declares it. */
export type CompiledCel = (vars: { self: unknown; oldSelf?: unknown }) => unknown;

/** What the fake server needs from a CEL implementation. */
export interface CelEngine {
  /**
   * Compiles `expression` with `self` (and `oldSelf` when `transition`) typed by `schema` (the
   * OpenAPI node holding the rule). Throws on a syntax or type error: the real API server refuses
   * such a CRD.
   */
  compile(expression: string, schema: unknown, transition: boolean): CompiledCel;
}

/** One rule of a schema node. */
export interface CelRuleSpec {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  /** A field path relative to the node, reported instead of the node's own path. */
  readonly fieldPath?: string;
  /** The cause reason reported (FieldValueInvalid when absent). */
  readonly reason?: string;
}

/** A rule that did not hold (or could not be evaluated) on one value. */
export interface CelFailure {
  /** The schema node, in the notation `spec.env[]` / `spec.resources.requests{}` (`` = the root). */
  readonly at: string;
  /** The field as the API server names it: `spec.env[0]`, `spec.resources.requests[cpu]`; `` for the root. */
  readonly field: string;
  readonly rule: string;
  readonly message: string;
  readonly reason: string;
  /** The schema type of the value (`object`, `array`, `string`, `integer`), as the server's error shows it. */
  readonly type: string;
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const rulesOf = (node: Json): CelRuleSpec[] => (Array.isArray(node['x-kubernetes-validations']) ? (node['x-kubernetes-validations'] as CelRuleSpec[]) : []);
const mentionsOldSelf = (rule: string): boolean => /\boldSelf\b/.test(rule);
const join = (base: string, name: string): string => (base === '' ? name : `${base}.${name}`);

/** Every rule of a schema with the node that holds it (for compile checks); `at` as in CelFailure. */
export function celRulesOf(schema: unknown): { at: string; node: Json; rule: CelRuleSpec }[] {
  const out: { at: string; node: Json; rule: CelRuleSpec }[] = [];
  const walk = (node: unknown, at: string): void => {
    if (!isObj(node)) return;
    for (const rule of rulesOf(node)) out.push({ at, node, rule });
    if (isObj(node.properties)) for (const [k, s] of Object.entries(node.properties)) walk(s, join(at, k));
    if (isObj(node.items)) walk(node.items, `${at}[]`);
    if (isObj(node.additionalProperties)) walk(node.additionalProperties, `${at}{}`);
  };
  walk(schema, '');
  return out;
}

/**
 * Compiles every rule of a schema once; `evaluate` then checks a value (and, on update, the stored
 * one). A rule that does not compile throws here, naming its node.
 */
export function compileCelRules(schema: unknown, engine: CelEngine): { evaluate(value: unknown, old?: unknown): CelFailure[] } {
  const compiled = new Map<CelRuleSpec, { rule: CompiledCel; message?: CompiledCel; transition: boolean }>();
  for (const { at, node, rule } of celRulesOf(schema)) {
    const transition = mentionsOldSelf(rule.rule);
    try {
      compiled.set(rule, {
        rule: engine.compile(rule.rule, node, transition),
        ...(rule.messageExpression !== undefined ? { message: engine.compile(rule.messageExpression, node, transition) } : {}),
        transition,
      });
    } catch (err) {
      throw new Error(`CEL rule at ${at === '' ? '<root>' : at} does not compile: ${rule.rule}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  const check = (node: Json, at: string, field: string, value: unknown, old: unknown, out: CelFailure[]): void => {
    for (const spec of rulesOf(node)) {
      const c = compiled.get(spec);
      if (c === undefined || (c.transition && old === undefined)) continue;
      const vars = c.transition ? { self: value, oldSelf: old } : { self: value };
      let message: string | undefined;
      try {
        const result = c.rule(vars);
        if (result === true) continue;
        message = result === false ? undefined : `rule did not evaluate to a bool: ${spec.rule}`;
      } catch (err) {
        message = `${(err as Error).message.split('\n')[0]} evaluating rule: ${spec.rule}`;
      }
      if (message === undefined && c.message !== undefined) {
        try {
          const m = c.message(vars);
          if (typeof m === 'string' && m.trim() !== '') message = m;
        } catch {
          // as on the real server: a failing messageExpression falls back to message
        }
      }
      message ??= spec.message ?? `failed rule: ${spec.rule}`;
      const type = typeof node.type === 'string' ? node.type : Array.isArray(value) ? 'array' : isObj(value) ? 'object' : typeof value === 'number' ? 'integer' : 'string';
      const path = spec.fieldPath ? join(field, spec.fieldPath.replace(/^\./, '')) : field;
      out.push({ at, field: path, rule: spec.rule, message, reason: spec.reason ?? 'FieldValueInvalid', type });
    }
    if (isObj(value) && isObj(node.properties)) {
      for (const [k, s] of Object.entries(node.properties)) {
        if (value[k] !== undefined && value[k] !== null && isObj(s)) check(s, join(at, k), join(field, k), value[k], isObj(old) ? old[k] : undefined, out);
      }
    }
    if (isObj(value) && isObj(node.additionalProperties)) {
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && v !== null) check(node.additionalProperties, `${at}{}`, `${field}[${k}]`, v, isObj(old) ? old[k] : undefined, out);
      }
    }
    // List items are not correlated with the stored list (only map-type lists are, on the real server).
    if (Array.isArray(value) && isObj(node.items)) value.forEach((v, i) => check(node.items as Json, `${at}[]`, `${field}[${i}]`, v, undefined, out));
  };

  return {
    evaluate(value, old) {
      const out: CelFailure[] = [];
      if (isObj(schema) && value !== undefined && value !== null) check(schema, '', '', value, old, out);
      return out;
    },
  };
}
