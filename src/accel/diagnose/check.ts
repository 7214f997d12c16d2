/**
 * What a diagnose check is: a small pure function over one device of a snapshot (and, at level 2,
 * the same device a window earlier) that returns one outcome. run-diagnose.ts adds the check name,
 * the device identity and the severity, so checks only decide status, action and wording.
 */
import { type Condition, conditionsOf } from '../conditions.js';
import type { DeviceSnapshot } from '../types.js';
import type { DiagnoseAction, DiagnoseStatus } from './diagnose-report.js';

export interface CheckOutcome {
  readonly status: DiagnoseStatus;
  readonly action: DiagnoseAction;
  readonly observed: string;
  readonly expected: string;
  readonly message: string;
}

export interface DeviceCheckInput {
  readonly level: 1 | 2;
  /** The device as read last (at level 2: at the end of the window). */
  readonly device: DeviceSnapshot;
  /** Level 2: the same device at the start of the window. */
  readonly before?: DeviceSnapshot;
  readonly windowMs?: number;
  /** XIDs that are application errors and do not make a device unhealthy. */
  readonly xidIgnore: ReadonlySet<number>;
}

export interface DeviceCheck {
  readonly name: string;
  run(input: DeviceCheckInput): CheckOutcome;
}

export const pass = (observed: string, expected: string, message: string): CheckOutcome => ({ status: 'pass', action: 'none', observed, expected, message });

export const warn = (action: DiagnoseAction, observed: string, expected: string, message: string): CheckOutcome => ({ status: 'warn', action, observed, expected, message });

export const fail = (action: DiagnoseAction, observed: string, expected: string, message: string): CheckOutcome => ({ status: 'fail', action, observed, expected, message });

/**
 * A check whose inputs were not read: says why, from the APIs the device reported NOT_SUPPORTED or
 * failing. `apis` are substrings of the vendor function names that feed the check.
 */
export function skip(device: DeviceSnapshot, apis: readonly string[], expected: string, what: string): CheckOutcome {
  const matches = (api: string) => apis.some((a) => api.includes(a));
  const unsupported = device.unsupported.filter(matches);
  const failed = device.errors.filter((e) => matches(e.api));
  let reason: string;
  if (unsupported.length > 0) reason = `${unsupported.join(', ')}: NOT_SUPPORTED`;
  else if (failed.length > 0) reason = failed.map((e) => `${e.api}: ${e.code} (${e.value})`).join(', ');
  else reason = 'not read';
  return { status: 'skip', action: 'none', observed: unsupported.length > 0 ? 'not supported' : 'not read', expected, message: `${what} not available: ${reason}` };
}

/**
 * The shared condition rules' verdict for `check` on this device (conditions.ts, the rules health
 * uses): fail for an unhealthy condition, warn for a degraded one, undefined when none holds.
 * `message` words it for the check; the rule's reason is the default.
 */
export function judged(check: string, device: DeviceSnapshot, observed: string, expected: string, message?: (c: Condition) => string): CheckOutcome | undefined {
  const [worst] = conditionsOf(check, device.identity.vendor, device.sample, device.errors);
  if (worst === undefined) return undefined;
  const text = message?.(worst) ?? worst.reason;
  return worst.level === 'unhealthy' ? fail(worst.action, observed, expected, text) : warn(worst.action, observed, expected, text);
}

/** Increase of a counter over the window; undefined when either end is missing or it went down (reset). */
export function delta(now: number | undefined, before: number | undefined): number | undefined {
  if (now === undefined || before === undefined || now < before) return undefined;
  return now - before;
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? 'the window' : `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}
