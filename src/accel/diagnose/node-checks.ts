/** Node-level checks: is each vendor library loaded and initialised, and are all devices there? */
import type { AccelSnapshot, BackendStatus } from '../types.js';
import { type CheckOutcome, fail, pass, warn } from './check.js';
import type { DiagnoseAction } from './diagnose-report.js';

export interface NodeOutcome extends CheckOutcome {
  readonly check: string;
  readonly vendor: 'nvidia' | 'ascend' | null;
}

/** What fixes a failed init, by vendor return code. */
function initAction(status: BackendStatus): DiagnoseAction {
  const code = status.error?.value;
  if (status.vendor === 'nvidia' && code === 18) return 'reboot-node'; // library/kernel module version mismatch after an upgrade
  if (status.vendor === 'nvidia' && code === 4) return 'check-config'; // NO_PERMISSION: device nodes not mounted
  if (status.vendor === 'ascend' && (code === -8013 || code === -8002)) return 'check-config'; // not allowed in this container
  return 'reinstall-driver';
}

const FIX: Partial<Record<DiagnoseAction, string>> = {
  'reboot-node': 'reboot the node (or reload the kernel module) so library and driver versions match',
  'check-config': 'give the process access to the device nodes (container runtime / device mounts)',
  'reinstall-driver': 'check that the driver is installed and its kernel module loaded',
};

function driverOutcome(status: BackendStatus): NodeOutcome {
  const base = { check: 'driver', vendor: status.vendor } as const;
  const lib = status.kind === 'sim' ? `sim ${status.vendor}` : status.kind;
  if (status.state === 'up') {
    const versions = [status.driverVersion && `driver ${status.driverVersion}`, status.libraryVersion && `library ${status.libraryVersion}`].filter(Boolean).join(', ');
    return { ...base, ...pass(`${lib} up${versions ? `, ${versions}` : ''}`, `${lib} up`, `${status.vendor} library loaded and initialised`) };
  }
  const action = initAction(status);
  const why = status.message ?? (status.error ? `${status.error.api}: ${status.error.code} (${status.error.value})` : status.state);
  const observed = status.state === 'absent' ? `${lib} absent` : `${lib} init failed${status.error ? `: ${status.error.code} (${status.error.value})` : ''}`;
  return { ...base, ...fail(action, observed, `${lib} up`, `${why}; ${FIX[action] ?? 'check the driver'}`) };
}

export function driverChecks(snapshot: AccelSnapshot): NodeOutcome[] {
  if (snapshot.backends.length === 0) {
    return [{ check: 'driver', vendor: null, ...fail('reinstall-driver', 'no accelerator library', 'nvml or dcmi up', 'no accelerator library was found or selected (--accel); install the driver or point --nvml.library / --dcmi.library at it') }];
  }
  return snapshot.backends.map(driverOutcome);
}

export function deviceCountCheck(snapshot: AccelSnapshot, expectedCount: number): NodeOutcome {
  const base = { check: 'device-count', vendor: null } as const;
  const n = snapshot.devices.length;
  const byVendor = (['nvidia', 'ascend'] as const).map((v) => [v, snapshot.devices.filter((d) => d.identity.vendor === v).length] as const).filter(([, c]) => c > 0);
  const observed = byVendor.length > 1 ? `${n} (${byVendor.map(([v, c]) => `${v} ${c}`).join(', ')})` : `${n}`;
  if (expectedCount === 0) {
    const anyUp = snapshot.backends.some((b) => b.state === 'up');
    if (anyUp && n === 0) return { ...base, ...warn('check-config', '0', 'at least 1', 'the library is up but reports no devices (container without device access?)') };
    return { ...base, status: 'skip', action: 'none', observed, expected: 'not set', message: 'no expected count: set --expected-count (accel.expectedCount) to check it' };
  }
  const expected = `${expectedCount}`;
  if (n === expectedCount) return { ...base, ...pass(observed, expected, 'every expected device is present') };
  const down = snapshot.backends.find((b) => b.state !== 'up');
  if (n < expectedCount && (down !== undefined || snapshot.backends.length === 0)) {
    const action = down === undefined ? 'reinstall-driver' : initAction(down);
    return { ...base, ...fail(action, observed, expected, `${expectedCount - n} device(s) not visible because ${down === undefined ? 'no accelerator library is loaded' : `the ${down.vendor} library is not up`}: see the driver check`) };
  }
  if (n < expectedCount) return { ...base, ...fail('reboot-node', observed, expected, `${expectedCount - n} device(s) missing: one fell off the bus or failed to initialise; reboot the node, then check the hardware`) };
  return { ...base, ...warn('check-config', observed, expected, 'more devices than expected: check --expected-count') };
}
