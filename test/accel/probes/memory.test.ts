import { describe, expect, it } from 'vitest';
import { memory } from '../../../src/accel/probes/memory.js';
import { ASCEND_SAMPLE, H100_SAMPLE, gpu, npu, seriesOf } from '../helpers/snapshot.js';

const MIB = 1024 * 1024;

describe('memory probe', () => {
  it('exports the framebuffer in whole MiB under the dcgm-exporter names', () => {
    const d = gpu(0, { memoryUsedBytes: 1024 * MIB + 5, memoryFreeBytes: 79 * 1024 * MIB, memoryReservedBytes: 512 * MIB });
    expect(seriesOf(memory, 'DCGM_FI_DEV_FB_USED', d)).toEqual({ '': 1024 });
    expect(seriesOf(memory, 'DCGM_FI_DEV_FB_FREE', d)).toEqual({ '': 79 * 1024 });
    expect(seriesOf(memory, 'DCGM_FI_DEV_FB_RESERVED', d)).toEqual({ '': 512 });
  });

  it('exports bytes natively: framebuffer on NVIDIA, HBM on Ascend', () => {
    expect(seriesOf(memory, 'brixlet_accelerator_memory_total_bytes', gpu(0, H100_SAMPLE))).toEqual({ '': 80 * 1024 ** 3 });
    expect(seriesOf(memory, 'brixlet_accelerator_memory_used_bytes', npu(0, ASCEND_SAMPLE))).toEqual({ '': 3276 * MIB });
    expect(seriesOf(memory, 'brixlet_accelerator_memory_total_bytes', npu(0, ASCEND_SAMPLE))).toEqual({ '': 65536 * MIB });
  });

  it('exports Ascend HBM in MB under the npu-exporter names, and no DDR family it cannot read', () => {
    const d = npu(0, ASCEND_SAMPLE);
    expect(seriesOf(memory, 'npu_chip_info_hbm_total_memory', d)).toEqual({ '': 65536 });
    expect(seriesOf(memory, 'npu_chip_info_hbm_used_memory', d)).toEqual({ '': 3276 });
    expect(memory.metrics.map((m) => m.name)).not.toContain('npu_chip_info_total_memory');
    expect(memory.metrics.map((m) => m.name).filter((n) => n.includes('ddr'))).toEqual([]);
  });

  it('omits what was not read, never 0', () => {
    const d = gpu(0, { memoryTotalBytes: 80 * 1024 ** 3 });
    expect(seriesOf(memory, 'DCGM_FI_DEV_FB_RESERVED', d)).toEqual({});
    expect(seriesOf(memory, 'brixlet_accelerator_memory_used_bytes', d)).toEqual({});
    expect(seriesOf(memory, 'brixlet_accelerator_memory_free_bytes', npu(0, ASCEND_SAMPLE))).toEqual({});
  });
});
