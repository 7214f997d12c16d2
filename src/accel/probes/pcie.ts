/** PCIe link (current vs max generation and width), replay counter and throughput (NVIDIA). */
import type { Probe } from './probe.js';
import { counter, gauge, labeled, single } from './series.js';

/** nvmlDeviceGetPcieThroughput reports KB/s over a 20 ms window; NVML's KB is 1024 bytes. */
const BYTES_PER_KB = 1024;
const bytesPerSecond = (kbps: number | undefined) => (kbps === undefined ? undefined : kbps * BYTES_PER_KB);

export const pcie: Probe = {
  name: 'pcie',
  description: 'PCIe link generation and width (current and max), replay counter, TX/RX throughput.',
  defaultEnabled: true,
  vendors: ['nvidia'],
  metrics: [
    counter('dcgm', 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'Total number of PCIe retries.', (d) => single(d.sample.pcieReplayCount)),
    // DCGM reads these through its profiling module; NVML's PCIe throughput is the same quantity
    // (bytes per second on the link, headers included), sampled over a shorter window.
    gauge(
      'dcgm',
      'DCGM_FI_PROF_PCIE_TX_BYTES',
      'The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.',
      (d) => single(bytesPerSecond(d.sample.pcieTxKBps)),
    ),
    gauge(
      'dcgm',
      'DCGM_FI_PROF_PCIE_RX_BYTES',
      'The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.',
      (d) => single(bytesPerSecond(d.sample.pcieRxKBps)),
    ),
    gauge('native', 'brixlet_accelerator_pcie_link_generation', 'PCIe link generation, current and maximum the device and system support.', (d) =>
      labeled([
        [{ kind: 'current' }, d.sample.pcieGen],
        [{ kind: 'max' }, d.sample.pcieGenMax],
      ]),
    ),
    gauge('native', 'brixlet_accelerator_pcie_link_width', 'PCIe link width in lanes, current and maximum.', (d) =>
      labeled([
        [{ kind: 'current' }, d.sample.pcieWidth],
        [{ kind: 'max' }, d.sample.pcieWidthMax],
      ]),
    ),
    counter('native', 'brixlet_accelerator_pcie_replays_total', 'PCIe replays (link-level retries) since the driver was loaded.', (d) => single(d.sample.pcieReplayCount)),
    gauge('native', 'brixlet_accelerator_pcie_throughput_bytes_per_second', 'PCIe throughput by direction, bytes per second.', (d) =>
      labeled([
        [{ direction: 'tx' }, bytesPerSecond(d.sample.pcieTxKBps)],
        [{ direction: 'rx' }, bytesPerSecond(d.sample.pcieRxKBps)],
      ]),
    ),
  ],
};
