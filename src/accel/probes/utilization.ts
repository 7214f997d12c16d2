/** Engine utilization: NVML utilization rates and encoder/decoder; Ascend AI Core utilization. */
import type { Probe } from './probe.js';
import { gauge, labeled, percentToRatio, single } from './series.js';

export const utilization: Probe = {
  name: 'utilization',
  description: 'Busy fraction of the compute, memory-copy, encoder and decoder engines (Ascend: AI Core).',
  defaultEnabled: true,
  vendors: ['nvidia', 'ascend'],
  metrics: [
    gauge('dcgm', 'DCGM_FI_DEV_GPU_UTIL', 'GPU utilization (in %).', (d) => single(d.sample.gpuUtilPercent)),
    gauge('dcgm', 'DCGM_FI_DEV_MEM_COPY_UTIL', 'Memory utilization (in %).', (d) => single(d.sample.memoryUtilPercent)),
    gauge('dcgm', 'DCGM_FI_DEV_ENC_UTIL', 'Encoder utilization (in %).', (d) => single(d.sample.encoderUtilPercent)),
    gauge('dcgm', 'DCGM_FI_DEV_DEC_UTIL', 'Decoder utilization (in %).', (d) => single(d.sample.decoderUtilPercent)),
    gauge('npu', 'npu_chip_info_utilization', "the ai core utilization, unit is '%'", (d) => single(d.sample.aicoreUtilPercent)),
    gauge('native', 'brixlet_accelerator_utilization_ratio', 'Fraction of the last sample period the engine was busy (0-1).', (d) => {
      const s = d.sample;
      return labeled([
        [{ engine: 'gpu' }, percentToRatio(s.gpuUtilPercent)],
        [{ engine: 'memory' }, percentToRatio(s.memoryUtilPercent)],
        [{ engine: 'encoder' }, percentToRatio(s.encoderUtilPercent)],
        [{ engine: 'decoder' }, percentToRatio(s.decoderUtilPercent)],
        [{ engine: 'aicore' }, percentToRatio(s.aicoreUtilPercent)],
      ]);
    }),
  ],
};
