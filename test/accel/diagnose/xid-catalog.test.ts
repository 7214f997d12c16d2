import { describe, expect, it } from 'vitest';
import { xidInfo } from '../../../src/accel/diagnose/xid-catalog.js';

describe('xid catalog', () => {
  it.each([
    [13, 'RESTART_APP'],
    [31, 'RESTART_APP'],
    [43, 'RESTART_APP'],
    [45, 'RESTART_APP'],
    [68, 'RESTART_APP'],
    [48, 'RESET_GPU'],
    [63, 'RESET_GPU'],
    [64, 'RESET_GPU'],
    [74, 'RESET_GPU'],
    [79, 'NODE_REBOOT'],
    [92, 'MONITOR'],
    [94, 'RESET_GPU'],
    [95, 'RESET_GPU'],
    [119, 'RESET_GPU'],
    [120, 'RESET_GPU'],
    [154, 'FOLLOW_RECOVERY_ACTION'],
  ] as const)('XID %i is in bucket %s', (xid, bucket) => {
    expect(xidInfo(xid).bucket).toBe(bucket);
  });

  it('describes an XID it does not know as monitor, pointing at the catalog', () => {
    expect(xidInfo(9999)).toMatchObject({ bucket: 'MONITOR' });
    expect(xidInfo(9999).description).toContain('XID catalog');
  });
});
