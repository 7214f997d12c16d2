/**
 * Pure conversion of one raw config value (from YAML, an env var or a flag) into the field's
 * stored form, with a message that says what was expected when it does not fit.
 */
import type { ConfigField } from './fields.js';

export type Coerced = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `16MiB` → 16777216; `1.5GB` → 1500000000; a bare integer is bytes. Returns undefined when unparsable. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(text);
  if (m === null) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? 'B').toUpperCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `10s` → 10000; `250ms` → 250; a bare number is milliseconds. Returns undefined when unparsable. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (m === null) return undefined;
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] ?? 'ms'] ?? 1);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** How a bad value is shown in a problem: never throws, whatever the input. */
function describe(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (raw === null) return 'nothing (null)';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  return String(raw);
}

export function formatBytes(n: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n}`;
}

export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A bound as the user would write it for this kind of field. */
export function formatBound(field: ConfigField, n: number): string {
  if (field.kind === 'size') return formatBytes(n);
  if (field.kind === 'duration') return formatDuration(n);
  return String(n);
}

function inRange(field: ConfigField, n: number, shown: string): Coerced {
  if (!Number.isInteger(n)) return { ok: false, problem: `must be a whole number, got ${shown}` };
  const { minimum: min, maximum: max } = field;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    const lo = min === undefined ? '-∞' : formatBound(field, min);
    const hi = max === undefined ? '∞' : formatBound(field, max);
    return { ok: false, problem: `must be between ${lo} and ${hi}, got ${shown}` };
  }
  return { ok: true, value: n };
}

/** A config-file list for a string field with a listSeparator (see fields.ts Str); undefined otherwise. */
function joinList(field: ConfigField, raw: unknown): string | undefined {
  if (field.listSeparator === undefined || !Array.isArray(raw)) return undefined;
  const scalar = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const parts: string[] = [];
  for (const item of raw) {
    const s = scalar(item);
    if (s !== undefined) parts.push(s);
    else if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const kv: string[] = [];
      for (const [k, v] of Object.entries(item)) {
        const value = Array.isArray(v) ? (v.every((x) => scalar(x) !== undefined) ? v.map((x) => scalar(x)).join(':') : undefined) : scalar(v);
        if (value === undefined) return undefined;
        kv.push(`${k}=${value}`);
      }
      parts.push(kv.join(','));
    } else return undefined;
  }
  return parts.join(field.listSeparator);
}

export function coerceField(field: ConfigField, raw: unknown): Coerced {
  switch (field.kind) {
    case 'string': {
      const text = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : joinList(field, raw);
      if (text === undefined) return { ok: false, problem: `must be a string, got ${describe(raw)}` };
      if (field.pattern !== undefined && !new RegExp(field.pattern).test(text)) {
        return { ok: false, problem: `must be ${field.expected ?? `a string matching ${field.pattern}`}, got ${describe(raw)}` };
      }
      return { ok: true, value: text };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      const s = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      if (TRUE.has(s)) return { ok: true, value: true };
      if (FALSE.has(s)) return { ok: true, value: false };
      return { ok: false, problem: `must be true or false, got ${describe(raw)}` };
    }
    case 'enum': {
      const values = field.values ?? [];
      if (typeof raw === 'string' && values.includes(raw)) return { ok: true, value: raw };
      return { ok: false, problem: `must be one of ${values.join(', ')}, got ${describe(raw)}` };
    }
    case 'integer': {
      if (typeof raw === 'number') return inRange(field, raw, String(raw));
      if (typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) return inRange(field, Number(raw), describe(raw));
      return { ok: false, problem: `must be a whole number, got ${describe(raw)}` };
    }
    case 'size': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseSize(raw) : undefined;
      if (n === undefined) return { ok: false, problem: `must be a size such as 65536, 512KiB or 16MiB, got ${describe(raw)}` };
      return inRange(field, n, describe(raw));
    }
    case 'duration': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDuration(raw) : undefined;
      if (n === undefined) return { ok: false, problem: `must be a duration such as 500ms, 10s or 2m, got ${describe(raw)}` };
      return inRange(field, n, describe(raw));
    }
  }
}
