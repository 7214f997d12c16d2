/** device-access: did every read of the device succeed? A lost GPU or NPU shows up here first. */
import type { ApiError } from '../types.js';
import { type DeviceCheck, judged, pass, warn } from './check.js';

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
    const apis = [...new Set(errors.map((e) => e.api))];
    const shown = apis.length > 3 ? `${apis.slice(0, 3).join(', ')} and ${apis.length - 3} more` : apis.join(', ');
    // GPU_IS_LOST / RESET_REQUIRED, an NPU that is gone: the shared rules (a reset rarely reaches a GPU that left the bus).
    const fatal = judged('device-access', device, observed, 'all reads succeed', (c) =>
      `the device no longer answers (${shown}); ${c.action === 'reset-gpu' ? 'reset it' : 'reboot the node; if it stays lost, the device needs service'}`,
    );
    if (fatal !== undefined) return fatal;
    return warn('monitor', observed, 'all reads succeed', `some reads failed (${shown}); their values are missing from metrics and checks`);
  },
};
