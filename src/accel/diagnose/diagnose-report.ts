/**
 * The diagnose result shapes, as TypeBox schemas so that GET /v1/diagnose publishes them in
 * /openapi.json and `brixlet diagnose --json` prints exactly the same document.
 */
import { type Static, type TLiteral, type TUnion, Type } from '@sinclair/typebox';

export const DIAGNOSE_STATUSES = ['pass', 'warn', 'fail', 'skip'] as const;
export type DiagnoseStatus = (typeof DIAGNOSE_STATUSES)[number];

export const DIAGNOSE_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type DiagnoseSeverity = (typeof DIAGNOSE_SEVERITIES)[number];

/** What an operator does about a result; the XID catalog and the Ascend fault classes map onto these. */
export const DIAGNOSE_ACTIONS = [
  'none',
  'monitor',
  'restart-app',
  'reset-gpu',
  'reset-npu',
  'drain-p2p',
  'drain-and-reset',
  'reboot-node',
  'check-cabling',
  'check-power',
  'cool-down',
  'check-config',
  'reinstall-driver',
  'replace-device',
  'contact-support',
] as const;
export type DiagnoseAction = (typeof DIAGNOSE_ACTIONS)[number];

const literals = <const T extends readonly string[]>(values: T, description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  ) as unknown as TUnion<TLiteral<T[number]>[]>;

export const DiagnoseResult = Type.Object({
  check: Type.String({ description: 'Check name, e.g. "pcie-width", "xid", "npu-health".' }),
  device: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Device index (NVML index, Ascend logic id); null for node-level checks.' }),
  vendor: Type.Union([Type.Literal('nvidia'), Type.Literal('ascend'), Type.Null()], { description: 'null when the check is about the whole node.' }),
  uuid: Type.Optional(Type.String()),
  status: literals(DIAGNOSE_STATUSES, 'skip = the check could not be made (API not supported, value not read).'),
  severity: literals(DIAGNOSE_SEVERITIES, 'critical for fail, warning for warn, info otherwise.'),
  action: literals(DIAGNOSE_ACTIONS, 'Recommended action (NVIDIA XID resolution bucket, recovery action, Ascend fault class).'),
  observed: Type.String({ description: 'What was read, in readable units.' }),
  expected: Type.String({ description: 'What a healthy device reads.' }),
  message: Type.String(),
});
export type DiagnoseResult = Static<typeof DiagnoseResult>;

export const DiagnoseSummary = Type.Object({
  pass: Type.Integer({ minimum: 0 }),
  warn: Type.Integer({ minimum: 0 }),
  fail: Type.Integer({ minimum: 0 }),
  skip: Type.Integer({ minimum: 0 }),
});
export type DiagnoseSummary = Static<typeof DiagnoseSummary>;

export const DiagnoseReport = Type.Object({
  level: Type.Union([Type.Literal(1), Type.Literal(2)], { description: '1 = one sample; 2 = two samples a window apart (deltas, new XIDs).' }),
  node: Type.String(),
  at: Type.String({ description: 'When the (last) sample was taken, ISO 8601 (UTC).' }),
  windowMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Level 2: time between the two samples.' })),
  summary: DiagnoseSummary,
  results: Type.Array(DiagnoseResult, { description: 'Node-level results first, then NVIDIA then Ascend devices by index, checks in a fixed order.' }),
});
export type DiagnoseReport = Static<typeof DiagnoseReport>;
