/**
 * A ModelFleet's spec: its defaults and its validation. fleetProblems lists every problem at once,
 * each naming the field path, so the reconciler can put them in a condition and an event and the
 * CLI can print them; validateFleet throws them as BRX_ERR_FLEET_INVALID. The checks are the CRD's
 * schema and CEL rules (fleet-rules.ts) plus what only brixlet can know: the GPUs the reporting
 * nodes have.
 */
import { BrixletError } from '../../common/errors.js';
import { suggest } from '../../common/suggest.js';
import type { ObjectMeta } from '../../kube/types.js';
import {
  BOUNDS, DNS_LABEL, FLEET_DEFAULTS, ENV_NAME, LABEL_VALUE, MAX_FLEET_NAME, MAX_ITEMS, MAX_LENGTH, MAX_LWS_FLEET_NAME, NO_SPACE, PERCENT, QUANTITY, RAY_PORTS, RAY_VERSION, RENDERED_FLAGS,
} from './fleet-rules.js';
export { FLEET_DEFAULTS } from './fleet-rules.js';
import { FLEET_API_VERSION, FLEET_KIND, type ModelFleet, type ModelFleetSpec, type ModelFleetSpecInput } from './types.js';

export interface FleetContext {
  /** The most GPUs any reporting node has; unset when no node reports (nothing to check against). */
  readonly maxGpusPerNode?: number;
}

/** A fleet that passed validation, with its spec after defaults. */
export type ValidFleet = Omit<ModelFleet, 'metadata' | 'spec'> & { metadata: ObjectMeta & { name: string }; spec: ModelFleetSpec };

/** `meta-llama/Llama-3.1-405B-Instruct` → `llama-3.1-405b-instruct`. */
export function defaultServedName(model: string): string {
  const parts = model.split('/').filter((p) => p !== '');
  return (parts[parts.length - 1] ?? model).toLowerCase();
}

/** The spec with every default filled in (input assumed valid: see fleetProblems). */
export function fleetDefaults(input: ModelFleetSpecInput): ModelFleetSpec {
  const d = FLEET_DEFAULTS;
  return {
    model: input.model,
    servedModelName: input.servedModelName ?? defaultServedName(input.model),
    image: input.image,
    tensorParallelSize: input.tensorParallelSize,
    pipelineParallelSize: input.pipelineParallelSize ?? d.pipelineParallelSize,
    gpusPerNode: input.gpusPerNode,
    nodesPerReplica: input.nodesPerReplica,
    replicas: input.replicas ?? d.replicas,
    backend: input.backend ?? d.backend,
    engineArgs: [...(input.engineArgs ?? [])],
    env: (input.env ?? []).map((e) => ({ ...e })),
    resources: { ...(input.resources?.requests ? { requests: { ...input.resources.requests } } : {}), ...(input.resources?.limits ? { limits: { ...input.resources.limits } } : {}) },
    nodeSelector: { ...(input.nodeSelector ?? {}) },
    tolerations: (input.tolerations ?? []).map((t) => ({ ...t })),
    ...(input.gpuType !== undefined ? { gpuType: input.gpuType } : {}),
    port: input.port ?? d.port,
    rollout: { ...d.rollout, ...input.rollout },
    restartBudget: { ...d.restartBudget, ...input.restartBudget },
    startupSeconds: input.startupSeconds ?? d.startupSeconds,
    rayVersion: input.rayVersion ?? d.rayVersion,
  };
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

const SPEC_FIELDS = [
  'model', 'servedModelName', 'image', 'tensorParallelSize', 'pipelineParallelSize', 'gpusPerNode', 'nodesPerReplica', 'replicas', 'backend', 'engineArgs', 'env',
  'resources', 'nodeSelector', 'tolerations', 'gpuType', 'port', 'rollout', 'restartBudget', 'startupSeconds', 'rayVersion',
] as const satisfies readonly (keyof ModelFleetSpecInput)[];

/** Collects problems; each helper returns whether the value was usable, so dependent checks can skip. */
class Problems {
  readonly items: string[] = [];
  add(path: string, msg: string): false {
    this.items.push(`${path}: ${msg}`);
    return false;
  }
  fields(path: string, o: Json, known: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      const hint = suggest(k, known);
      this.add(`${path}.${k}`, `unknown field${hint ? ` (did you mean ${path}.${hint}?)` : ''}`);
    }
  }
  int(path: string, v: unknown, [min, max]: readonly [number, number], required = false): boolean {
    if (v === undefined) return required ? this.add(path, 'is required') : true;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return this.add(path, `must be an integer from ${min} to ${max}, got ${show(v)}`);
    return true;
  }
  str(path: string, v: unknown, opts: { required?: boolean; maxLength: number; pattern?: RegExp; what?: string }): boolean {
    if (v === undefined) return opts.required === true ? this.add(path, 'is required') : true;
    if (typeof v !== 'string') return this.add(path, `must be a string, got ${show(v)}`);
    if (v.length === 0 || v.length > opts.maxLength) return this.add(path, `must have 1 to ${opts.maxLength} characters, got ${v.length}`);
    if (opts.pattern && !opts.pattern.test(v)) return this.add(path, `must be ${opts.what ?? `match ${opts.pattern.source}`}, got ${show(v)}`);
    return true;
  }
  bool(path: string, v: unknown): boolean {
    return v === undefined || typeof v === 'boolean' || this.add(path, `must be true or false, got ${show(v)}`);
  }
  obj(path: string, v: unknown): v is Json | undefined {
    return v === undefined || isObj(v) || this.add(path, `must be an object, got ${show(v)}`);
  }
  list(path: string, v: unknown, maxItems: number): v is unknown[] | undefined {
    if (v === undefined) return true;
    if (!Array.isArray(v)) return this.add(path, `must be a list, got ${show(v)}`);
    return v.length <= maxItems || this.add(path, `may have at most ${maxItems} entries, got ${v.length}`);
  }
  map(path: string, v: unknown, maxItems: number, value: (p: string, x: unknown) => void): void {
    if (!this.obj(path, v) || v === undefined) return;
    if (Object.keys(v).length > maxItems) this.add(path, `may have at most ${maxItems} entries`);
    for (const [k, x] of Object.entries(v)) value(`${path}[${JSON.stringify(k)}]`, x);
  }
  intOrPercent(path: string, v: unknown): boolean {
    if (v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && PERCENT.test(v))) return true;
    return this.add(path, `must be a whole number >= 0 or a percent string like "25%", got ${show(v)}`);
  }
}

const isZeroBound = (v: unknown) => v === 0 || (typeof v === 'string' && /^0+%$/.test(v));

/** Every problem of a ModelFleet object, `path: what is wrong` each; [] when it is valid. */
export function fleetProblems(obj: unknown, ctx: FleetContext = {}): string[] {
  const p = new Problems();
  if (!isObj(obj)) return [`a ModelFleet must be an object, got ${show(obj)}`];
  if (obj.apiVersion !== FLEET_API_VERSION) p.add('apiVersion', `must be ${FLEET_API_VERSION}, got ${show(obj.apiVersion)}`);
  if (obj.kind !== FLEET_KIND) p.add('kind', `must be ${FLEET_KIND}, got ${show(obj.kind)}`);
  const meta = isObj(obj.metadata) ? obj.metadata : undefined;
  if (meta === undefined) p.add('metadata', 'is required (with a name)');
  else p.str('metadata.name', meta.name, { required: true, maxLength: MAX_FLEET_NAME, pattern: DNS_LABEL, what: 'lower-case letters, digits and "-", starting with a letter' });
  if (meta !== undefined && meta.namespace !== undefined) p.str('metadata.namespace', meta.namespace, { maxLength: 63, pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, what: 'a namespace name' });
  const s = obj.spec;
  if (!isObj(s)) {
    p.add('spec', s === undefined ? 'is required' : `must be an object, got ${show(s)}`);
    return p.items;
  }
  p.fields('spec', s, SPEC_FIELDS);
  p.str('spec.model', s.model, { required: true, maxLength: MAX_LENGTH.model, pattern: NO_SPACE, what: 'a model name or path without spaces' });
  p.str('spec.servedModelName', s.servedModelName, { maxLength: MAX_LENGTH.servedModelName, pattern: NO_SPACE, what: 'a name without spaces' });
  p.str('spec.image', s.image, { required: true, maxLength: MAX_LENGTH.image, pattern: NO_SPACE, what: 'an image reference without spaces' });
  const tp = p.int('spec.tensorParallelSize', s.tensorParallelSize, BOUNDS.tensorParallelSize, true);
  const pp = p.int('spec.pipelineParallelSize', s.pipelineParallelSize, BOUNDS.pipelineParallelSize);
  const gpus = p.int('spec.gpusPerNode', s.gpusPerNode, BOUNDS.gpusPerNode, true);
  const nodes = p.int('spec.nodesPerReplica', s.nodesPerReplica, BOUNDS.nodesPerReplica, true);
  p.int('spec.replicas', s.replicas, BOUNDS.replicas);
  const backendOk = s.backend === undefined || s.backend === 'ray' || s.backend === 'lws' || p.add('spec.backend', `must be ray or lws, got ${show(s.backend)}`);
  const backend = backendOk ? ((s.backend as 'ray' | 'lws' | undefined) ?? 'ray') : undefined;

  if (tp && pp && gpus && nodes) {
    const [t, q, g, n] = [s.tensorParallelSize as number, (s.pipelineParallelSize as number | undefined) ?? 1, s.gpusPerNode as number, s.nodesPerReplica as number];
    if (t * q !== g * n) {
      p.items.push(`spec.tensorParallelSize × spec.pipelineParallelSize = ${t} × ${q} = ${t * q} must equal spec.gpusPerNode × spec.nodesPerReplica = ${g} × ${n} = ${g * n}`);
    }
  }
  if (gpus && ctx.maxGpusPerNode !== undefined && (s.gpusPerNode as number) > ctx.maxGpusPerNode) {
    p.items.push(`spec.gpusPerNode ${s.gpusPerNode as number} is more than any reporting node has (${ctx.maxGpusPerNode})`);
  }
  if (meta !== undefined && typeof meta.name === 'string' && backend === 'lws' && meta.name.length > MAX_LWS_FLEET_NAME) {
    p.add('metadata.name', `has ${meta.name.length} characters; with spec.backend lws at most ${MAX_LWS_FLEET_NAME} (the LeaderWorkerSet adds group indexes and revision hashes to it)`);
  }

  if (p.list(`spec.engineArgs`, s.engineArgs, MAX_ITEMS.engineArgs) && s.engineArgs !== undefined) {
    for (const [i, a] of s.engineArgs.entries()) {
      if (!p.str(`spec.engineArgs[${i}]`, a, { maxLength: MAX_LENGTH.engineArg, required: true })) continue;
      if (RENDERED_FLAGS.test(a as string)) p.add(`spec.engineArgs[${i}]`, `${show(a)} sets a flag brixlet renders from the spec; set the spec field instead`);
    }
  }
  checkEnv(p, s.env);
  checkResources(p, s.resources);
  p.map('spec.nodeSelector', s.nodeSelector, MAX_ITEMS.nodeSelector, (path, v) => {
    p.str(path, v, { maxLength: 63, pattern: LABEL_VALUE, what: 'a label value' });
  });
  checkTolerations(p, s.tolerations);
  p.str('spec.gpuType', s.gpuType, { maxLength: MAX_LENGTH.gpuType, pattern: LABEL_VALUE, what: 'a label value such as NVIDIA-H100-80GB-HBM3' });
  if (p.int('spec.port', s.port, BOUNDS.port) && backend === 'ray' && RAY_PORTS.includes((s.port as number | undefined) ?? 8000)) {
    p.add('spec.port', `${s.port as number} is a port the Ray head uses (${RAY_PORTS.join(', ')}); pick another with spec.backend ray`);
  }
  p.int('spec.startupSeconds', s.startupSeconds, BOUNDS.startupSeconds);
  p.str('spec.rayVersion', s.rayVersion, { maxLength: MAX_LENGTH.rayVersion, pattern: RAY_VERSION, what: 'a Ray version such as 2.40.0' });
  checkRollout(p, s.rollout);
  checkRestartBudget(p, s.restartBudget);
  return p.items;
}

function checkEnv(p: Problems, env: unknown): void {
  if (!p.list('spec.env', env, MAX_ITEMS.env) || env === undefined) return;
  const seen = new Set<string>();
  for (const [i, e] of env.entries()) {
    const at = `spec.env[${i}]`;
    if (!p.obj(at, e) || e === undefined) continue;
    p.fields(at, e, ['name', 'value', 'valueFrom']);
    if (p.str(`${at}.name`, e.name, { required: true, maxLength: MAX_LENGTH.envName, pattern: ENV_NAME, what: 'an environment variable name' })) {
      if (seen.has(e.name as string)) p.add(`${at}.name`, `${show(e.name)} is set twice`);
      seen.add(e.name as string);
    }
    if (e.value !== undefined && typeof e.value !== 'string') p.add(`${at}.value`, `must be a string, got ${show(e.value)}`);
    p.obj(`${at}.valueFrom`, e.valueFrom);
    if (e.value !== undefined && e.valueFrom !== undefined) p.add(at, 'takes value or valueFrom, not both');
  }
}

function checkResources(p: Problems, r: unknown): void {
  if (!p.obj('spec.resources', r) || r === undefined) return;
  p.fields('spec.resources', r, ['requests', 'limits']);
  for (const k of ['requests', 'limits'] as const) {
    p.map(`spec.resources.${k}`, r[k], MAX_ITEMS.resources, (path, v) => {
      if (!(typeof v === 'string' && QUANTITY.test(v)) && !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) p.add(path, `must be a quantity such as "16", "64Gi" or "500m", got ${show(v)}`);
    });
    if (isObj(r[k]) && 'nvidia.com/gpu' in r[k]) p.add(`spec.resources.${k}["nvidia.com/gpu"]`, 'is set by brixlet from spec.gpusPerNode; remove it');
  }
}

function checkTolerations(p: Problems, tolerations: unknown): void {
  if (!p.list('spec.tolerations', tolerations, MAX_ITEMS.tolerations) || tolerations === undefined) return;
  for (const [i, t] of tolerations.entries()) {
    const at = `spec.tolerations[${i}]`;
    if (!p.obj(at, t) || t === undefined) continue;
    p.fields(at, t, ['key', 'operator', 'value', 'effect', 'tolerationSeconds']);
    p.str(`${at}.key`, t.key, { maxLength: 316 });
    if (t.value !== undefined && typeof t.value !== 'string') p.add(`${at}.value`, `must be a string, got ${show(t.value)}`);
    if (t.operator !== undefined && t.operator !== 'Exists' && t.operator !== 'Equal') p.add(`${at}.operator`, `must be Exists or Equal, got ${show(t.operator)}`);
    if (t.effect !== undefined && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect as string)) p.add(`${at}.effect`, `must be NoSchedule, PreferNoSchedule or NoExecute, got ${show(t.effect)}`);
    p.int(`${at}.tolerationSeconds`, t.tolerationSeconds, BOUNDS.tolerationSeconds);
  }
}

function checkRollout(p: Problems, r: unknown): void {
  if (!p.obj('spec.rollout', r) || r === undefined) return;
  p.fields('spec.rollout', r, ['maxSurge', 'maxUnavailable', 'paused']);
  const surge = p.intOrPercent('spec.rollout.maxSurge', r.maxSurge);
  const unavailable = p.intOrPercent('spec.rollout.maxUnavailable', r.maxUnavailable);
  p.bool('spec.rollout.paused', r.paused);
  if (surge && unavailable && isZeroBound(r.maxSurge ?? FLEET_DEFAULTS.rollout.maxSurge) && isZeroBound(r.maxUnavailable ?? FLEET_DEFAULTS.rollout.maxUnavailable)) {
    p.add('spec.rollout', 'maxSurge and maxUnavailable must not both be 0: the rollout could never take a step');
  }
}

function checkRestartBudget(p: Problems, b: unknown): void {
  if (!p.obj('spec.restartBudget', b) || b === undefined) return;
  p.fields('spec.restartBudget', b, ['maxRestarts', 'windowSeconds', 'backoffSeconds', 'maxBackoffSeconds']);
  p.int('spec.restartBudget.maxRestarts', b.maxRestarts, BOUNDS.maxRestarts);
  p.int('spec.restartBudget.windowSeconds', b.windowSeconds, BOUNDS.windowSeconds);
  const backoff = p.int('spec.restartBudget.backoffSeconds', b.backoffSeconds, BOUNDS.backoffSeconds);
  const cap = p.int('spec.restartBudget.maxBackoffSeconds', b.maxBackoffSeconds, BOUNDS.maxBackoffSeconds);
  const first = (b.backoffSeconds as number | undefined) ?? FLEET_DEFAULTS.restartBudget.backoffSeconds;
  const max = (b.maxBackoffSeconds as number | undefined) ?? FLEET_DEFAULTS.restartBudget.maxBackoffSeconds;
  if (backoff && cap && max < first) p.add('spec.restartBudget.maxBackoffSeconds', `${max} must be at least spec.restartBudget.backoffSeconds (${first})`);
}

const MAX_SHOWN = 20;

/** The fleet with its spec after defaults; BRX_ERR_FLEET_INVALID listing every problem otherwise. */
export function validateFleet(obj: unknown, ctx: FleetContext = {}): ValidFleet {
  const problems = fleetProblems(obj, ctx);
  if (problems.length > 0) {
    const meta = (isObj(obj) && isObj(obj.metadata) ? obj.metadata : {}) as { name?: unknown; namespace?: unknown };
    const name = `${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${typeof meta.name === 'string' ? meta.name : '(unnamed)'}`;
    const more = problems.length > MAX_SHOWN ? `; … ${problems.length - MAX_SHOWN} more` : '';
    throw new BrixletError('BRX_ERR_FLEET_INVALID', { name, reason: `${problems.length} problem(s): ${problems.slice(0, MAX_SHOWN).join('; ')}${more}` }, { details: problems });
  }
  const fleet = obj as unknown as ModelFleet;
  return { ...fleet, metadata: { ...fleet.metadata, name: fleet.metadata?.name ?? '' }, spec: fleetDefaults(fleet.spec) };
}
