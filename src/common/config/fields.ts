/**
 * Schema builders for config leaves and the walk that turns the schema into a flat field list
 * (path, flag, env twin, kind, default). Flags, env twins, help and the README table all come
 * from this list, so none of them can drift from the schema.
 */
import { Type, type TLiteral, type TObject, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox';

export type FieldKind = 'string' | 'integer' | 'boolean' | 'enum' | 'size' | 'duration';

interface LeafOptions {
  readonly description: string;
  /** Redacted when the effective config is logged or printed. */
  readonly secret?: boolean;
  /** A second, shorter flag for the same key, e.g. `--accel` for `--accel.backend`. */
  readonly alias?: string;
}

const KIND = 'x-brixlet-kind';

/**
 * A string; with `pattern`, values must match it and `expected` says what a valid value looks like.
 * With `listSeparator`, a config file may also give a list (of strings, or of mappings written as
 * `key=value` joined by commas, list values joined by `:`): its entries are joined by the separator.
 */
export function Str(def: string, opts: LeafOptions & { pattern?: string; expected?: string; listSeparator?: string }) {
  return Type.String({ default: def, [KIND]: 'string', ...opts });
}

export function Int(def: number, min: number, max: number, opts: LeafOptions) {
  return Type.Integer({ default: def, minimum: min, maximum: max, [KIND]: 'integer', ...opts });
}

export function Port(def: number, opts: LeafOptions) {
  return Int(def, 0, 65535, opts);
}

export function Bool(def: boolean, opts: LeafOptions) {
  return Type.Boolean({ default: def, [KIND]: 'boolean', ...opts });
}

export function Enum<const T extends readonly [string, ...string[]]>(values: T, def: T[number], opts: LeafOptions) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: def, [KIND]: 'enum', 'x-brixlet-values': values, ...opts },
  ) as unknown as TUnion<TLiteral<T[number]>[]>;
}

/** Byte size: accepts an integer or a string with a unit (`512KiB`, `16MiB`, `1GB`); stored as bytes. */
export function Size(def: number, min: number, max: number, opts: LeafOptions) {
  return Type.Integer({ default: def, minimum: min, maximum: max, [KIND]: 'size', ...opts });
}

/** Duration: accepts milliseconds or a string with a unit (`500ms`, `10s`, `2m`); stored as ms. */
export function Duration(defMs: number, minMs: number, maxMs: number, opts: LeafOptions) {
  return Type.Integer({ default: defMs, minimum: minMs, maximum: maxMs, [KIND]: 'duration', ...opts });
}

/** A config section: unknown keys rejected, defaults filled when the section is absent. */
export function Section<T extends TProperties>(properties: T, description: string): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, default: {}, description });
}

export interface ConfigField {
  /** Dotted key as written in YAML, e.g. `agent.bodyLimit`. */
  readonly path: string;
  readonly segments: readonly string[];
  /** `--agent.body-limit` */
  readonly flag: string;
  /** `BRIXLET_AGENT_BODY_LIMIT` */
  readonly env: string;
  readonly kind: FieldKind;
  readonly schema: TSchema;
  readonly default: unknown;
  readonly description: string;
  readonly secret: boolean;
  readonly alias?: string;
  /** For strings with a pattern: what a valid value looks like, for error messages. */
  readonly pattern?: string;
  readonly expected?: string;
  /** Strings only: a list in a config file is joined with this (see Str). */
  readonly listSeparator?: string;
  readonly values?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
}

export const ENV_PREFIX = 'BRIXLET_';

function kebab(segment: string): string {
  return segment.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Every leaf of the schema, in declaration order. */
export function configFields(schema: TObject): ConfigField[] {
  const out: ConfigField[] = [];
  const walk = (node: TSchema, segments: string[]): void => {
    if (node.type === 'object' && node.properties !== undefined) {
      for (const [key, child] of Object.entries(node.properties as Record<string, TSchema>)) {
        walk(child, [...segments, key]);
      }
      return;
    }
    const kind = node[KIND] as FieldKind | undefined;
    if (kind === undefined) throw new Error(`config schema leaf ${segments.join('.')} has no kind; build it with the fields.ts helpers`);
    const path = segments.join('.');
    out.push({
      path,
      segments,
      flag: `--${segments.map(kebab).join('.')}`,
      env: ENV_PREFIX + segments.map((s) => kebab(s).replace(/-/g, '_').toUpperCase()).join('_'),
      kind,
      schema: node,
      default: node.default,
      description: String(node.description ?? ''),
      secret: node.secret === true,
      ...(typeof node.alias === 'string' ? { alias: node.alias } : {}),
      ...(typeof node.pattern === 'string' ? { pattern: node.pattern } : {}),
      ...(typeof node.expected === 'string' ? { expected: node.expected } : {}),
      ...(typeof node.listSeparator === 'string' ? { listSeparator: node.listSeparator } : {}),
      ...(kind === 'enum' ? { values: node['x-brixlet-values'] as string[] } : {}),
      ...(typeof node.minimum === 'number' ? { minimum: node.minimum } : {}),
      ...(typeof node.maximum === 'number' ? { maximum: node.maximum } : {}),
    });
  };
  walk(schema, []);
  return out;
}

/** Top-level section names with their descriptions. */
export function configSections(schema: TObject): { name: string; description: string }[] {
  return Object.entries(schema.properties as Record<string, TSchema>).map(([name, s]) => ({
    name,
    description: String(s.description ?? ''),
  }));
}
