import { describe, expect, it } from 'vitest';
import { xidCheck } from '../../../src/accel/diagnose/xid-check.js';
import type { XidRecord } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const at = 1_000_000;
const gpu = (xids: number[], recoveryAction?: number, t = at) =>
  device('nvidia', 0, { recentXids: xids.map((xid, i): XidRecord => ({ xid, at: t + i })), sample: { recoveryAction } });

describe('xid check', () => {
  it('passes with no XIDs', () => {
    expect(runCheck(xidCheck, 'xid', gpu([]))).toMatchObject({ status: 'pass', observed: 'none' });
  });

  it('passes application XIDs from the ignore list but shows them', () => {
    const r = runCheck(xidCheck, 'xid', gpu([13, 43]));
    expect(r).toMatchObject({ status: 'pass', observed: 'ignored: 13, 43' });
    expect(r.message).toContain('restart the application');
  });

  it('an application XID outside the ignore list asks to restart the app', () => {
    expect(runCheck(xidCheck, 'xid', gpu([13]), { xidIgnore: [] })).toMatchObject({ status: 'warn', action: 'restart-app' });
  });

  it.each([
    [[48], 'fail', 'reset-gpu'],
    [[79], 'fail', 'reboot-node'],
    [[74, 13], 'fail', 'reset-gpu'],
    [[92], 'warn', 'monitor'],
    [[48, 79], 'fail', 'reboot-node'],
  ] as const)('XIDs %j → %s / %s (worst bucket wins)', (xids, status, action) => {
    expect(runCheck(xidCheck, 'xid', gpu([...xids]))).toMatchObject({ status, action });
  });

  it('XID 154 follows the recovery action field', () => {
    expect(runCheck(xidCheck, 'xid', gpu([154], 2))).toMatchObject({ status: 'fail', action: 'reboot-node' });
    expect(runCheck(xidCheck, 'xid', gpu([154], 0))).toMatchObject({ status: 'pass', action: 'none' });
    expect(runCheck(xidCheck, 'xid', gpu([154], undefined))).toMatchObject({ status: 'warn', action: 'monitor' });
  });

  it('at level 2 marks the XIDs that arrived during the window', () => {
    const before = gpu([48]);
    const later = device('nvidia', 0, { recentXids: [{ xid: 48, at }, { xid: 79, at: at + 5000 }] });
    expect(runCheck(xidCheck, 'xid', later, { before }).observed).toBe('48, 79 (new)');
  });
});
