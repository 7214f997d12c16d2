/** Clocks, P-state and the NVML clock-event (throttle) reasons; Ascend AI Core frequency. */
import type { Probe } from './probe.js';
import { gauge, labeled, mhzToHertz, onlyFor, single } from './series.js';

/** nvmlClocksEventReason bits, named after NVML's constants so alerts read like the NVML docs. */
const CLOCK_EVENT_REASONS: readonly (readonly [string, number])[] = [
  ['gpu_idle', 0x1],
  ['applications_clocks_setting', 0x2],
  ['sw_power_cap', 0x4],
  ['hw_slowdown', 0x8],
  ['sync_boost', 0x10],
  ['sw_thermal_slowdown', 0x20],
  ['hw_thermal_slowdown', 0x40],
  ['hw_power_brake_slowdown', 0x80],
  ['display_clock_setting', 0x100],
];

/** NVML reports 32 for an unknown P-state: that is "not read", not a state. */
const PSTATE_UNKNOWN = 32;

export const clocks: Probe = {
  name: 'clocks',
  description: 'SM, memory and graphics clocks, max SM clock, P-state, clock-event reasons; Ascend AI Core frequency.',
  defaultEnabled: true,
  vendors: ['nvidia', 'ascend'],
  metrics: [
    gauge('dcgm', 'DCGM_FI_DEV_SM_CLOCK', 'SM clock frequency (in MHz).', (d) => single(d.sample.smClockMhz)),
    gauge('dcgm', 'DCGM_FI_DEV_MEM_CLOCK', 'Memory clock frequency (in MHz).', (d) => single(d.sample.memClockMhz)),
    gauge('npu', 'npu_chip_info_aicore_current_freq', "the npu ai core current frequency, unit is 'MHz'", (d) => single(d.sample.aicoreFreqMhz)),
    gauge('native', 'brixlet_accelerator_clock_hertz', 'Current clock frequency by clock domain, hertz.', (d) => {
      const s = d.sample;
      return labeled([
        [{ clock: 'sm' }, mhzToHertz(s.smClockMhz)],
        [{ clock: 'memory' }, mhzToHertz(s.memClockMhz)],
        [{ clock: 'graphics' }, mhzToHertz(s.graphicsClockMhz)],
        [{ clock: 'aicore' }, mhzToHertz(s.aicoreFreqMhz)],
      ]);
    }),
    gauge('native', 'brixlet_accelerator_clock_max_hertz', 'Maximum clock frequency by clock domain, hertz.', (d) =>
      labeled([[{ clock: 'sm' }, mhzToHertz(d.sample.maxSmClockMhz)]]),
    ),
    gauge('native', 'brixlet_accelerator_performance_state', 'Performance state: 0 (P0, maximum) to 15 (P15, minimum).', onlyFor('nvidia', (d) =>
      single(d.sample.pstate === PSTATE_UNKNOWN ? undefined : d.sample.pstate),
    )),
    gauge('native', 'brixlet_accelerator_clock_event_reasons', 'Raw NVML clock-event (throttle) reason bitmask.', onlyFor('nvidia', (d) => single(d.sample.clockEventReasons))),
    gauge('native', 'brixlet_accelerator_clock_event_reason_active', 'Whether a clock-event (throttle) reason is active (1) or not (0).', onlyFor('nvidia', (d) => {
      const mask = d.sample.clockEventReasons;
      if (mask === undefined) return [];
      // The mask is a 64-bit value carried in a double; the reasons all live in the low 32 bits.
      const low = mask % 2 ** 32;
      return CLOCK_EVENT_REASONS.map(([reason, bit]) => ({ labels: { reason }, value: (low & bit) !== 0 ? 1 : 0 }));
    })),
  ],
};
