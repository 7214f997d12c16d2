import { describe, expect, it } from 'vitest';
import { pcieChecks } from '../../../src/accel/diagnose/pcie-checks.js';
import type { DeviceSample } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const gpu = (sample: DeviceSample, more = {}) => device('nvidia', 0, { sample, ...more });

describe('pcie checks', () => {
  it('passes a link at its maximum generation and width', () => {
    expect(runCheck(pcieChecks, 'pcie-gen', gpu({})).status).toBe('pass');
    expect(runCheck(pcieChecks, 'pcie-width', gpu({})).status).toBe('pass');
  });

  it('judges a lower generation only under load (idle GPUs downshift), and a narrower link always', () => {
    const idle = gpu({ pcieGen: 3, pcieWidth: 8, gpuUtilPercent: 0 });
    expect(runCheck(pcieChecks, 'pcie-gen', idle)).toMatchObject({ status: 'pass', observed: 'Gen3', expected: 'Gen5' });
    expect(runCheck(pcieChecks, 'pcie-gen', gpu({ pcieGen: 3 })).status).toBe('pass');
    const busy = gpu({ pcieGen: 3, pcieWidth: 8, gpuUtilPercent: 85 });
    expect(runCheck(pcieChecks, 'pcie-gen', busy)).toMatchObject({ status: 'warn', action: 'check-cabling', observed: 'Gen3', expected: 'Gen5' });
    expect(runCheck(pcieChecks, 'pcie-width', idle)).toMatchObject({ status: 'warn', action: 'check-cabling', observed: 'x8', expected: 'x16' });
  });

  it('skips with the NOT_SUPPORTED API named when the link is not readable', () => {
    const d = gpu({ pcieWidth: undefined }, { unsupported: ['nvmlDeviceGetCurrPcieLinkWidth'] });
    const r = runCheck(pcieChecks, 'pcie-width', d);
    expect(r.status).toBe('skip');
    expect(r.message).toContain('nvmlDeviceGetCurrPcieLinkWidth: NOT_SUPPORTED');
  });

  it('at level 1 warns on any replay since driver load', () => {
    expect(runCheck(pcieChecks, 'pcie-replay', gpu({ pcieReplayCount: 0 })).status).toBe('pass');
    expect(runCheck(pcieChecks, 'pcie-replay', gpu({ pcieReplayCount: 1200 }))).toMatchObject({ status: 'warn', observed: '1200' });
  });

  it('at level 2 judges the increase over the window, not the total', () => {
    const before = gpu({ pcieReplayCount: 1200 });
    expect(runCheck(pcieChecks, 'pcie-replay', gpu({ pcieReplayCount: 1200 }), { before }).status).toBe('pass');
    const rising = runCheck(pcieChecks, 'pcie-replay', gpu({ pcieReplayCount: 1250 }), { before, windowMs: 2000 });
    expect(rising).toMatchObject({ status: 'warn', action: 'check-cabling', observed: '+50 in 2 s (total 1250)' });
    // A counter that went down was reset: no judgement on the delta.
    expect(runCheck(pcieChecks, 'pcie-replay', gpu({ pcieReplayCount: 3 }), { before }).status).toBe('pass');
  });
});
