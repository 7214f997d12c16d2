/** Temperatures and the NVIDIA slowdown/shutdown thresholds diagnose compares them with. */
import type { Probe } from './probe.js';
import { gauge, labeled, onlyFor, single } from './series.js';

export const thermal: Probe = {
  name: 'thermal',
  description: 'Chip and memory temperature; NVIDIA slowdown and shutdown thresholds.',
  defaultEnabled: true,
  vendors: ['nvidia', 'ascend'],
  metrics: [
    gauge('dcgm', 'DCGM_FI_DEV_GPU_TEMP', 'GPU temperature (in C).', (d) => single(d.sample.gpuTempC)),
    gauge('dcgm', 'DCGM_FI_DEV_MEMORY_TEMP', 'Memory temperature (in C).', (d) => single(d.sample.memoryTempC)),
    gauge('npu', 'npu_chip_info_temperature', "the npu temperature, unit is '℃'", (d) => single(d.sample.gpuTempC)),
    gauge('native', 'brixlet_accelerator_temperature_celsius', 'Temperature by sensor: chip (GPU or NPU die) and memory (framebuffer or HBM).', (d) =>
      labeled([
        [{ sensor: 'chip' }, d.sample.gpuTempC],
        [{ sensor: 'memory' }, d.sample.memoryTempC ?? d.sample.hbmTempC],
      ]),
    ),
    gauge(
      'native',
      'brixlet_accelerator_temperature_threshold_celsius',
      'Temperature at which the GPU slows its clocks (slowdown) or shuts down (shutdown).',
      onlyFor('nvidia', (d) =>
        labeled([
          [{ threshold: 'slowdown' }, d.sample.slowdownTempC],
          [{ threshold: 'shutdown' }, d.sample.shutdownTempC],
        ]),
      ),
    ),
  ],
};
