import { describe, expect, it } from 'vitest';
import { utilization } from '../../../src/accel/probes/utilization.js';
import { ASCEND_SAMPLE, gpu, npu, seriesOf } from '../helpers/snapshot.js';

describe('utilization probe', () => {
  it('exports percent under the dcgm-exporter names', () => {
    const d = gpu(0, { gpuUtilPercent: 37, memoryUtilPercent: 12, encoderUtilPercent: 3, decoderUtilPercent: 4 });
    expect(seriesOf(utilization, 'DCGM_FI_DEV_GPU_UTIL', d)).toEqual({ '': 37 });
    expect(seriesOf(utilization, 'DCGM_FI_DEV_MEM_COPY_UTIL', d)).toEqual({ '': 12 });
    expect(seriesOf(utilization, 'DCGM_FI_DEV_ENC_UTIL', d)).toEqual({ '': 3 });
    expect(seriesOf(utilization, 'DCGM_FI_DEV_DEC_UTIL', d)).toEqual({ '': 4 });
  });

  it('exports a 0-1 ratio per engine natively', () => {
    const d = gpu(0, { gpuUtilPercent: 37, encoderUtilPercent: 0 });
    expect(seriesOf(utilization, 'brixlet_accelerator_utilization_ratio', d)).toEqual({ 'engine=gpu': 0.37, 'engine=encoder': 0 });
    expect(seriesOf(utilization, 'brixlet_accelerator_utilization_ratio', npu(0, ASCEND_SAMPLE))).toEqual({ 'engine=aicore': 0.35 });
  });

  it('exports AI Core utilization for Ascend and omits unread engines', () => {
    expect(seriesOf(utilization, 'npu_chip_info_utilization', npu(0, ASCEND_SAMPLE))).toEqual({ '': 35 });
    expect(seriesOf(utilization, 'DCGM_FI_DEV_DEC_UTIL', gpu(0, { gpuUtilPercent: 1 }))).toEqual({});
  });
});
