/** recovery-action: what the driver itself says the GPU needs (NVML field 230, r570+ drivers). */
import { type DeviceCheck, judged, pass, skip } from './check.js';
import { RECOVERY_ACTIONS } from './xid-catalog.js';

const ASKS: Readonly<Record<number, string>> = { 1: 'a GPU reset', 2: 'a node reboot', 4: 'its work to be drained, then a GPU reset' };

export const recoveryCheck: DeviceCheck = {
  name: 'recovery-action',
  run({ device }) {
    const value = device.sample.recoveryAction;
    if (value === undefined) return skip(device, ['FieldValues(230)', 'RecoveryAction'], 'NONE', 'recovery action (field 230, r570+ drivers)');
    const known = RECOVERY_ACTIONS[value];
    const observed = `${value} ${known?.name ?? 'UNKNOWN'}`;
    const message = () => {
      if (known === undefined) return 'the driver reports a recovery action brixlet does not know';
      if (known.action === 'drain-p2p') return 'the driver asks to stop peer-to-peer traffic to this GPU (drain P2P workloads)';
      return `the driver asks for ${ASKS[value] ?? known.name}; the GPU stays unhealthy until it reads NONE`;
    };
    return judged('recovery-action', device, observed, '0 NONE', message) ?? pass(observed, '0 NONE', 'the driver asks for no recovery');
  },
};
