import { describe, expect, it } from 'vitest';
import { xidCheck } from '../../../src/accel/diagnose/xid-check.js';
import { describeXid } from '../../../src/accel/health.js';
import type { XidRecord } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const at = 1_000_000;
/** A GPU that reported `xids`; health holds it unhealthy for `held` of them (all by default, as right after they arrive). */
const gpu = (xids: number[], recoveryAction?: number, t = at, held: number[] = xids) =>
  device('nvidia', 0, {
    recentXids: xids.map((xid, i): XidRecord => ({ xid, at: t + i })),
    sample: { recoveryAction },
    health: held.length === 0 ? { state: 'healthy', reasons: [] } : { state: 'unhealthy', reasons: held.map(describeXid), since: t },
  });

describe('xid check', () => {
  it('passes with no XIDs', () => {
    expect(runCheck(xidCheck, 'xid', gpu([]))).toMatchObject({ status: 'pass', observed: 'none' });
  });

  it('passes application XIDs from the ignore list but shows them', () => {
    const r = runCheck(xidCheck, 'xid', gpu([13, 43], undefined, at, []));
    expect(r).toMatchObject({ status: 'pass', observed: 'ignored: 13, 43' });
    expect(r.message).toContain('restart the application');
  });

  it('an application XID outside the ignore list, while health holds it, asks to restart the app', () => {
    expect(runCheck(xidCheck, 'xid', gpu([13]), { xidIgnore: [] })).toMatchObject({ status: 'fail', action: 'restart-app' });
  });

  it.each([
    [[48], 'fail', 'reset-gpu'],
    [[79], 'fail', 'reboot-node'],
    [[74, 13], 'fail', 'reset-gpu'],
    [[92], 'fail', 'monitor'],
    [[48, 79], 'fail', 'reboot-node'],
  ] as const)('XIDs %j → %s / %s (worst bucket wins)', (xids, status, action) => {
    expect(runCheck(xidCheck, 'xid', gpu([...xids]))).toMatchObject({ status, action });
  });

  it('XID 154 follows the recovery action field', () => {
    expect(runCheck(xidCheck, 'xid', gpu([154], 2))).toMatchObject({ status: 'fail', action: 'reboot-node' });
    expect(runCheck(xidCheck, 'xid', gpu([154], undefined))).toMatchObject({ status: 'fail', action: 'monitor' });
    // Recovery action back to NONE and a clean sample: health has let go, so has diagnose.
    expect(runCheck(xidCheck, 'xid', gpu([154], 0, at, []))).toMatchObject({ status: 'pass', action: 'none' });
  });

  it('shows XIDs health has recovered from as history, not as a failure', () => {
    const recovered = runCheck(xidCheck, 'xid', gpu([79, 13], 0, at, []));
    expect(recovered).toMatchObject({ status: 'pass', action: 'none', observed: 'history: 79; ignored: 13' });
    expect(recovered.message).toContain('XID 79 (GPU has fallen off the bus): the device has recovered since');
    // Only the XIDs health still holds count: a recovered 79 beside a fresh 48.
    const mixed = runCheck(xidCheck, 'xid', gpu([79, 48], 0, at, [48]));
    expect(mixed).toMatchObject({ status: 'fail', action: 'reset-gpu', observed: '48; history: 79' });
  });

  it('at level 2 marks the XIDs that arrived during the window', () => {
    const before = gpu([48]);
    const later = device('nvidia', 0, {
      recentXids: [{ xid: 48, at }, { xid: 79, at: at + 5000 }],
      health: { state: 'unhealthy', reasons: [describeXid(48), describeXid(79)], since: at },
    });
    expect(runCheck(xidCheck, 'xid', later, { before }).observed).toBe('48, 79 (new)');
  });
});
