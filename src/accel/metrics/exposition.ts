/**
 * Prometheus text exposition format 0.0.4: value formatting and escaping. Pure functions; the
 * renderer calls them for every series, so the common case (nothing to escape) takes a fast path.
 */

const LABEL_SPECIAL = /[\\"\n]/;
const HELP_SPECIAL = /[\\\n]/;

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!LABEL_SPECIAL.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed only. */
export function escapeHelp(text: string): string {
  if (!HELP_SPECIAL.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A sample value as Prometheus parses it: integers in plain digits (no exponent, so 64-bit
 * counters up to 2^53 read back exactly), other numbers in JavaScript's shortest round-trip form,
 * infinities as +Inf/-Inf. NaN returns undefined: the series is dropped, never exported.
 */
export function formatValue(value: number): string | undefined {
  if (Number.isInteger(value)) {
    // String() switches to exponent notation from 1e21; BigInt keeps plain digits.
    return Math.abs(value) < 1e21 ? String(value === 0 ? 0 : value) : BigInt(value).toString();
  }
  if (Number.isNaN(value)) return undefined;
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** `a="x",b="y"` from ordered pairs (no braces), values escaped. */
export function formatLabelPairs(pairs: readonly (readonly [string, string])[]): string {
  let out = '';
  for (const [name, value] of pairs) out += `${out === '' ? '' : ','}${name}="${escapeLabelValue(value)}"`;
  return out;
}
