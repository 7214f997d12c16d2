/** device-access: did every read of the device succeed? A lost GPU or NPU shows up here first. */
import type { ApiError, Vendor } from '../types.js';
import { type DeviceCheck, fail, pass, warn } from './check.js';
import type { DiagnoseAction } from './diagnose-report.js';

/** Return codes that mean the device itself is gone or wedged, with what brings it back. */
const FATAL: Readonly<Record<Vendor, ReadonlyMap<number, DiagnoseAction>>> = {
  // 15 GPU_IS_LOST (a reset rarely reaches a GPU that left the bus), 16 RESET_REQUIRED.
  nvidia: new Map<number, DiagnoseAction>([
    [15, 'reboot-node'],
    [16, 'reset-gpu'],
  ]),
  // -8007 INVALID_DEVICE_ID, -8008 DEVICE_NOT_EXIST, -8015 RESET_FAIL.
  ascend: new Map<number, DiagnoseAction>([
    [-8007, 'reboot-node'],
    [-8008, 'reboot-node'],
    [-8015, 'reboot-node'],
  ]),
};

function describe(errors: readonly ApiError[]): string {
  const byCode = new Map<string, number>();
  for (const e of errors) {
    const key = `${e.code} (${e.value})`;
    byCode.set(key, (byCode.get(key) ?? 0) + 1);
  }
  return [...byCode].map(([code, n]) => `${n}× ${code}`).join(', ');
}

export const deviceAccessCheck: DeviceCheck = {
  name: 'device-access',
  run({ device }) {
    const { errors } = device;
    if (errors.length === 0) return pass('all reads succeeded', 'all reads succeed', 'every supported API answered');
    const observed = `${errors.length} failed read(s): ${describe(errors)}`;
    const fatal = errors.map((e) => FATAL[device.identity.vendor].get(e.value)).find((a) => a !== undefined);
    const apis = [...new Set(errors.map((e) => e.api))];
    const shown = apis.length > 3 ? `${apis.slice(0, 3).join(', ')} and ${apis.length - 3} more` : apis.join(', ');
    if (fatal !== undefined) {
      return fail(fatal, observed, 'all reads succeed', `the device no longer answers (${shown}); ${fatal === 'reset-gpu' ? 'reset it' : 'reboot the node; if it stays lost, the device needs service'}`);
    }
    return warn('monitor', observed, 'all reads succeed', `some reads failed (${shown}); their values are missing from metrics and checks`);
  },
};
