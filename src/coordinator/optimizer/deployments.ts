/**
 * What the planner scales and within which bounds, from settings or from the agents' reports:
 * deployments (`[NS/]NAME=[MODEL@]GPU[:REPLICAS]`), per-GPU-type counts (`a10=4,l20=8` for
 * availability caps and minimums) and the GPUs the agents report, matched to GPU types by the
 * model token of the device name ("NVIDIA A100-SXM4-80GB" is an a100). Parsing is pure.
 */
import { BrixletError } from '../../common/errors.js';
import type { NodeReport } from '../../common/node-report.js';

/** One Deployment the plan scales: one per (model, GPU type), as AIBrix's optimizer has it. */
export interface OptimizerDeployment {
  readonly namespace: string;
  readonly name: string;
  /** Absent: the one model whose profiles include `gpu`. */
  readonly model?: string;
  /** The GPU type: the `gpu` of the profile it is planned with, and the key of caps and minimums. */
  readonly gpu: string;
  /** Replicas it runs now (the count kept until a plan says otherwise). */
  readonly replicas?: number;
  /** Its own floor (AIBrix's model.aibrix.ai/min_replicas label); else --optimizer.min for its GPU type. */
  readonly min?: number;
}

/** A deployment with its key, its model resolved, and why the plan leaves it alone when it does. */
export interface ResolvedDeployment extends OptimizerDeployment {
  /** namespace/name */
  readonly key: string;
  readonly unplanned?: string;
}

/**
 * The deployments the plan covers: those configured (their model named, or the only one with a
 * profile for their GPU type), or else (with `fromProfiles`) one per (model, profile) in `namespace`, named after the
 * profile's gpu (AIBrix's rule), prefixed by the model where two models share a gpu name.
 * `gpusByModel`: the profiled GPU types per model, sorted. Sorted by key.
 */
export function resolveDeployments(configured: readonly OptimizerDeployment[], gpusByModel: ReadonlyMap<string, readonly string[]>, namespace: string, fromProfiles = true): ResolvedDeployment[] {
  const out: ResolvedDeployment[] = [];
  if (configured.length > 0 || !fromProfiles) {
    for (const d of configured) {
      const owners = [...gpusByModel].filter(([, gpus]) => gpus.includes(d.gpu)).map(([model]) => model);
      const model = d.model ?? (owners.length === 1 ? owners[0] : undefined);
      let unplanned: string | undefined;
      if (model === undefined) unplanned = owners.length > 1 ? `GPU type ${d.gpu} has profiles for several models (${owners.join(', ')}): name one as MODEL@${d.gpu}` : `no profile for GPU type ${d.gpu}: left as it is`;
      else if (gpusByModel.get(model)?.includes(d.gpu) !== true) unplanned = `no profile for model ${model} on GPU type ${d.gpu}: left as it is`;
      else if (out.some((o) => o.model === model && o.gpu === d.gpu && o.unplanned === undefined)) unplanned = `another deployment already runs model ${model} on ${d.gpu}: one deployment per (model, GPU type) is planned`;
      out.push({ ...d, key: `${d.namespace}/${d.name}`, ...(model !== undefined && { model }), ...(unplanned !== undefined && { unplanned }) });
    }
  } else {
    const names = new Set<string>();
    for (const model of [...gpusByModel.keys()].sort()) {
      for (const gpu of gpusByModel.get(model) ?? []) {
        let name = gpu;
        if (names.has(name)) name = `${model.toLowerCase().replace(/[^a-z0-9.-]+/g, '-')}-${name}`;
        names.add(name);
        out.push({ namespace, name, model, gpu, key: `${namespace}/${name}` });
      }
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Labels of a Deployment the optimizer plans (AIBrix's, plus brixlet's GPU type label). */
export const MODEL_LABEL = 'model.aibrix.ai/name';
export const MIN_REPLICAS_LABEL = 'model.aibrix.ai/min_replicas';
export const GPU_TYPE_LABEL = 'brixlet.io/gpu-type';

/** The parts of an apps/v1 Deployment the optimizer reads. */
export interface KubeDeployment {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { replicas?: number };
}

/**
 * A Deployment labelled model.aibrix.ai/name as the planner sees it: its GPU type from
 * brixlet.io/gpu-type, else its name (AIBrix: the profile's gpu is the deployment's name); its replicas
 * from spec.replicas (Kubernetes' default 1); its floor from model.aibrix.ai/min_replicas. Undefined
 * for one without the model label, or being deleted. Pure.
 */
export function deploymentFromKube(d: KubeDeployment): OptimizerDeployment | undefined {
  const meta = d.metadata ?? {};
  const model = meta.labels?.[MODEL_LABEL];
  if (model === undefined || model === '' || meta.name === undefined || meta.deletionTimestamp !== undefined) return undefined;
  const min = Number(meta.labels?.[MIN_REPLICAS_LABEL]);
  return {
    namespace: meta.namespace ?? 'default',
    name: meta.name,
    model,
    gpu: meta.labels?.[GPU_TYPE_LABEL] || meta.name,
    replicas: d.spec?.replicas ?? 1,
    ...(Number.isInteger(min) && min >= 0 && { min }),
  };
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const bad = (reason: string) => new BrixletError('BRX_ERR_OPTIMIZER_CONFIG', { reason });

/** `[NS/]NAME=[MODEL@]GPU[:REPLICAS]`, comma-separated; `namespace` fills a missing NS. */
export function parseDeployments(text: string, namespace: string): OptimizerDeployment[] {
  const out: OptimizerDeployment[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^(?:([^/=\s]+)\/)?([^/=\s]+)=(?:([^@\s]+)@)?([^@:\s]+)(?::(\d+))?$/.exec(entry);
    if (m === null) throw bad(`--optimizer.deployments entry '${entry}' is not [NAMESPACE/]NAME=[MODEL@]GPU[:REPLICAS]`);
    const [, ns = namespace, name = '', model, gpu = '', replicas] = m;
    for (const [what, v] of [['namespace', ns], ['name', name]] as const) {
      if (!NAME.test(v) || v.length > 253) throw bad(`--optimizer.deployments entry '${entry}': ${what} '${v}' is not a Kubernetes name`);
    }
    const key = `${ns}/${name}`;
    if (seen.has(key)) throw bad(`--optimizer.deployments names ${key} twice`);
    seen.add(key);
    out.push({ namespace: ns, name, gpu, ...(model !== undefined && { model }), ...(replicas !== undefined && { replicas: Number(replicas) }) });
  }
  return out;
}

/** `TYPE=N,…` (availability caps, minimums); `flag` names the setting in errors. */
export function parseTypeCounts(text: string, flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^([A-Za-z0-9._-]+)=(\d{1,6})$/.exec(entry);
    if (m === null) throw bad(`${flag} entry '${entry}' is not GPU=COUNT (e.g. a10=4)`);
    const [, type = '', n = '0'] = m;
    if (type in out) throw bad(`${flag} names ${type} twice`);
    out[type] = Number(n);
  }
  return out;
}

const VENDOR_WORDS = new Set(['nvidia', 'tesla', 'geforce', 'quadro', 'huawei', 'amd', 'instinct']);

/** The model token of a device name: its first word holding a letter and a digit, vendor words aside ("NVIDIA L20" → l20). */
export function gpuModelToken(deviceName: string): string | undefined {
  for (const w of deviceName.toLowerCase().split(/[^a-z0-9]+/)) {
    if (w === '' || VENDOR_WORDS.has(w)) continue;
    if (/[a-z]/.test(w) && /[0-9]/.test(w)) return w;
  }
  return undefined;
}

/** Whether GPU type `type` (a profile's gpu, e.g. a10 or llama-7b-a100) names devices of model token `token`. */
export function typeMatches(type: string, token: string): boolean {
  return type.toLowerCase().split(/[^a-z0-9]+/).includes(token);
}

/**
 * Usable GPUs per model token over the nodes the agents report (ready nodes, devices not unhealthy);
 * an empty map when no node reports an accelerator (then nothing is known to cap by).
 */
export function reportedGpus(reports: Iterable<{ readonly report: NodeReport; readonly stale: boolean }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const { report, stale } of reports) {
    if (stale) continue;
    for (const a of report.accelerators ?? []) {
      if (a.health === 'unhealthy') continue;
      const token = gpuModelToken(a.name);
      if (token !== undefined) out.set(token, (out.get(token) ?? 0) + 1);
    }
  }
  return out;
}

/** Caps per GPU type: the flag's where it names the type, else the reported devices matching it (0 if none) while any are reported, else none. */
export function capsFor(types: readonly string[], flag: Readonly<Record<string, number>>, reported: ReadonlyMap<string, number>): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const t of types) {
    if (t in flag) out[t] = flag[t];
    else if (reported.size === 0) out[t] = undefined;
    else {
      let n = 0;
      for (const [token, count] of reported) if (typeMatches(t, token)) n += count;
      out[t] = n;
    }
  }
  return out;
}
