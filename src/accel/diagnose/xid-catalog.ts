/**
 * XID → resolution bucket. The buckets and descriptions follow NVIDIA's public XID catalog
 * ("Xid Errors", r570+ driver documentation: the "Resolution Bucket" column) and the XIDs the
 * k8s-device-plugin treats as application errors. Only XIDs a serving node realistically sees are
 * listed; anything else is reported as "not in the catalog, monitor".
 */
import type { DiagnoseAction } from './diagnose-report.js';

export type XidBucket = 'RESTART_APP' | 'RESET_GPU' | 'NODE_REBOOT' | 'MONITOR' | 'CONTACT_SUPPORT' | 'FOLLOW_RECOVERY_ACTION';

export interface XidInfo {
  readonly xid: number;
  readonly description: string;
  readonly bucket: XidBucket;
}

const TABLE: readonly (readonly [number, XidBucket, string])[] = [
  [13, 'RESTART_APP', 'Graphics engine exception'],
  [31, 'RESTART_APP', 'GPU memory page fault'],
  [43, 'RESTART_APP', 'GPU stopped processing'],
  [45, 'RESTART_APP', 'Preemptive cleanup, due to previous errors'],
  [48, 'RESET_GPU', 'Double bit ECC error'],
  [61, 'RESET_GPU', 'Internal micro-controller breakpoint/warning'],
  [62, 'RESET_GPU', 'Internal micro-controller halt'],
  [63, 'RESET_GPU', 'ECC page retirement or row remapping recording event'],
  [64, 'RESET_GPU', 'ECC page retirement or row remapper recording failure'],
  [68, 'RESTART_APP', 'NVDEC0 exception'],
  [74, 'RESET_GPU', 'NVLink error'],
  [79, 'NODE_REBOOT', 'GPU has fallen off the bus'],
  [92, 'MONITOR', 'High single-bit ECC error rate'],
  [94, 'RESET_GPU', 'Contained ECC error'],
  [95, 'RESET_GPU', 'Uncontained ECC error'],
  [109, 'RESTART_APP', 'Context switch timeout'],
  [119, 'RESET_GPU', 'GSP RPC timeout'],
  [120, 'RESET_GPU', 'GSP error'],
  [140, 'RESET_GPU', 'Unrecovered ECC error'],
  [154, 'FOLLOW_RECOVERY_ACTION', 'GPU recovery action changed'],
];

const BY_XID = new Map(TABLE.map(([xid, bucket, description]) => [xid, { xid, bucket, description }]));

export function xidInfo(xid: number): XidInfo {
  return BY_XID.get(xid) ?? { xid, bucket: 'MONITOR', description: 'not in brixlet\'s XID table, see NVIDIA\'s XID catalog' };
}

/** How bad a bucket is, for picking the worst of several XIDs. */
export const BUCKET_RANK: Readonly<Record<XidBucket, number>> = {
  RESTART_APP: 0,
  MONITOR: 1,
  FOLLOW_RECOVERY_ACTION: 2,
  RESET_GPU: 3,
  CONTACT_SUPPORT: 4,
  NODE_REBOOT: 5,
};

export const BUCKET_ACTION: Readonly<Record<Exclude<XidBucket, 'FOLLOW_RECOVERY_ACTION'>, DiagnoseAction>> = {
  RESTART_APP: 'restart-app',
  MONITOR: 'monitor',
  RESET_GPU: 'reset-gpu',
  CONTACT_SUPPORT: 'contact-support',
  NODE_REBOOT: 'reboot-node',
};

/** NVML field 230 (GET_GPU_RECOVERY_ACTION) values. */
export const RECOVERY_ACTIONS: Readonly<Record<number, { readonly name: string; readonly action: DiagnoseAction }>> = {
  0: { name: 'NONE', action: 'none' },
  1: { name: 'GPU_RESET', action: 'reset-gpu' },
  2: { name: 'NODE_REBOOT', action: 'reboot-node' },
  3: { name: 'DRAIN_P2P', action: 'drain-p2p' },
  4: { name: 'DRAIN_AND_RESET', action: 'drain-and-reset' },
};
