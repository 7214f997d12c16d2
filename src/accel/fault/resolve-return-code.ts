/**
 * A rule's `effect.return` as the vendor library's number: `15`, `'GPU_IS_LOST'`,
 * `'NVML_ERROR_GPU_IS_LOST'`, `-8005`, `'INNER_ERR'`, `'DCMI_ERR_INNER_ERR'`. `NOT_SUPPORTED`
 * and `NOT_SUPPORT` mean each vendor's own "cannot" code, so one rule reads the same on both.
 */
import { notSupportedCode, returnName } from '../return-codes.js';
import type { Vendor } from '../types.js';

const NVML_RANGE = [...Array.from({ length: 64 }, (_, i) => i), 999];
const DCMI_RANGE = Array.from({ length: 256 }, (_, i) => -8000 - i);

function table(vendor: Vendor, range: readonly number[]): ReadonlyMap<string, number> {
  const out = new Map<string, number>();
  for (const code of range) {
    const name = returnName(vendor, code);
    if (!name.startsWith('UNKNOWN_')) out.set(name, code);
  }
  return out;
}

const NAMES: Readonly<Record<Vendor, ReadonlyMap<string, number>>> = {
  nvidia: table('nvidia', NVML_RANGE),
  ascend: table('ascend', DCMI_RANGE),
};

const PREFIXES: Readonly<Record<Vendor, readonly string[]>> = {
  nvidia: ['NVML_ERROR_', 'NVML_'],
  ascend: ['DCMI_ERR_', 'DCMI_ERROR_', 'DCMI_'],
};

/** The vendor's code for `value`, or undefined when a symbolic name is not one of that vendor's. */
export function resolveReturnCode(vendor: Vendor, value: number | string): number | undefined {
  if (typeof value === 'number') return value;
  let name = value.trim().toUpperCase();
  for (const prefix of PREFIXES[vendor]) if (name.startsWith(prefix)) name = name.slice(prefix.length);
  if (name === 'NOT_SUPPORTED' || name === 'NOT_SUPPORT') return notSupportedCode(vendor);
  return NAMES[vendor].get(name);
}

/** Some names for an error message: what a user could have meant. */
export function returnCodeNames(vendor: Vendor): string[] {
  return [...NAMES[vendor].keys()];
}
