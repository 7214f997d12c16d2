/**
 * ECC mode and error counters: NVML totals (volatile since driver load, aggregate over the
 * device's life), per-location counters (SRAM, DRAM), and Ascend HBM single/double-bit counts.
 */
import type { Probe } from './probe.js';
import { counter, flag, gauge, labeled, onlyFor, single } from './series.js';

export const ecc: Probe = {
  name: 'ecc',
  description: 'ECC mode and corrected (SBE) / uncorrected (DBE) error counters, volatile and aggregate; Ascend HBM ECC.',
  defaultEnabled: true,
  vendors: ['nvidia', 'ascend'],
  metrics: [
    // Commented out in dcgm-exporter's default CSV; exported anyway because NVML gives them and
    // they are what ECC alert rules written for dcgm-exporter query.
    counter('dcgm', 'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', 'Total number of single-bit volatile ECC errors.', (d) => single(d.sample.eccSbeVolatile)),
    counter('dcgm', 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 'Total number of double-bit volatile ECC errors.', (d) => single(d.sample.eccDbeVolatile)),
    counter('dcgm', 'DCGM_FI_DEV_ECC_SBE_AGG_TOTAL', 'Total number of single-bit persistent ECC errors.', (d) => single(d.sample.eccSbeAggregate)),
    counter('dcgm', 'DCGM_FI_DEV_ECC_DBE_AGG_TOTAL', 'Total number of double-bit persistent ECC errors.', (d) => single(d.sample.eccDbeAggregate)),
    gauge('npu', 'npu_chip_info_hbm_ecc_single_bit_error_cnt', 'the npu hbm single bit error count', (d) => single(d.sample.hbmEccSbe)),
    gauge('npu', 'npu_chip_info_hbm_ecc_double_bit_error_cnt', 'the npu hbm double bit error count', (d) => single(d.sample.hbmEccDbe)),
    gauge('native', 'brixlet_accelerator_ecc_enabled', 'Whether ECC is enabled (1) or not (0).', (d) => single(flag(d.sample.eccEnabled))),
    counter('native', 'brixlet_accelerator_ecc_errors_total', 'ECC errors: type sbe (corrected) or dbe (uncorrected), scope volatile (since driver load) or aggregate (device lifetime).', (d) => {
      const s = d.sample;
      if (d.identity.vendor === 'ascend') {
        return labeled([
          [{ type: 'sbe', scope: 'volatile' }, s.hbmEccSbe],
          [{ type: 'dbe', scope: 'volatile' }, s.hbmEccDbe],
        ]);
      }
      return labeled([
        [{ type: 'sbe', scope: 'volatile' }, s.eccSbeVolatile],
        [{ type: 'dbe', scope: 'volatile' }, s.eccDbeVolatile],
        [{ type: 'sbe', scope: 'aggregate' }, s.eccSbeAggregate],
        [{ type: 'dbe', scope: 'aggregate' }, s.eccDbeAggregate],
      ]);
    }),
    counter('native', 'brixlet_accelerator_ecc_location_errors_total', 'ECC errors by memory location (sram, dram) since driver load; a subset of ecc_errors_total.', onlyFor('nvidia', (d) => {
      const s = d.sample;
      return labeled([
        [{ location: 'sram', type: 'dbe', scope: 'volatile' }, s.eccSramUncorrectedVolatile],
        [{ location: 'dram', type: 'sbe', scope: 'volatile' }, s.eccDramCorrectedVolatile],
        [{ location: 'dram', type: 'dbe', scope: 'volatile' }, s.eccDramUncorrectedVolatile],
      ]);
    })),
  ],
};
