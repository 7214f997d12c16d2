/**
 * Bad memory handling: page retirement (pre-Ampere GPUs) and row remapping (Ampere and later).
 * A GPU supports one or the other, so the other one is normally skipped as NOT_SUPPORTED.
 */
import { type DeviceCheck, judged, pass, skip } from './check.js';

const retiredPagesCheck: DeviceCheck = {
  name: 'retired-pages',
  run({ device }) {
    const { retiredPagesSbe: sbe, retiredPagesDbe: dbe, retiredPagesPending: pending } = device.sample;
    if (sbe === undefined && dbe === undefined && pending === undefined) return skip(device, ['RetiredPages'], 'no retirement pending', 'retired pages');
    const observed = [sbe === undefined ? undefined : `sbe ${sbe}`, dbe === undefined ? undefined : `dbe ${dbe}`, pending === undefined ? undefined : `pending ${pending ? 'yes' : 'no'}`]
      .filter(Boolean)
      .join(', ');
    return (
      judged('retired-pages', device, observed, 'pending no', () => 'pages are waiting to be retired: reset the GPU (or reboot) to retire them') ??
      pass(observed, 'pending no', 'no page retirement pending')
    );
  },
};

const rowRemapCheck: DeviceCheck = {
  name: 'row-remap',
  run({ device }) {
    const { remappedRowsCorrectable: cor, remappedRowsUncorrectable: unc, remapPending: pending, remapFailure: failure } = device.sample;
    if (cor === undefined && unc === undefined && pending === undefined && failure === undefined) return skip(device, ['RemappedRows'], 'no pending remap, no failure', 'remapped rows');
    const observed = [
      cor === undefined ? undefined : `correctable ${cor}`,
      unc === undefined ? undefined : `uncorrectable ${unc}`,
      pending === undefined ? undefined : `pending ${pending ? 'yes' : 'no'}`,
      failure === undefined ? undefined : `failure ${failure ? 'yes' : 'no'}`,
    ]
      .filter(Boolean)
      .join(', ');
    const expected = 'pending no, failure no';
    const message = () =>
      failure === true ? 'a row could not be remapped (no spare rows left in the bank): reset the GPU; if it recurs, replace it' : 'a row remap is pending: reset the GPU to apply it';
    return judged('row-remap', device, observed, expected, message) ?? pass(observed, expected, 'no remap pending or failed');
  },
};

export const retirementChecks: readonly DeviceCheck[] = [retiredPagesCheck, rowRemapCheck];
