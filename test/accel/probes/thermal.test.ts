import { describe, expect, it } from 'vitest';
import { thermal } from '../../../src/accel/probes/thermal.js';
import { ASCEND_SAMPLE, H100_SAMPLE, gpu, npu, seriesOf } from '../helpers/snapshot.js';

describe('thermal probe', () => {
  it('exports GPU and memory temperature in °C under the dcgm-exporter names', () => {
    expect(seriesOf(thermal, 'DCGM_FI_DEV_GPU_TEMP', gpu(0, H100_SAMPLE))).toEqual({ '': 41 });
    expect(seriesOf(thermal, 'DCGM_FI_DEV_MEMORY_TEMP', gpu(0, H100_SAMPLE))).toEqual({ '': 38 });
  });

  it('labels native temperatures by sensor for both vendors', () => {
    expect(seriesOf(thermal, 'brixlet_accelerator_temperature_celsius', gpu(0, H100_SAMPLE))).toEqual({ 'sensor=chip': 41, 'sensor=memory': 38 });
    expect(seriesOf(thermal, 'brixlet_accelerator_temperature_celsius', npu(0, ASCEND_SAMPLE))).toEqual({ 'sensor=chip': 45, 'sensor=memory': 43 });
    expect(seriesOf(thermal, 'npu_chip_info_temperature', npu(0, ASCEND_SAMPLE))).toEqual({ '': 45 });
  });

  it('exports the thresholds diagnose compares with', () => {
    expect(seriesOf(thermal, 'brixlet_accelerator_temperature_threshold_celsius', gpu(0, H100_SAMPLE))).toEqual({
      'threshold=slowdown': 90,
      'threshold=shutdown': 95,
    });
  });

  it('omits a sensor that was not read (a memory sensor many boards lack)', () => {
    expect(seriesOf(thermal, 'DCGM_FI_DEV_MEMORY_TEMP', gpu(0, { gpuTempC: 50 }))).toEqual({});
    expect(seriesOf(thermal, 'brixlet_accelerator_temperature_celsius', gpu(0, { gpuTempC: 50 }))).toEqual({ 'sensor=chip': 50 });
  });
});
