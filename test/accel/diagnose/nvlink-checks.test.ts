import { describe, expect, it } from 'vitest';
import { nvlinkChecks } from '../../../src/accel/diagnose/nvlink-checks.js';
import type { NvLinkSample } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const link = (n: number, patch: Partial<NvLinkSample> = {}): NvLinkSample => ({ link: n, active: true, crcFlitErrors: 0, crcDataErrors: 0, replayErrors: 0, recoveryErrors: 0, ...patch });
const gpu = (nvlinks: NvLinkSample[] | undefined, more = {}) => device('nvidia', 0, { sample: { nvlinks }, ...more });

describe('nvlink checks', () => {
  it('passes when every link is active', () => {
    expect(runCheck(nvlinkChecks, 'nvlink', gpu([link(0), link(1)]))).toMatchObject({ status: 'pass', observed: '2/2 active' });
  });

  it('warns on inactive links (health: degraded) and names them', () => {
    const r = runCheck(nvlinkChecks, 'nvlink', gpu([link(0), link(1, { active: false }), link(2, { active: false })]));
    expect(r).toMatchObject({ status: 'warn', action: 'reset-gpu', observed: '1/3 active', expected: '3/3 active' });
    expect(r.message).toContain('link(s) 1, 2 inactive');
  });

  it('skips GPUs without NVLink or without the API', () => {
    expect(runCheck(nvlinkChecks, 'nvlink', gpu([])).status).toBe('skip');
    expect(runCheck(nvlinkChecks, 'nvlink', gpu(undefined, { unsupported: ['nvmlDeviceGetNvLinkState'] })).message).toContain('NOT_SUPPORTED');
    expect(runCheck(nvlinkChecks, 'nvlink-errors', gpu(undefined)).status).toBe('skip');
  });

  it('warns on error counters at level 1 and on a rise at level 2', () => {
    const noisy = gpu([link(0), link(2, { crcFlitErrors: 1500, crcDataErrors: 23 })]);
    expect(runCheck(nvlinkChecks, 'nvlink-errors', noisy)).toMatchObject({ status: 'warn', action: 'monitor', observed: 'link 2: 1523' });
    expect(runCheck(nvlinkChecks, 'nvlink-errors', noisy, { before: noisy }).status).toBe('pass');
    const worse = gpu([link(0), link(2, { crcFlitErrors: 1510, crcDataErrors: 23 })]);
    expect(runCheck(nvlinkChecks, 'nvlink-errors', worse, { before: noisy })).toMatchObject({ status: 'warn', action: 'check-cabling', observed: 'link 2 +10' });
  });
});
