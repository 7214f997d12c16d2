/**
 * xid: the XIDs the device reported, judged by NVIDIA's resolution bucket. Application XIDs (the
 * ignore list) are shown but do not fail the device. At level 2 the XIDs that arrived during the
 * window are marked new.
 */
import type { XidRecord } from '../types.js';
import { type DeviceCheck, fail, pass, seconds, warn } from './check.js';
import type { DiagnoseAction } from './diagnose-report.js';
import { BUCKET_ACTION, BUCKET_RANK, RECOVERY_ACTIONS, type XidBucket, xidInfo } from './xid-catalog.js';

function distinct(records: readonly XidRecord[]): number[] {
  return [...new Set(records.map((r) => r.xid))];
}

export const xidCheck: DeviceCheck = {
  name: 'xid',
  run({ device, before, level, windowMs, xidIgnore }) {
    const all = distinct(device.recentXids);
    const since = level === 2 && before !== undefined ? Math.max(0, ...before.recentXids.map((r) => r.at)) : undefined;
    const fresh = since === undefined ? [] : distinct(device.recentXids.filter((r) => r.at > since));
    const label = (xid: number) => `${xid}${fresh.includes(xid) ? ' (new)' : ''}`;
    const relevant = all.filter((x) => !xidIgnore.has(x));
    const ignored = all.filter((x) => xidIgnore.has(x));
    if (relevant.length === 0) {
      if (ignored.length === 0) return pass(level === 2 ? `none (${seconds(windowMs)} watched)` : 'none', 'no XID outside the ignore list', 'no XIDs reported');
      return pass(`ignored: ${ignored.map(label).join(', ')}`, 'no XID outside the ignore list', `application XIDs only (${ignored.map((x) => `${x} ${xidInfo(x).description}`).join('; ')}): restart the application if it crashed`);
    }
    const worst = relevant.map(xidInfo).sort((a, b) => BUCKET_RANK[b.bucket] - BUCKET_RANK[a.bucket])[0]!;
    const observed = relevant.map(label).join(', ') + (ignored.length > 0 ? `; ignored: ${ignored.join(', ')}` : '');
    const expected = 'no XID outside the ignore list';
    const what = relevant.map((x) => `XID ${x} (${xidInfo(x).description})`).join('; ');
    const action = bucketAction(worst.bucket, device.sample.recoveryAction);
    if (action === 'monitor' || action === 'restart-app') return warn(action, observed, expected, `${what}: ${action === 'monitor' ? 'no action needed yet, watch for repeats' : 'restart the application'}`);
    if (action === 'none') return pass(observed, expected, `${what}: the recovery action is NONE, nothing to do`);
    const why = worst.bucket === 'FOLLOW_RECOVERY_ACTION' ? 'as the driver\'s recovery action (field 230) says' : `NVIDIA resolution bucket ${worst.bucket}`;
    return fail(action, observed, expected, `${what}: ${PHRASE[action] ?? action} (${why})`);
  },
};

const PHRASE: Partial<Record<DiagnoseAction, string>> = {
  'reset-gpu': 'reset the GPU',
  'reboot-node': 'reboot the node',
  'contact-support': 'contact support',
  'drain-p2p': 'drain peer-to-peer traffic',
  'drain-and-reset': 'drain the GPU\'s work, then reset it',
};

function bucketAction(bucket: XidBucket, recoveryAction: number | undefined): DiagnoseAction {
  if (bucket !== 'FOLLOW_RECOVERY_ACTION') return BUCKET_ACTION[bucket];
  // XID 154 only says the recovery action changed; field 230 says what it changed to.
  if (recoveryAction === undefined) return 'monitor';
  return RECOVERY_ACTIONS[recoveryAction]?.action ?? 'monitor';
}
