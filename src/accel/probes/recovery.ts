/**
 * The driver's recommended recovery action (NVML field 230, r570+). Exported as the raw code:
 * 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset. dcgm-exporter's default set
 * has no counterpart, so there is no DCGM_* series for it.
 */
import type { Probe } from './probe.js';
import { gauge, single } from './series.js';

export const recovery: Probe = {
  name: 'recovery',
  description: 'Recovery action the driver asks for: 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset.',
  defaultEnabled: true,
  vendors: ['nvidia'],
  metrics: [
    gauge('native', 'brixlet_accelerator_recovery_action', 'Recovery action the driver asks for: 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset.', (d) =>
      single(d.sample.recoveryAction),
    ),
  ],
};
