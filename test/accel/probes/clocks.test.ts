import { describe, expect, it } from 'vitest';
import { clocks } from '../../../src/accel/probes/clocks.js';
import { ASCEND_SAMPLE, H100_SAMPLE, gpu, npu, seriesOf } from '../helpers/snapshot.js';

describe('clocks probe', () => {
  it('exports MHz under the dcgm-exporter names and hertz natively', () => {
    expect(seriesOf(clocks, 'DCGM_FI_DEV_SM_CLOCK', gpu(0, H100_SAMPLE))).toEqual({ '': 1980 });
    expect(seriesOf(clocks, 'DCGM_FI_DEV_MEM_CLOCK', gpu(0, H100_SAMPLE))).toEqual({ '': 2619 });
    expect(seriesOf(clocks, 'brixlet_accelerator_clock_hertz', gpu(0, H100_SAMPLE))).toEqual({
      'clock=sm': 1.98e9,
      'clock=memory': 2.619e9,
      'clock=graphics': 1.98e9,
    });
    expect(seriesOf(clocks, 'brixlet_accelerator_clock_max_hertz', gpu(0, H100_SAMPLE))).toEqual({ 'clock=sm': 1.98e9 });
  });

  it('exports the Ascend AI Core frequency', () => {
    expect(seriesOf(clocks, 'npu_chip_info_aicore_current_freq', npu(0, ASCEND_SAMPLE))).toEqual({ '': 1800 });
    expect(seriesOf(clocks, 'brixlet_accelerator_clock_hertz', npu(0, ASCEND_SAMPLE))).toEqual({ 'clock=aicore': 1.8e9 });
  });

  it('splits the clock-event bitmask into named reasons and keeps the raw mask', () => {
    const d = gpu(0, { clockEventReasons: 0x40 | 0x80 });
    const active = seriesOf(clocks, 'brixlet_accelerator_clock_event_reason_active', d);
    expect(active['reason=hw_thermal_slowdown']).toBe(1);
    expect(active['reason=hw_power_brake_slowdown']).toBe(1);
    expect(active['reason=sw_power_cap']).toBe(0);
    expect(Object.keys(active)).toHaveLength(9);
    expect(seriesOf(clocks, 'brixlet_accelerator_clock_event_reasons', d)).toEqual({ '': 0xc0 });
  });

  it('reads reasons from a mask with bits above 32', () => {
    const active = seriesOf(clocks, 'brixlet_accelerator_clock_event_reason_active', gpu(0, { clockEventReasons: 2 ** 40 + 0x8 }));
    expect(active['reason=hw_slowdown']).toBe(1);
    expect(active['reason=gpu_idle']).toBe(0);
  });

  it('treats P-state 32 (unknown) as not read', () => {
    expect(seriesOf(clocks, 'brixlet_accelerator_performance_state', gpu(0, { pstate: 32 }))).toEqual({});
    expect(seriesOf(clocks, 'brixlet_accelerator_performance_state', gpu(0, { pstate: 2 }))).toEqual({ '': 2 });
    expect(seriesOf(clocks, 'brixlet_accelerator_clock_event_reason_active', gpu(0, {}))).toEqual({});
  });
});
