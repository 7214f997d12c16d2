/**
 * `brixlet up --engines N`: the GPU optimizer with no set-up. The mock engines' GPU models come with
 * profiles made by `brixlet profile` and shipped in profiles/ (scripts/mock-profiles.sh); up plans
 * over them from the gateway's live load, one deployment per GPU type (engine-<gpu>, running the
 * engines of that type). The user's own --optimizer.profiles or --optimizer.deployments replace
 * this; --no-optimizer or --optimizer.enabled off turn it off. Deciding is pure (tests); reading
 * the shipped directory is the one side effect.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeepReadonly } from '../../common/config/load-config.js';
import type { Config } from '../../common/config/schema.js';

/** The shipped profiles: <package root>/profiles (the same from src/ and dist/). */
export const SHIPPED_PROFILE_DIR = fileURLToPath(new URL('../../../profiles/', import.meta.url));

/** The model the shipped profiles were made with (the mock engine's default). */
const SHIPPED_MODEL = 'mock-llama-3-8b';
const SHIPPED_FILE = /^mock-llama-3-8b-([a-z0-9][a-z0-9.-]*)\.json$/;

/** GPU type → path of its shipped profile, from `dir` (empty when the directory is missing). */
export function shippedProfiles(dir: string = SHIPPED_PROFILE_DIR): Map<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return new Map();
  }
  const out = new Map<string, string>();
  for (const name of names.sort()) {
    const m = SHIPPED_FILE.exec(name);
    if (m !== null) out.set(m[1] as string, join(dir, name));
  }
  return out;
}

type OptimizerConfig = DeepReadonly<Config['optimizer']>;

export interface UpOptimizerInput {
  /** GPU type of each mock engine, in engine order. */
  readonly engineGpus: readonly string[];
  /** The model the engines serve. */
  readonly model: string;
  /** Namespace of the deployments up names (kube.namespace, else default). */
  readonly namespace: string;
  readonly optimizer: OptimizerConfig;
  /** Where each config value came from (`default` when not set). */
  readonly sources: Readonly<Record<string, string>>;
  /** --no-optimizer */
  readonly off: boolean;
  /** GPU type → shipped profile path. */
  readonly shipped: ReadonlyMap<string, string>;
}

export interface UpDeployment {
  readonly namespace: string;
  readonly name: string;
  readonly gpu: string;
  readonly replicas: number;
  /** Planned: a profile is shipped for its GPU type. */
  readonly planned: boolean;
}

export interface UpOptimizerDecision {
  /** The optimizer settings up runs the coordinator with. */
  readonly optimizer: OptimizerConfig;
  /** Whether up filled in the shipped profiles and its deployments. */
  readonly shipped: boolean;
  readonly deployments: readonly UpDeployment[];
  /** One line each for the log at info: what up did and why. */
  readonly notes: readonly string[];
}

/** Names that fit in the [MODEL=]PATH and NAME=MODEL@GPU lists unquoted. */
const LIST_SAFE = /^[^,\s=@]+$/;

/** Whether and how `up` turns the optimizer on over its mock engines. */
export function decideUpOptimizer(a: UpOptimizerInput): UpOptimizerDecision {
  const o = a.optimizer;
  const none = (notes: string[], optimizer: OptimizerConfig = o): UpOptimizerDecision => ({ optimizer, shipped: false, deployments: [], notes });
  if (a.engineGpus.length === 0) return none([]);
  if (a.off) return none(['GPU optimizer off (--no-optimizer)'], { ...o, enabled: 'off' });
  if (o.enabled === 'off') return none([]);
  const own = (['profiles', 'deployments'] as const).filter((k) => (a.sources[`optimizer.${k}`] ?? 'default') !== 'default' && o[k] !== '');
  if (own.length > 0) return none([`GPU optimizer on your ${own.map((k) => `--optimizer.${k}`).join(' and ')}: the profiles shipped for the mock engines are not added`]);

  const counts = new Map<string, number>();
  for (const g of a.engineGpus) counts.set(g, (counts.get(g) ?? 0) + 1);
  const gpus = [...counts.keys()];
  const have = gpus.filter((g) => a.shipped.has(g));
  const missing = gpus.filter((g) => !a.shipped.has(g));
  const shippedList = [...a.shipped.keys()].join(', ') || 'none';
  const notes: string[] = [];
  if (have.length === 0) {
    notes.push(`GPU optimizer off: no profile is shipped for ${gpus.join(', ')} (shipped: ${shippedList}); try --engine-gpus ${[...a.shipped.keys()].slice(0, 2).join(',') || 'l20,a10'}, or give --optimizer.profiles`);
    return none(notes);
  }
  if (!LIST_SAFE.test(a.model)) {
    notes.push(`GPU optimizer off: the model name '${a.model}' cannot be named in --optimizer.deployments (no commas, spaces, = or @); give --optimizer.profiles and --optimizer.deployments`);
    return none(notes);
  }
  const badPath = have.map((g) => a.shipped.get(g) as string).find((p) => p.includes(','));
  if (badPath !== undefined) {
    notes.push(`GPU optimizer off: the shipped profile path ${badPath} holds a comma, which --optimizer.profiles cannot name`);
    return none(notes);
  }
  if (missing.length > 0) {
    notes.push(`GPU optimizer: no profile is shipped for ${missing.join(', ')} (shipped: ${shippedList}); it plans over ${have.join(', ')} and leaves the ${missing.map((g) => `engine-${g}`).join(', ')} engines as they are`);
  }
  const deployments: UpDeployment[] = gpus.map((gpu) => ({ namespace: a.namespace, name: `engine-${gpu}`, gpu, replicas: counts.get(gpu) as number, planned: a.shipped.has(gpu) }));
  // Profiles made with the mock engine's default model describe the mock engines whatever name they serve.
  const profiles = have.map((g) => `${a.model}=${a.shipped.get(g) as string}`).join(',');
  const list = deployments.map((d) => `${d.namespace}/${d.name}=${a.model}@${d.gpu}:${d.replicas}`).join(',');
  notes.push(
    `GPU optimizer on with the profiles shipped for ${have.join(', ')} (made by brixlet profile against the mock engine${a.model === SHIPPED_MODEL ? '' : `, planned for ${a.model}`}): ${deployments.filter((d) => d.planned).map((d) => `${d.namespace}/${d.name} (${d.replicas} now)`).join(', ')}; GET /v1/optimizer/plan on the control port`,
  );
  return { optimizer: { ...o, profiles, deployments: list }, shipped: true, deployments, notes };
}
