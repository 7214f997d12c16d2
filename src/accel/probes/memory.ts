/**
 * Device memory: the NVIDIA framebuffer (nvmlDeviceGetMemoryInfo_v2) and, on Ascend, HBM
 * (dcmi_get_device_hbm_info). The backends put HBM in memoryTotal/UsedBytes for Ascend too, so the
 * sample's memory fields always mean "the memory workloads allocate from". The npu-exporter DDR
 * families (npu_chip_info_total_memory / _used_memory) are not exported: no backend reads DDR
 * (dcmi_get_device_memory_info_v3), and exporting HBM under a DDR name would mislead.
 */
import type { DeviceSnapshot } from '../types.js';
import type { Probe } from './probe.js';
import { gauge, onlyFor, single, wholeMib } from './series.js';

/** The memory workloads allocate from: the framebuffer on NVIDIA, HBM on Ascend. */
function deviceMemory(device: DeviceSnapshot): { total?: number; used?: number } {
  const s = device.sample;
  return device.identity.vendor === 'nvidia'
    ? { total: s.memoryTotalBytes, used: s.memoryUsedBytes }
    : { total: s.hbmTotalBytes ?? s.memoryTotalBytes, used: s.hbmUsedBytes ?? s.memoryUsedBytes };
}

export const memory: Probe = {
  name: 'memory',
  description: 'Device memory total, used, free and reserved (NVIDIA framebuffer; Ascend HBM).',
  defaultEnabled: true,
  vendors: ['nvidia', 'ascend'],
  metrics: [
    gauge('dcgm', 'DCGM_FI_DEV_FB_FREE', 'Framebuffer memory free (in MiB).', (d) => single(wholeMib(d.sample.memoryFreeBytes))),
    gauge('dcgm', 'DCGM_FI_DEV_FB_USED', 'Framebuffer memory used (in MiB).', (d) => single(wholeMib(d.sample.memoryUsedBytes))),
    gauge('dcgm', 'DCGM_FI_DEV_FB_RESERVED', 'Framebuffer memory reserved (in MiB).', (d) => single(wholeMib(d.sample.memoryReservedBytes))),
    gauge('npu', 'npu_chip_info_hbm_used_memory', 'the npu hbm used memory, unit is MB', (d) => single(wholeMib(d.sample.hbmUsedBytes))),
    gauge('npu', 'npu_chip_info_hbm_total_memory', 'the npu hbm total memory, unit is MB', (d) => single(wholeMib(d.sample.hbmTotalBytes))),
    gauge('native', 'brixlet_accelerator_memory_total_bytes', 'Device memory size (NVIDIA framebuffer, Ascend HBM), bytes.', (d) =>
      single(deviceMemory(d).total),
    ),
    gauge('native', 'brixlet_accelerator_memory_used_bytes', 'Device memory in use (NVIDIA framebuffer, Ascend HBM), bytes.', (d) =>
      single(deviceMemory(d).used),
    ),
    gauge('native', 'brixlet_accelerator_memory_free_bytes', 'Framebuffer memory free, bytes (total - used - reserved).', onlyFor('nvidia', (d) => single(d.sample.memoryFreeBytes))),
    gauge('native', 'brixlet_accelerator_memory_reserved_bytes', 'Framebuffer memory reserved by the driver, bytes.', onlyFor('nvidia', (d) => single(d.sample.memoryReservedBytes))),
  ],
};
