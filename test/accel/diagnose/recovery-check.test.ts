import { describe, expect, it } from 'vitest';
import { recoveryCheck } from '../../../src/accel/diagnose/recovery-check.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const gpu = (recoveryAction: number | undefined) => device('nvidia', 0, { sample: { recoveryAction } });

describe('recovery-action check', () => {
  it.each([
    [0, 'pass', 'none'],
    [1, 'fail', 'reset-gpu'],
    [2, 'fail', 'reboot-node'],
    [3, 'warn', 'drain-p2p'],
    [4, 'fail', 'drain-and-reset'],
    [9, 'warn', 'monitor'],
  ] as const)('field 230 = %i → %s / %s', (value, status, action) => {
    expect(runCheck(recoveryCheck, 'recovery-action', gpu(value))).toMatchObject({ status, action });
  });

  it('skips on drivers without field 230', () => {
    expect(runCheck(recoveryCheck, 'recovery-action', gpu(undefined)).status).toBe('skip');
  });
});
