/**
 * Compute processes on the device. Only counts and totals are exported: a series per pid would
 * churn with every job and blow up the cardinality of a node's scrape.
 */
import type { Probe } from './probe.js';
import { gauge, single } from './series.js';

export const processes: Probe = {
  name: 'processes',
  description: 'Compute processes running on the device and the device memory they hold.',
  defaultEnabled: true,
  vendors: ['nvidia', 'ascend'],
  metrics: [
    gauge('npu', 'npu_chip_info_process_info_num', 'the npu process num', (d) => single(d.sample.processes?.length)),
    gauge('native', 'brixlet_accelerator_processes', 'Compute processes running on the device.', (d) => single(d.sample.processes?.length)),
    gauge('native', 'brixlet_accelerator_processes_memory_bytes', 'Device memory held by compute processes, bytes.', (d) => {
      const list = d.sample.processes;
      if (list === undefined) return [];
      let total = 0;
      for (const p of list) total += p.usedMemoryBytes;
      return [{ value: total }];
    }),
  ],
};
