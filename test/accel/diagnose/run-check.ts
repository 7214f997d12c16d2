// Runs one named check of a check list against a device (level 1 unless a `before` is given).
import type { DeviceCheck } from '../../../src/accel/diagnose/check.js';
import type { DeviceSnapshot } from '../../../src/accel/types.js';

export function runCheck(checks: readonly DeviceCheck[] | DeviceCheck, name: string, device: DeviceSnapshot, opts: { before?: DeviceSnapshot; windowMs?: number; xidIgnore?: number[] } = {}) {
  const list = Array.isArray(checks) ? checks : [checks as DeviceCheck];
  const check = list.find((c) => c.name === name);
  if (check === undefined) throw new Error(`no check ${name}`);
  return check.run({ level: opts.before === undefined ? 1 : 2, device, before: opts.before, windowMs: opts.windowMs ?? 2000, xidIgnore: new Set(opts.xidIgnore ?? [13, 31, 43, 45, 68, 109]) });
}
