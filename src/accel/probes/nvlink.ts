/**
 * NVLink link state per link, and error counters summed over a device's links (NVIDIA). The errors
 * are per device by type, as dcgm-exporter exports them: per link they would be 4 × 18 series per
 * GPU, most of the scrape, for detail that /v1/accelerators and diagnose already give per link.
 */
import type { NvLinkSample } from '../types.js';
import type { MetricSeries, Probe } from './probe.js';
import { counter, gauge } from './series.js';

type ErrorField = 'crcFlitErrors' | 'crcDataErrors' | 'replayErrors' | 'recoveryErrors';

const ERROR_TYPES: readonly (readonly [string, ErrorField])[] = [
  ['crc_flit', 'crcFlitErrors'],
  ['crc_data', 'crcDataErrors'],
  ['replay', 'replayErrors'],
  ['recovery', 'recoveryErrors'],
];

/** DCGM's *_ERROR_COUNT_TOTAL fields sum every link; absent when no link reported the counter. */
function sumOverLinks(links: readonly NvLinkSample[] | undefined, field: ErrorField): readonly MetricSeries[] {
  if (links === undefined) return [];
  let total = 0;
  let seen = false;
  for (const link of links) {
    const v = link[field];
    if (v === undefined) continue;
    total += v;
    seen = true;
  }
  return seen ? [{ value: total }] : [];
}

export const nvlink: Probe = {
  name: 'nvlink',
  description: 'NVLink link state (up/down) per link, and CRC, replay and recovery error counters per device.',
  defaultEnabled: true,
  vendors: ['nvidia'],
  metrics: [
    // Commented out in the default CSV; exported because NVML gives them and NVLink alerts use them.
    counter('dcgm', 'DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL', 'Total number of NVLink flow-control CRC errors.', (d) => sumOverLinks(d.sample.nvlinks, 'crcFlitErrors')),
    counter('dcgm', 'DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL', 'Total number of NVLink data CRC errors.', (d) => sumOverLinks(d.sample.nvlinks, 'crcDataErrors')),
    counter('dcgm', 'DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL', 'Total number of NVLink retries.', (d) => sumOverLinks(d.sample.nvlinks, 'replayErrors')),
    counter('dcgm', 'DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL', 'Total number of NVLink recovery errors.', (d) => sumOverLinks(d.sample.nvlinks, 'recoveryErrors')),
    gauge('native', 'brixlet_accelerator_nvlink_up', 'Whether the NVLink link is active (1) or down (0).', (d) =>
      (d.sample.nvlinks ?? []).map((l) => ({ labels: { link: String(l.link) }, value: l.active ? 1 : 0 })),
    ),
    counter('native', 'brixlet_accelerator_nvlink_errors_total', 'NVLink errors summed over the device links, by type: crc_flit, crc_data, replay, recovery.', (d) =>
      ERROR_TYPES.flatMap(([type, field]) => sumOverLinks(d.sample.nvlinks, field).map((s) => ({ labels: { type }, value: s.value }))),
    ),
  ],
};
