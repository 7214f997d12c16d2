import { describe, expect, it } from 'vitest';
import { ecc } from '../../../src/accel/probes/ecc.js';
import { gpu, npu, seriesOf } from '../helpers/snapshot.js';

describe('ecc probe', () => {
  const d = gpu(0, {
    eccEnabled: true,
    eccSbeVolatile: 3,
    eccDbeVolatile: 1,
    eccSbeAggregate: 40,
    eccDbeAggregate: 2,
    eccSramUncorrectedVolatile: 1,
    eccDramCorrectedVolatile: 3,
  });

  it('exports the DCGM ECC totals', () => {
    expect(seriesOf(ecc, 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', d)).toEqual({ '': 1 });
    expect(seriesOf(ecc, 'DCGM_FI_DEV_ECC_SBE_AGG_TOTAL', d)).toEqual({ '': 40 });
  });

  it('labels native counters by type and scope, and locations separately', () => {
    expect(seriesOf(ecc, 'brixlet_accelerator_ecc_errors_total', d)).toEqual({
      'type=sbe,scope=volatile': 3,
      'type=dbe,scope=volatile': 1,
      'type=sbe,scope=aggregate': 40,
      'type=dbe,scope=aggregate': 2,
    });
    expect(seriesOf(ecc, 'brixlet_accelerator_ecc_location_errors_total', d)).toEqual({
      'location=sram,type=dbe,scope=volatile': 1,
      'location=dram,type=sbe,scope=volatile': 3,
    });
    expect(seriesOf(ecc, 'brixlet_accelerator_ecc_enabled', d)).toEqual({ '': 1 });
    expect(seriesOf(ecc, 'brixlet_accelerator_ecc_enabled', gpu(0, { eccEnabled: false }))).toEqual({ '': 0 });
  });

  it('exports Ascend HBM ECC under npu-exporter names and as volatile counts natively', () => {
    const n = npu(0, { hbmEccSbe: 5, hbmEccDbe: 0 });
    expect(seriesOf(ecc, 'npu_chip_info_hbm_ecc_single_bit_error_cnt', n)).toEqual({ '': 5 });
    expect(seriesOf(ecc, 'npu_chip_info_hbm_ecc_double_bit_error_cnt', n)).toEqual({ '': 0 });
    expect(seriesOf(ecc, 'brixlet_accelerator_ecc_errors_total', n)).toEqual({ 'type=sbe,scope=volatile': 5, 'type=dbe,scope=volatile': 0 });
  });

  it('omits counters on a GPU without ECC support', () => {
    expect(seriesOf(ecc, 'brixlet_accelerator_ecc_errors_total', gpu(0, { eccEnabled: false }))).toEqual({});
    expect(seriesOf(ecc, 'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', gpu(0, { eccEnabled: false }))).toEqual({});
  });
});
