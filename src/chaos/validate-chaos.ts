/**
 * Checks a Chaos Mesh object before it is sent: structure against the TypeBox schemas, then the
 * rules Chaos Mesh's admission webhook and controller enforce but the CRD schema does not (mode
 * values, durations, action-specific fields, target/direction pairing, cron syntax). Every
 * problem is reported at once as BRX_ERR_CHAOS_INVALID.
 */
import { Value } from '@sinclair/typebox/value';
import { BrixletError } from '../common/errors.js';
import { CHAOS_API_VERSION, CHAOS_KINDS, type ChaosKind, EXPERIMENT_KINDS, type ExperimentKind, isChaosKind } from './chaos-kinds.js';
import { ChaosMetadata, type IOChaosSpec, type NetworkChaosSpec, type PodChaosSpec, type PodSelectorSpec, type ScheduleSpec, type StressChaosSpec } from './chaos-schema.js';
import { goDurationMs, isMemorySize, isNamespaceName, isObjectName, isPercentString, isRate, scheduleProblem } from './chaos-formats.js';
import type { AnyChaos } from './types.js';

export interface ValidateOptions {
  /** Where the object came from (`file.yaml document 2`), for the message. */
  readonly source?: string;
}

/** The syscalls IOChaos can hook (its `methods`). */
export const IO_METHODS: readonly string[] = [
  'lookup', 'forget', 'getattr', 'setattr', 'readlink', 'mknod', 'mkdir', 'unlink', 'rmdir', 'symlink', 'rename', 'link', 'open', 'read', 'write',
  'flush', 'release', 'fsync', 'opendir', 'readdir', 'releasedir', 'fsyncdir', 'statfs', 'setxattr', 'getxattr', 'listxattr', 'removexattr',
  'access', 'create', 'getlk', 'setlk', 'bmap',
];

const MAX_PROBLEMS = 20;

type Problems = string[];

export function validateChaos(obj: unknown, opts: ValidateOptions = {}): AnyChaos {
  const problems: Problems = [];
  const o = (obj !== null && typeof obj === 'object' && !Array.isArray(obj) ? obj : {}) as Record<string, unknown>;
  const kindText = typeof o.kind === 'string' ? o.kind : 'object';
  const meta = (o.metadata ?? {}) as { name?: unknown; generateName?: unknown; namespace?: unknown };
  const nameText = `${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)'}`;
  const fail = (): never => {
    const shown = problems.slice(0, MAX_PROBLEMS);
    const more = problems.length > MAX_PROBLEMS ? `; … ${problems.length - MAX_PROBLEMS} more` : '';
    throw new BrixletError(
      'BRX_ERR_CHAOS_INVALID',
      { kind: kindText, name: opts.source ? `${nameText} (${opts.source})` : nameText, reason: shown.join('; ') + more },
      { details: problems },
    );
  };

  if (o !== obj) {
    problems.push(`expected an object, got ${Array.isArray(obj) ? 'an array' : obj === null ? 'null' : typeof obj}`);
    fail();
  }
  if (o.apiVersion !== CHAOS_API_VERSION) problems.push(`apiVersion must be ${CHAOS_API_VERSION}, got ${JSON.stringify(o.apiVersion)}`);
  if (!isChaosKind(o.kind)) {
    problems.push(`kind ${JSON.stringify(o.kind)} is not supported; supported: ${Object.keys(CHAOS_KINDS).join(', ')}`);
    fail();
  }
  const kind = o.kind as ChaosKind;
  checkMetadata(o.metadata, problems);
  if (o.spec === undefined) problems.push('spec is missing');
  else if (structure(CHAOS_KINDS[kind].spec, o.spec, 'spec', problems)) {
    if (kind === 'Schedule') checkSchedule(o.spec as ScheduleSpec, problems);
    else checkExperiment(kind, o.spec, 'spec', problems);
  }
  if (problems.length > 0) fail();
  return obj as AnyChaos;
}

/** TypeBox errors as `path: message`; true when there were none (only then are the semantic checks meaningful). */
function structure(schema: Parameters<typeof Value.Check>[0], value: unknown, at: string, problems: Problems): boolean {
  if (Value.Check(schema, value)) return true;
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const path = `${at}${e.path.replaceAll('/', '.')}`;
    // A union reports once per branch; one line per path is enough.
    if (seen.has(path)) continue;
    seen.add(path);
    const allowed = 'anyOf' in e.schema && Array.isArray(e.schema.anyOf) ? (e.schema.anyOf as { const?: unknown }[]).map((s) => s.const).filter((c) => c !== undefined) : [];
    problems.push(allowed.length > 0 ? `${path}: must be one of ${allowed.join(', ')}, got ${JSON.stringify(e.value)}` : `${path}: ${e.message.toLowerCase()}`);
    if (seen.size >= 10) break;
  }
  return false;
}

function checkMetadata(metadata: unknown, problems: Problems): void {
  if (metadata === undefined) {
    problems.push('metadata.name is missing');
    return;
  }
  if (!structure(ChaosMetadata, metadata, 'metadata', problems)) return;
  const m = metadata as { name?: string; generateName?: string; namespace?: string };
  if (m.name === undefined && m.generateName === undefined) problems.push('metadata.name is missing');
  if (m.name !== undefined && !isObjectName(m.name)) problems.push(`metadata.name '${m.name}' must be lower-case letters, digits, '-' and '.', starting and ending alphanumeric, at most 253 characters`);
  if (m.generateName !== undefined && !isObjectName(`${m.generateName}a`)) problems.push(`metadata.generateName '${m.generateName}' is not a valid name prefix`);
  if (m.namespace !== undefined && !isNamespaceName(m.namespace)) problems.push(`metadata.namespace '${m.namespace}' is not a valid namespace name`);
}

function checkSelection(s: { selector: PodSelectorSpec; mode: string; value?: string }, at: string, problems: Problems): void {
  const sel = s.selector;
  const narrowing = [sel.namespaces, sel.pods, sel.nodes].some((v) => v !== undefined && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) ||
    [sel.labelSelectors, sel.annotationSelectors, sel.fieldSelectors, sel.nodeSelectors].some((m) => m !== undefined && Object.keys(m).length > 0) ||
    (sel.expressionSelectors?.length ?? 0) > 0;
  if (!narrowing) problems.push(`${at}.selector is empty and would select every pod in the cluster; give namespaces, labelSelectors or pods`);
  for (const ns of [...(sel.namespaces ?? []), ...Object.keys(sel.pods ?? {})]) {
    if (!isNamespaceName(ns)) problems.push(`${at}.selector: '${ns}' is not a valid namespace name`);
  }
  for (const e of sel.expressionSelectors ?? []) {
    const needsValues = e.operator === 'In' || e.operator === 'NotIn';
    if (needsValues !== (e.values !== undefined && e.values.length > 0)) {
      problems.push(`${at}.selector.expressionSelectors: operator ${e.operator} ${needsValues ? 'needs' : 'takes no'} values (key ${e.key})`);
    }
  }
  const v = s.value;
  if (s.mode === 'one' || s.mode === 'all') {
    if (v !== undefined && v !== '') problems.push(`${at}.value must not be set with mode ${s.mode}`);
  } else if (s.mode === 'fixed') {
    if (v === undefined || !/^[1-9]\d*$/.test(v)) problems.push(`${at}.value must be a positive pod count with mode fixed, got ${JSON.stringify(v)}`);
  } else if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 100) {
    problems.push(`${at}.value must be a percent from 1 to 100 with mode ${s.mode}, got ${JSON.stringify(v)}`);
  }
}

function checkDuration(text: string | undefined, at: string, problems: Problems, required = false): void {
  if (text === undefined) {
    if (required) problems.push(`${at} is required`);
    return;
  }
  const ms = goDurationMs(text);
  if (ms === undefined || ms <= 0) problems.push(`${at} must be a positive Go duration such as 30s, 5m or 1h30m, got '${text}'`);
}

function checkExperiment(kind: ExperimentKind, spec: unknown, at: string, problems: Problems): void {
  const common = spec as { selector: PodSelectorSpec; mode: string; value?: string; duration?: string };
  checkSelection(common, at, problems);
  checkDuration(common.duration, `${at}.duration`, problems);
  switch (kind) {
    case 'PodChaos':
      return checkPodChaos(spec as PodChaosSpec, at, problems);
    case 'NetworkChaos':
      return checkNetworkChaos(spec as NetworkChaosSpec, at, problems);
    case 'StressChaos':
      return checkStressChaos(spec as StressChaosSpec, at, problems);
    case 'IOChaos':
      return checkIOChaos(spec as IOChaosSpec, at, problems);
  }
}

function checkPodChaos(s: PodChaosSpec, at: string, problems: Problems): void {
  if (s.action === 'pod-failure' && s.duration === undefined) problems.push(`${at}.duration is required for pod-failure (the pods stay broken until it ends)`);
  if (s.action === 'container-kill' && (s.containerNames?.length ?? 0) === 0) problems.push(`${at}.containerNames must name at least one container for container-kill`);
}

const NETWORK_ACTION_FIELD: Partial<Record<NetworkChaosSpec['action'], 'delay' | 'loss' | 'duplicate' | 'corrupt' | 'bandwidth'>> = {
  delay: 'delay',
  loss: 'loss',
  duplicate: 'duplicate',
  corrupt: 'corrupt',
  bandwidth: 'bandwidth',
};

function checkNetworkChaos(s: NetworkChaosSpec, at: string, problems: Problems): void {
  const wanted = NETWORK_ACTION_FIELD[s.action];
  if (wanted !== undefined && s[wanted] === undefined) problems.push(`${at}.${wanted} is required for action ${s.action}`);
  for (const field of ['delay', 'loss', 'duplicate', 'corrupt', 'bandwidth'] as const) {
    // netem combines them all; any other action uses only its own.
    if (s[field] !== undefined && s.action !== 'netem' && field !== wanted) problems.push(`${at}.${field} is set but action is ${s.action}`);
  }
  if (s.delay) {
    for (const f of ['latency', 'jitter'] as const) {
      const v = s.delay[f];
      if (v !== undefined && goDurationMs(v) === undefined) problems.push(`${at}.delay.${f} must be a duration such as 100ms, got '${v}'`);
    }
  }
  const percents: [string, string | undefined][] = [
    ['delay.correlation', s.delay?.correlation],
    ['loss.loss', s.loss?.loss],
    ['loss.correlation', s.loss?.correlation],
    ['duplicate.duplicate', s.duplicate?.duplicate],
    ['corrupt.corrupt', s.corrupt?.corrupt],
  ];
  for (const [f, v] of percents) if (v !== undefined && !isPercentString(v)) problems.push(`${at}.${f} must be a percent from 0 to 100 as a string, got '${v}'`);
  if (s.bandwidth && !isRate(s.bandwidth.rate)) problems.push(`${at}.bandwidth.rate must be a rate such as 1mbps or 100kbit, got '${s.bandwidth.rate}'`);
  const direction = s.direction ?? 'to';
  if (direction !== 'to' && s.target === undefined) problems.push(`${at}.target is required with direction ${direction}`);
  if (direction !== 'to' && (s.externalTargets?.length ?? 0) > 0) problems.push(`${at}.externalTargets only work with direction to`);
  if (s.target) checkSelection(s.target, `${at}.target`, problems);
}

function checkStressChaos(s: StressChaosSpec, at: string, problems: Problems): void {
  if (s.stressors?.cpu === undefined && s.stressors?.memory === undefined && !s.stressngStressors) {
    problems.push(`${at}.stressors needs cpu or memory (or give stressngStressors)`);
  }
  const size = s.stressors?.memory?.size;
  if (size !== undefined && !isMemorySize(size)) problems.push(`${at}.stressors.memory.size must be a size such as 256MB or 1GiB, or a percent such as 50%, got '${size}'`);
}

function checkIOChaos(s: IOChaosSpec, at: string, problems: Problems): void {
  if (s.action === 'latency') {
    if (s.delay === undefined) problems.push(`${at}.delay is required for action latency`);
    else if (goDurationMs(s.delay) === undefined) problems.push(`${at}.delay must be a duration such as 100ms, got '${s.delay}'`);
  }
  if (s.action === 'fault' && (s.errno === undefined || s.errno <= 0)) problems.push(`${at}.errno must be a positive errno (5 = EIO, 28 = ENOSPC) for action fault`);
  if (s.action === 'attrOverride' && s.attr === undefined) problems.push(`${at}.attr is required for action attrOverride`);
  if (s.action === 'mistake' && s.mistake === undefined) problems.push(`${at}.mistake is required for action mistake`);
  if (!s.volumePath.startsWith('/')) problems.push(`${at}.volumePath must be an absolute path, got '${s.volumePath}'`);
  if (s.percent !== undefined && (s.percent < 0 || s.percent > 100)) problems.push(`${at}.percent must be from 0 to 100, got ${s.percent}`);
  const unknown = (s.methods ?? []).filter((m) => !IO_METHODS.includes(m));
  if (unknown.length > 0) problems.push(`${at}.methods: unknown ${unknown.join(', ')}; valid: ${IO_METHODS.join(', ')}`);
}

function checkSchedule(s: ScheduleSpec, problems: Problems): void {
  const cron = scheduleProblem(s.schedule);
  if (cron) problems.push(`spec.schedule ${cron}`);
  const kind = s.type as ExperimentKind;
  if (!EXPERIMENT_KINDS.includes(kind)) {
    problems.push(`spec.type must be one of ${EXPERIMENT_KINDS.join(', ')}, got ${JSON.stringify(s.type)}`);
    return;
  }
  const field = CHAOS_KINDS[kind].scheduleField ?? 'podChaos';
  for (const k of EXPERIMENT_KINDS) {
    const f = CHAOS_KINDS[k].scheduleField ?? 'podChaos';
    if (f !== field && s[f] !== undefined) problems.push(`spec.${f} is set but spec.type is ${kind}`);
  }
  if (s[field] === undefined) problems.push(`spec.${field} is required for type ${kind}`);
  else checkExperiment(kind, s[field], `spec.${field}`, problems);
}
