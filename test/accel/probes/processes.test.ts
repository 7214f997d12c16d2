import { describe, expect, it } from 'vitest';
import { processes } from '../../../src/accel/probes/processes.js';
import { gpu, npu, seriesOf } from '../helpers/snapshot.js';

describe('processes probe', () => {
  const list = [
    { pid: 101, usedMemoryBytes: 1000 },
    { pid: 202, usedMemoryBytes: 2500 },
  ];

  it('exports the process count and the memory they hold, without per-pid series', () => {
    expect(seriesOf(processes, 'brixlet_accelerator_processes', gpu(0, { processes: list }))).toEqual({ '': 2 });
    expect(seriesOf(processes, 'brixlet_accelerator_processes_memory_bytes', gpu(0, { processes: list }))).toEqual({ '': 3500 });
    expect(seriesOf(processes, 'npu_chip_info_process_info_num', npu(0, { processes: list }))).toEqual({ '': 2 });
  });

  it('exports an empty list as 0 and an unread list as nothing', () => {
    expect(seriesOf(processes, 'brixlet_accelerator_processes', gpu(0, { processes: [] }))).toEqual({ '': 0 });
    expect(seriesOf(processes, 'brixlet_accelerator_processes', gpu(0, {}))).toEqual({});
  });
});
