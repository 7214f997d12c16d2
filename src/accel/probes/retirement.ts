/** Memory repair: retired pages (before Ampere) and row remapping (Ampere and later). */
import type { Probe } from './probe.js';
import { counter, flag, gauge, labeled, single } from './series.js';

export const retirement: Probe = {
  name: 'retirement',
  description: 'Retired pages (SBE, DBE, pending) and remapped rows (correctable, uncorrectable, pending, failure).',
  defaultEnabled: true,
  vendors: ['nvidia'],
  metrics: [
    counter('dcgm', 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'Number of remapped rows for uncorrectable errors', (d) => single(d.sample.remappedRowsUncorrectable)),
    counter('dcgm', 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'Number of remapped rows for correctable errors', (d) => single(d.sample.remappedRowsCorrectable)),
    gauge('dcgm', 'DCGM_FI_DEV_ROW_REMAP_FAILURE', 'Whether remapping of rows has failed', (d) => single(flag(d.sample.remapFailure))),
    // Commented out in the default CSV; exported because NVML gives them (pre-Ampere health).
    // DCGM_FI_DEV_RETIRED_PENDING is a page count in DCGM, NVML only says whether any is pending:
    // left out rather than exported with another meaning (the native gauge below carries it).
    counter('dcgm', 'DCGM_FI_DEV_RETIRED_SBE', 'Total number of retired pages due to single-bit errors.', (d) => single(d.sample.retiredPagesSbe)),
    counter('dcgm', 'DCGM_FI_DEV_RETIRED_DBE', 'Total number of retired pages due to double-bit errors.', (d) => single(d.sample.retiredPagesDbe)),
    gauge('native', 'brixlet_accelerator_retired_pages', 'Pages retired, by cause: multiple_sbe (repeated single-bit errors) or dbe (double-bit error).', (d) =>
      labeled([
        [{ cause: 'multiple_sbe' }, d.sample.retiredPagesSbe],
        [{ cause: 'dbe' }, d.sample.retiredPagesDbe],
      ]),
    ),
    gauge('native', 'brixlet_accelerator_retired_pages_pending', 'Whether a page retirement waits for the next driver reload (1) or not (0).', (d) => single(flag(d.sample.retiredPagesPending))),
    gauge('native', 'brixlet_accelerator_remapped_rows', 'Memory rows remapped, by the kind of error that caused it: correctable or uncorrectable.', (d) =>
      labeled([
        [{ kind: 'correctable' }, d.sample.remappedRowsCorrectable],
        [{ kind: 'uncorrectable' }, d.sample.remappedRowsUncorrectable],
      ]),
    ),
    gauge('native', 'brixlet_accelerator_row_remap_pending', 'Whether a row remap waits for a GPU reset (1) or not (0).', (d) => single(flag(d.sample.remapPending))),
    gauge('native', 'brixlet_accelerator_row_remap_failure', 'Whether a row remap has failed (1): the GPU needs service.', (d) => single(flag(d.sample.remapFailure))),
  ],
};
