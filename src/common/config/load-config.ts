/**
 * Loads the configuration: schema defaults < YAML file (`--config`) < `BRIXLET_*` env < flags.
 * Every problem from every source is collected and reported at once as BRX_ERR_CFG_INVALID;
 * the result is deep-frozen and remembers where each value came from.
 */
import { readFileSync } from 'node:fs';
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { BrixletError } from '../errors.js';
import { suggest } from '../suggest.js';
import { coerceField } from './coerce.js';
import { type ConfigField, configFields } from './fields.js';
import { type Config, ConfigSchema } from './schema.js';

export interface ConfigSources {
  /** YAML file path (from `--config` or BRIXLET_CONFIG). */
  readonly file?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Raw flag values keyed by dotted field path (`agent.port`). */
  readonly flags?: Readonly<Record<string, string | boolean>>;
}

export interface ConfigProblem {
  readonly key: string;
  /** `default`, `file <path>`, `env BRIXLET_X`, `flag --x`. */
  readonly source: string;
  readonly problem: string;
}

export type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

export interface LoadedConfig<T> {
  readonly config: DeepReadonly<T>;
  /** Where each leaf's value came from, by dotted path. */
  readonly sources: Readonly<Record<string, string>>;
  /** Defaults that followed another setting (see DERIVED_DEFAULTS), one line each, for the log at info. */
  readonly derived?: readonly string[];
}

/**
 * A default that follows another setting: when `when` holds `whenValue` and `path` was not set (flag,
 * env or file), `path` takes `value`.
 */
interface DerivedDefault {
  readonly path: string;
  readonly value: unknown;
  readonly when: string;
  readonly whenValue: unknown;
  readonly note: string;
}

const DERIVED_DEFAULTS: readonly DerivedDefault[] = [
  {
    // KV events name blocks by token ids: matching them needs the engine's tokenizer.
    path: 'gateway.tokenizer',
    value: 'engine',
    when: 'gateway.kvEvents',
    whenValue: true,
    note: '--gateway.kv-events: prompts are tokenized by the engines (--gateway.tokenizer engine), as KV events name blocks by token ids',
  },
];

export const CONFIG_FILE_ENV = 'BRIXLET_CONFIG';

export function loadConfig(sources: ConfigSources): LoadedConfig<Config>;
export function loadConfig<S extends TObject>(sources: ConfigSources, schema: S): LoadedConfig<Static<S>>;
export function loadConfig(sources: ConfigSources, schema: TObject = ConfigSchema): LoadedConfig<unknown> {
  const fields = configFields(schema);
  const byPath = new Map(fields.map((f) => [f.path, f]));
  const values = new Map<string, unknown>();
  const origin: Record<string, string> = {};
  const problems: ConfigProblem[] = [];

  const set = (field: ConfigField, raw: unknown, source: string): void => {
    const r = coerceField(field, raw);
    if (r.ok) {
      values.set(field.path, r.value);
      origin[field.path] = source;
    } else {
      problems.push({ key: field.path, source, problem: r.problem });
    }
  };

  const file = sources.file ?? sources.env?.[CONFIG_FILE_ENV];
  if (file !== undefined && file !== '') {
    const source = `file ${file}`;
    walkFile(schema, readYaml(file), [], source, byPath, set, problems);
  }
  for (const field of fields) {
    const raw = sources.env?.[field.env];
    if (raw !== undefined) set(field, raw, `env ${field.env}`);
  }
  for (const [path, raw] of Object.entries(sources.flags ?? {})) {
    const field = byPath.get(path);
    if (field === undefined) {
      const hint = suggest(path, byPath.keys());
      problems.push({ key: path, source: 'flag', problem: `unknown key${hint ? `; did you mean ${hint}?` : ''}` });
    } else {
      set(field, raw, `flag ${field.flag}`);
    }
  }

  if (problems.length > 0) {
    throw new BrixletError('BRX_ERR_CFG_INVALID', { count: problems.length }, { details: problems });
  }

  const derived: string[] = [];
  for (const d of DERIVED_DEFAULTS) {
    const field = byPath.get(d.path);
    if (field === undefined || !byPath.has(d.when) || values.has(d.path) || values.get(d.when) !== d.whenValue) continue;
    values.set(d.path, d.value);
    origin[d.path] = `default (${byPath.get(d.when)?.flag ?? d.when})`;
    derived.push(d.note);
  }

  const tree: Record<string, unknown> = {};
  for (const field of fields) {
    if (!values.has(field.path)) origin[field.path] = 'default';
    else setPath(tree, field.segments, values.get(field.path));
  }
  const config = Value.Default(schema, tree);
  if (!Value.Check(schema, config)) {
    // Every leaf was validated above, so this means the schema and fields.ts disagree: a bug.
    const first = Value.Errors(schema, config).First();
    throw new Error(`config schema self-check failed at ${first?.path ?? '?'}: ${first?.message ?? ''}`);
  }
  return { config: deepFreeze(config), sources: Object.freeze(origin), ...(derived.length > 0 && { derived: Object.freeze(derived) }) };
}

function readYaml(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new BrixletError('BRX_ERR_CFG_FILE', { path, reason }, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const reason = doc.errors.map((e) => e.message.split('\n')[0]).join('; ');
    throw new BrixletError('BRX_ERR_CFG_FILE', { path, reason });
  }
  return doc.toJS() ?? {};
}

function walkFile(
  node: TSchema,
  raw: unknown,
  segments: string[],
  source: string,
  byPath: ReadonlyMap<string, ConfigField>,
  set: (field: ConfigField, raw: unknown, source: string) => void,
  problems: ConfigProblem[],
): void {
  const key = segments.join('.') || '(top level)';
  if (raw === null) return; // `agent:` with nothing under it
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push({ key, source, problem: `must be a mapping of keys, got ${JSON.stringify(raw)}` });
    return;
  }
  const props = (node.properties ?? {}) as Record<string, TSchema>;
  for (const [k, v] of Object.entries(raw)) {
    const child = props[k];
    const path = [...segments, k];
    if (child === undefined) {
      const hint = suggest(k, Object.keys(props));
      problems.push({ key: path.join('.'), source, problem: `unknown key${hint ? `; did you mean ${[...segments, hint].join('.')}?` : ''}` });
    } else if (child.type === 'object') {
      walkFile(child, v, path, source, byPath, set, problems);
    } else {
      const field = byPath.get(path.join('.'));
      if (field !== undefined) set(field, v, source);
    }
  }
}

function setPath(tree: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = tree;
  for (const s of segments.slice(0, -1)) {
    node[s] ??= {};
    node = node[s] as Record<string, unknown>;
  }
  node[segments.at(-1) as string] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** A copy safe to log or print: secret fields replaced by "<redacted>" when set. */
export function redactConfig(config: unknown, schema: TObject = ConfigSchema): unknown {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const field of configFields(schema)) {
    if (!field.secret) continue;
    let node: Record<string, unknown> | undefined = copy;
    for (const s of field.segments.slice(0, -1)) node = node?.[s] as Record<string, unknown> | undefined;
    const last = field.segments.at(-1) as string;
    if (node !== undefined && node[last] !== undefined && node[last] !== '') node[last] = '<redacted>';
  }
  return copy;
}

/** One line per problem, for terminals and logs. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `  - ${p.key}: ${p.problem} (from ${p.source})`).join('\n');
}
