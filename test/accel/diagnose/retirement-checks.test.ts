import { describe, expect, it } from 'vitest';
import { retirementChecks } from '../../../src/accel/diagnose/retirement-checks.js';
import type { DeviceSample } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const gpu = (sample: DeviceSample, more = {}) => device('nvidia', 0, { sample, ...more });

describe('retirement checks', () => {
  it('passes when nothing is pending or failed', () => {
    expect(runCheck(retirementChecks, 'retired-pages', gpu({})).status).toBe('pass');
    expect(runCheck(retirementChecks, 'row-remap', gpu({ remappedRowsUncorrectable: 3 }))).toMatchObject({ status: 'pass', observed: 'correctable 0, uncorrectable 3, pending no, failure no' });
  });

  it('warns on a pending page retirement or row remap with reset-gpu', () => {
    expect(runCheck(retirementChecks, 'retired-pages', gpu({ retiredPagesPending: true }))).toMatchObject({ status: 'warn', action: 'reset-gpu' });
    expect(runCheck(retirementChecks, 'row-remap', gpu({ remapPending: true }))).toMatchObject({ status: 'warn', action: 'reset-gpu' });
  });

  it('fails a row remap failure, even with a remap also pending', () => {
    expect(runCheck(retirementChecks, 'row-remap', gpu({ remapFailure: true, remapPending: true }))).toMatchObject({ status: 'fail', action: 'reset-gpu' });
  });

  it('skips what the GPU does not support (pre-Ampere remap, Hopper retirement)', () => {
    const none = { remappedRowsCorrectable: undefined, remappedRowsUncorrectable: undefined, remapPending: undefined, remapFailure: undefined };
    const r = runCheck(retirementChecks, 'row-remap', gpu(none, { unsupported: ['nvmlDeviceGetRemappedRows'] }));
    expect(r.status).toBe('skip');
    expect(r.message).toBe('remapped rows not available: nvmlDeviceGetRemappedRows: NOT_SUPPORTED');
  });
});
