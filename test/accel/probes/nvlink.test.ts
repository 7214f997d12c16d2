import { describe, expect, it } from 'vitest';
import { nvlink } from '../../../src/accel/probes/nvlink.js';
import { gpu, seriesOf } from '../helpers/snapshot.js';

describe('nvlink probe', () => {
  const d = gpu(0, {
    nvlinks: [
      { link: 0, active: true, crcFlitErrors: 2, replayErrors: 1 },
      { link: 1, active: false, crcFlitErrors: 5 },
    ],
  });

  it('exports link state per link', () => {
    expect(seriesOf(nvlink, 'brixlet_accelerator_nvlink_up', d)).toEqual({ 'link=0': 1, 'link=1': 0 });
  });

  it('sums error counters over the links per type, only for counters that were read', () => {
    expect(seriesOf(nvlink, 'brixlet_accelerator_nvlink_errors_total', d)).toEqual({
      'type=crc_flit': 7,
      'type=replay': 1,
    });
  });

  it('sums links for the DCGM totals and omits a counter no link reported', () => {
    expect(seriesOf(nvlink, 'DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL', d)).toEqual({ '': 7 });
    expect(seriesOf(nvlink, 'DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL', d)).toEqual({ '': 1 });
    expect(seriesOf(nvlink, 'DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL', d)).toEqual({});
  });

  it('exports nothing on a GPU without NVLink', () => {
    expect(seriesOf(nvlink, 'brixlet_accelerator_nvlink_up', gpu(0, { nvlinks: [] }))).toEqual({});
    expect(seriesOf(nvlink, 'DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL', gpu(0, { nvlinks: [] }))).toEqual({});
  });
});
