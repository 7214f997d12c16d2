import { describe, expect, it } from 'vitest';
import { power } from '../../../src/accel/probes/power.js';
import { ASCEND_SAMPLE, H100_SAMPLE, declOf, gpu, npu, seriesOf } from '../helpers/snapshot.js';

describe('power probe', () => {
  it('exports watts and the millijoule energy counter under the dcgm-exporter names', () => {
    expect(seriesOf(power, 'DCGM_FI_DEV_POWER_USAGE', gpu(0, H100_SAMPLE))).toEqual({ '': 112.5 });
    expect(seriesOf(power, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', gpu(0, H100_SAMPLE))).toEqual({ '': 123_456_789 });
    expect(declOf(power, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION').type).toBe('counter');
  });

  it('converts energy to joules natively and keeps the limit', () => {
    expect(seriesOf(power, 'brixlet_accelerator_energy_joules_total', gpu(0, H100_SAMPLE))).toEqual({ '': 123_456.789 });
    expect(seriesOf(power, 'brixlet_accelerator_power_limit_watts', gpu(0, H100_SAMPLE))).toEqual({ '': 700 });
  });

  it('exports Ascend power and voltage', () => {
    expect(seriesOf(power, 'npu_chip_info_power', npu(0, ASCEND_SAMPLE))).toEqual({ '': 110.5 });
    expect(seriesOf(power, 'npu_chip_info_voltage', npu(0, ASCEND_SAMPLE))).toEqual({ '': 0.85 });
    expect(seriesOf(power, 'brixlet_accelerator_voltage_volts', npu(0, ASCEND_SAMPLE))).toEqual({ '': 0.85 });
  });

  it('omits energy on GPUs without the counter', () => {
    expect(seriesOf(power, 'brixlet_accelerator_energy_joules_total', gpu(0, { powerW: 50 }))).toEqual({});
    expect(seriesOf(power, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', gpu(0, { powerW: 50 }))).toEqual({});
  });
});
