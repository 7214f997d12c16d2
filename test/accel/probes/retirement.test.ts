import { describe, expect, it } from 'vitest';
import { retirement } from '../../../src/accel/probes/retirement.js';
import { declOf, gpu, seriesOf } from '../helpers/snapshot.js';

describe('retirement probe', () => {
  it('exports remapped rows and remap failure under the dcgm-exporter names and types', () => {
    const d = gpu(0, { remappedRowsCorrectable: 2, remappedRowsUncorrectable: 1, remapPending: true, remapFailure: true });
    expect(seriesOf(retirement, 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', d)).toEqual({ '': 1 });
    expect(seriesOf(retirement, 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', d)).toEqual({ '': 2 });
    expect(seriesOf(retirement, 'DCGM_FI_DEV_ROW_REMAP_FAILURE', d)).toEqual({ '': 1 });
    expect(declOf(retirement, 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS').type).toBe('counter');
    expect(declOf(retirement, 'DCGM_FI_DEV_ROW_REMAP_FAILURE').type).toBe('gauge');
    expect(seriesOf(retirement, 'brixlet_accelerator_remapped_rows', d)).toEqual({ 'kind=correctable': 2, 'kind=uncorrectable': 1 });
    expect(seriesOf(retirement, 'brixlet_accelerator_row_remap_pending', d)).toEqual({ '': 1 });
    expect(seriesOf(retirement, 'brixlet_accelerator_row_remap_failure', d)).toEqual({ '': 1 });
  });

  it('exports a healthy remap state as 0, not as absent', () => {
    expect(seriesOf(retirement, 'DCGM_FI_DEV_ROW_REMAP_FAILURE', gpu(0, { remapFailure: false }))).toEqual({ '': 0 });
  });

  it('exports retired pages by cause on pre-Ampere GPUs and nothing of remapping there', () => {
    const d = gpu(0, { retiredPagesSbe: 4, retiredPagesDbe: 1, retiredPagesPending: false });
    expect(seriesOf(retirement, 'brixlet_accelerator_retired_pages', d)).toEqual({ 'cause=multiple_sbe': 4, 'cause=dbe': 1 });
    expect(seriesOf(retirement, 'DCGM_FI_DEV_RETIRED_DBE', d)).toEqual({ '': 1 });
    expect(seriesOf(retirement, 'brixlet_accelerator_retired_pages_pending', d)).toEqual({ '': 0 });
    expect(seriesOf(retirement, 'DCGM_FI_DEV_ROW_REMAP_FAILURE', d)).toEqual({});
    expect(seriesOf(retirement, 'brixlet_accelerator_remapped_rows', d)).toEqual({});
  });
});
