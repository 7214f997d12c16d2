import { describe, expect, it } from 'vitest';
import { eccChecks } from '../../../src/accel/diagnose/ecc-checks.js';
import type { DeviceSample } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const gpu = (sample: DeviceSample, more = {}) => device('nvidia', 0, { sample, ...more });

describe('ecc checks', () => {
  it('passes clean counters and lists them', () => {
    const r = runCheck(eccChecks, 'ecc-volatile', gpu({}));
    expect(r.status).toBe('pass');
    expect(r.observed).toBe('dbe 0, sram-ue 0, dram-ue 0, sbe 0, dram-ce 0');
  });

  it('fails uncorrectable volatile errors (DBE, SRAM or DRAM) with reset-gpu', () => {
    for (const sample of [{ eccDbeVolatile: 2 }, { eccSramUncorrectedVolatile: 1 }, { eccDramUncorrectedVolatile: 1 }]) {
      expect(runCheck(eccChecks, 'ecc-volatile', gpu(sample))).toMatchObject({ status: 'fail', action: 'reset-gpu' });
    }
  });

  it('warns on correctable volatile errors', () => {
    expect(runCheck(eccChecks, 'ecc-volatile', gpu({ eccSbeVolatile: 7 }))).toMatchObject({ status: 'warn', action: 'monitor' });
  });

  it('warns when ECC is disabled and skips the aggregate check', () => {
    expect(runCheck(eccChecks, 'ecc-volatile', gpu({ eccEnabled: false }))).toMatchObject({ status: 'warn', action: 'check-config' });
    expect(runCheck(eccChecks, 'ecc-aggregate', gpu({ eccEnabled: false })).status).toBe('skip');
  });

  it('skips with the reason when no counter was read', () => {
    const none = { eccSbeVolatile: undefined, eccDbeVolatile: undefined, eccSramUncorrectedVolatile: undefined, eccDramUncorrectedVolatile: undefined, eccDramCorrectedVolatile: undefined };
    const r = runCheck(eccChecks, 'ecc-volatile', gpu(none, { unsupported: ['nvmlDeviceGetTotalEccErrors'] }));
    expect(r).toMatchObject({ status: 'skip', observed: 'not supported' });
    expect(r.message).toContain('nvmlDeviceGetTotalEccErrors');
  });

  it('warns on lifetime DBEs only', () => {
    expect(runCheck(eccChecks, 'ecc-aggregate', gpu({ eccSbeAggregate: 100 })).status).toBe('pass');
    expect(runCheck(eccChecks, 'ecc-aggregate', gpu({ eccDbeAggregate: 2 }))).toMatchObject({ status: 'warn', observed: 'sbe 0, dbe 2' });
  });

  it('at level 2 shows deltas and warns when correctable errors rise', () => {
    const before = gpu({ eccSbeVolatile: 5 });
    const r = runCheck(eccChecks, 'ecc-volatile', gpu({ eccSbeVolatile: 9 }), { before });
    expect(r.status).toBe('warn');
    expect(r.observed).toContain('sbe 9 (+4)');
    expect(r.message).toContain('rose during 2 s');
  });
});
