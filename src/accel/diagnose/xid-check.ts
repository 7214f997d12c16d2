/**
 * xid: the XIDs the device reported. An XID counts while health holds the device unhealthy for it
 * (the same rule: health.ts makes every XID outside the ignore list unhealthy until the recovery
 * action is NONE and a fresh sample passes); it fails with the action of NVIDIA's resolution
 * bucket. XIDs health has recovered from, and application XIDs (the ignore list), are history:
 * listed, never failed, so a recovered node diagnoses clean. At level 2 the XIDs that arrived
 * during the window are marked new.
 */
import { describeXid } from '../health.js';
import type { XidRecord } from '../types.js';
import { type DeviceCheck, fail, pass, seconds } from './check.js';
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
    const ignored = all.filter((x) => xidIgnore.has(x));
    const held = device.health.state === 'unhealthy' ? device.health.reasons : [];
    const active = all.filter((x) => !xidIgnore.has(x) && held.includes(describeXid(x)));
    const history = all.filter((x) => !xidIgnore.has(x) && !active.includes(x));
    const expected = 'no XID outside the ignore list, or recovered';
    const past = [history.length > 0 ? `history: ${history.map(label).join(', ')}` : '', ignored.length > 0 ? `ignored: ${ignored.map(label).join(', ')}` : ''].filter((p) => p !== '');
    if (active.length === 0) {
      if (past.length === 0) return pass(level === 2 ? `none (${seconds(windowMs)} watched)` : 'none', expected, 'no XIDs reported');
      const notes = [
        history.length > 0 ? `${history.map(describeXid).join('; ')}: the device has recovered since (recovery action NONE, fresh reads pass)` : '',
        ignored.length > 0 ? `application XIDs (${ignored.map((x) => `${x} ${xidInfo(x).description}`).join('; ')}): restart the application if it crashed` : '',
      ].filter((n) => n !== '');
      return pass(past.join('; '), expected, notes.join('; '));
    }
    const worst = active.map(xidInfo).sort((a, b) => BUCKET_RANK[b.bucket] - BUCKET_RANK[a.bucket])[0]!;
    const observed = [active.map(label).join(', '), ...past].join('; ');
    const what = active.map(describeXid).join('; ');
    const action = bucketAction(worst.bucket, device.sample.recoveryAction);
    const why = worst.bucket === 'FOLLOW_RECOVERY_ACTION' ? 'as the driver\'s recovery action (field 230) says' : `NVIDIA resolution bucket ${worst.bucket}`;
    const todo = action === 'monitor' ? 'the device is unhealthy until a clean sample; watch for repeats' : action === 'restart-app' ? 'restart the application' : action === 'none' ? 'the recovery action is NONE: the device recovers with the next clean sample' : (PHRASE[action] ?? action);
    return fail(action === 'none' ? 'monitor' : action, observed, expected, `${what}: ${todo} (${why})`);
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
