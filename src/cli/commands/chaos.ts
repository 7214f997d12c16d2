/**
 * `brixlet chaos`: applies, inspects and deletes Chaos Mesh experiments from manifests, and runs
 * the serving-cluster presets. Every object is validated before anything is sent. Exit 0 = done,
 * 1 = the API server or controller failed us (or an object is missing), 2 = bad input.
 */
import { usage, stringOption } from '../args.js';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { LoadedConfig } from '../../common/config/load-config.js';
import type { Config } from '../../common/config/schema.js';

import { createLogger } from '../../common/logger.js';
import { buildChaosPreset, CHAOS_PRESETS, type ChaosPresetParams } from '../../chaos/chaos-presets.js';
import type { ChaosClient } from '../../chaos/chaos-client.js';
import { describeChaosState, type ChaosState } from '../../chaos/chaos-status.js';
import { parseChaosManifests } from '../../chaos/parse-chaos-manifests.js';
import type { AnyChaos } from '../../chaos/types.js';
import { type Command, type CommandContext, CONFIG_OPTION, JSON_OPTION } from '../types.js';

const DEFAULT_TIMEOUT_MS = 120_000;
const SUBCOMMANDS = ['apply', 'delete', 'status', 'presets', 'preset'] as const;

export const chaosCommand: Command = {
  name: 'chaos',
  summary: 'Apply, inspect and delete Chaos Mesh experiments; run serving-cluster presets',
  usage: 'brixlet chaos <apply|delete|status> -f FILE | presets | preset NAME [--namespace NS] [--duration 30s] [--dry-run]',
  description: [
    'Drives Chaos Mesh (chaos-mesh.org/v1alpha1: PodChaos, NetworkChaos, StressChaos, IOChaos,',
    'Schedule) through the Kubernetes API configured by --kube.kubeconfig (else KUBECONFIG, else',
    'the pod\'s service account) and --kube.namespace. Manifests are YAML (one or many documents)',
    'or JSON; every object is checked before anything is sent, and all problems are listed.',
    '',
    'apply creates each object, or merge-patches it when it exists (Chaos Mesh refuses spec changes',
    'to a running experiment: delete it first). --wait waits for AllInjected=True (--timeout, default',
    '2m). delete removes them (--wait: until they are gone, i.e. recovered). status prints the',
    'controller\'s conditions, phase and injected count. presets lists the built-in experiments;',
    'preset NAME builds one, applies it or, with --dry-run, prints it as YAML.',
    '',
    'Exit status: 0 done; 1 an API call failed, a wait timed out or status found a missing object;',
    '2 bad flags or an invalid object.',
  ].join('\n'),
  examples: [
    'brixlet chaos presets',
    'brixlet chaos preset kill-engine-head --namespace serving --dry-run',
    'brixlet chaos preset partition-agent-kv --namespace serving --duration 2m --wait',
    'brixlet chaos apply -f experiments.yaml --kube.kubeconfig ~/.kube/test',
    'brixlet chaos status -f experiments.yaml --json',
    'brixlet chaos delete -f experiments.yaml --wait',
  ],
  subcommands: [
    { name: 'apply', summary: 'Create or merge-patch the objects in -f FILE' },
    { name: 'delete', summary: 'Delete the objects in -f FILE' },
    { name: 'status', summary: 'Show the controller\'s view of the objects in -f FILE' },
    { name: 'presets', summary: 'List the built-in experiments and their parameters' },
    { name: 'preset', summary: 'Build preset NAME and apply it (or print it with --dry-run)' },
  ],
  configSections: ['log', 'kube'],
  options: [
    { name: 'file', short: 'f', type: 'string', valueName: 'FILE', description: 'Manifest with Chaos Mesh objects (YAML or JSON).' },
    { name: 'dry-run', type: 'boolean', description: 'Validate and print the objects as YAML; send nothing.' },
    { name: 'wait', type: 'boolean', description: 'apply/preset: wait for AllInjected=True; delete: wait until the objects are gone.' },
    { name: 'timeout', type: 'string', valueName: 'DURATION', description: 'Limit for --wait (default 2m).' },
    { name: 'namespace', type: 'string', valueName: 'NS', description: 'preset: namespace of the object and its pods (default: --kube.namespace or the kubeconfig\'s).' },
    { name: 'name', type: 'string', valueName: 'NAME', description: 'preset: object name (default brixlet-<preset>).' },
    { name: 'duration', type: 'string', valueName: 'DURATION', description: 'preset: how long the fault lasts (Go duration: 30s, 5m).' },
    { name: 'selector', type: 'string', valueName: 'K=V,…', description: 'preset: labels of the pods the fault hits.' },
    { name: 'target-selector', type: 'string', valueName: 'K=V,…', description: 'preset: labels of the pods on the other side of a network fault.' },
    { name: 'node', type: 'string', valueName: 'NODE', description: 'preset: only pods on this node.' },
    { name: 'latency', type: 'string', valueName: 'DURATION', description: 'preset: added network latency.' },
    { name: 'jitter', type: 'string', valueName: 'DURATION', description: 'preset: latency jitter.' },
    JSON_OPTION,
    CONFIG_OPTION,
  ],
  async run(ctx) {
    const [sub, ...rest] = ctx.args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw usage(`${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} for 'brixlet chaos'; valid: ${SUBCOMMANDS.join(', ')}`);
    }
    if (sub === 'preset' ? rest.length !== 1 : rest.length > 0) {
      throw usage(sub === 'preset' ? `'brixlet chaos preset' takes one preset name; presets: ${CHAOS_PRESETS.map((p) => p.name).join(', ')}` : `'brixlet chaos ${sub}' takes no arguments, got '${rest.join(' ')}'`);
    }
    switch (sub) {
      case 'presets':
        return listPresets(ctx);
      case 'preset':
        return runPreset(ctx, rest[0] ?? '');
      default:
        return runManifest(ctx, sub as 'apply' | 'delete' | 'status');
    }
  },
};

const str = (ctx: CommandContext, name: string): string | undefined => stringOption(ctx.args, name);

function timeoutMs(ctx: CommandContext): number {
  const text = str(ctx, 'timeout');
  if (text === undefined) return DEFAULT_TIMEOUT_MS;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'] : NaN;
  if (!(ms >= 100 && ms <= 86_400_000)) throw usage(`--timeout must be a duration from 100ms to 24h (e.g. 90s, 5m), got '${text}'`);
  return ms;
}

/** `a=b,c=d` → { a: 'b', c: 'd' }. */
function labelMap(flag: string, text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usage(`--${flag} takes key=value pairs separated by commas, got '${part}'`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (Object.keys(out).length === 0) throw usage(`--${flag} is empty`);
  return out;
}

async function withClient<T>(ctx: CommandContext, loaded: LoadedConfig<Config>, fn: (client: ChaosClient) => Promise<T>): Promise<T> {
  const { config, sources } = loaded;
  const log = createLogger({ level: sources['log.level'] === 'default' ? 'warn' : config.log.level, format: config.log.format, stream: ctx.io.stderr });
  // The Kubernetes client library costs ~80 MiB of RSS: load it only when a command talks to a cluster,
  // so `brixlet agent` and the other commands never pay for it.
  const [{ createKubeClient }, { createChaosClient }] = await Promise.all([import('../../kube/kube-client.js'), import('../../chaos/chaos-client.js')]);
  const kube = createKubeClient({
    kubeconfig: config.kube.kubeconfig || undefined,
    namespace: config.kube.namespace || undefined,
    env: ctx.io.env as NodeJS.ProcessEnv,
    log,
  });
  try {
    return await fn(createChaosClient(kube, { log }));
  } finally {
    await kube.dispose();
  }
}

const label = (o: AnyChaos, ns: string): string => `${o.kind} ${o.metadata.namespace ?? ns}/${o.metadata.name ?? `${o.metadata.generateName ?? ''}*`}`;

function printYaml(ctx: CommandContext, objects: readonly AnyChaos[]): number {
  ctx.io.stdout.write(objects.map((o) => stringify(o)).join('---\n'));
  return 0;
}

async function applyAll(ctx: CommandContext, client: ChaosClient, objects: readonly AnyChaos[]): Promise<number> {
  const applied: { kind: string; namespace: string; name: string; action: string; state?: ChaosState }[] = [];
  for (const o of objects) {
    const { action, object } = await client.apply(o);
    const ns = object.metadata.namespace ?? client.namespace;
    const name = object.metadata.name ?? '';
    if (ctx.args.options.json !== true) ctx.io.stdout.write(`${o.kind} ${ns}/${name} ${action}\n`);
    applied.push({ kind: o.kind, namespace: ns, name, action });
  }
  if (ctx.args.options.wait === true) {
    const ms = timeoutMs(ctx);
    for (const a of applied) {
      // A Schedule never reports injection itself; its runs are separate experiments.
      if (a.kind === 'Schedule') continue;
      a.state = await client.wait(a.kind as AnyChaos['kind'], a.name, { until: 'AllInjected', namespace: a.namespace, timeoutMs: ms });
      if (ctx.args.options.json !== true) ctx.io.stdout.write(`${a.kind} ${a.namespace}/${a.name} injected: ${describeChaosState(a.state)}\n`);
    }
  }
  if (ctx.args.options.json === true) ctx.io.stdout.write(`${JSON.stringify(applied, null, 2)}\n`);
  return 0;
}

async function runManifest(ctx: CommandContext, sub: 'apply' | 'delete' | 'status'): Promise<number> {
  const file = str(ctx, 'file');
  if (file === undefined) throw usage(`'brixlet chaos ${sub}' needs -f FILE`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`cannot read ${file}: ${(err as Error).message}`);
  }
  const objects = parseChaosManifests(text, file);
  const loaded = ctx.loadConfig();
  if (ctx.args.options['dry-run'] === true) {
    if (sub !== 'apply') throw usage('--dry-run only applies to apply and preset');
    return printYaml(ctx, objects);
  }
  return withClient(ctx, loaded, async (client) => {
    if (sub === 'apply') return applyAll(ctx, client, objects);
    if (sub === 'delete') return deleteAll(ctx, client, objects);
    const states = await Promise.all(objects.map((o) => client.status(o.kind, o.metadata.name ?? '', o.metadata.namespace)));
    if (ctx.args.options.json === true) ctx.io.stdout.write(`${JSON.stringify(states, null, 2)}\n`);
    else ctx.io.stdout.write(renderStates(states));
    return states.every((s) => s.exists) ? 0 : 1;
  });
}

async function deleteAll(ctx: CommandContext, client: ChaosClient, objects: readonly AnyChaos[]): Promise<number> {
  const results: { kind: string; namespace: string; name: string; deleted: boolean }[] = [];
  for (const o of objects) {
    const ns = o.metadata.namespace ?? client.namespace;
    const name = o.metadata.name;
    if (name === undefined) throw usage(`${label(o, ns)} has only a generateName; delete it by name`);
    const deleted = await client.delete(o.kind, name, ns);
    results.push({ kind: o.kind, namespace: ns, name, deleted });
    if (ctx.args.options.json !== true) ctx.io.stdout.write(`${label(o, ns)} ${deleted ? 'deleted' : 'not found'}\n`);
  }
  if (ctx.args.options.wait === true) {
    const ms = timeoutMs(ctx);
    for (const r of results) if (r.deleted) await client.wait(r.kind as AnyChaos['kind'], r.name, { until: 'Deleted', namespace: r.namespace, timeoutMs: ms });
  }
  if (ctx.args.options.json === true) ctx.io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return 0;
}

function renderStates(states: readonly ChaosState[]): string {
  const rows = states.map((s) => [s.kind, `${s.namespace}/${s.name}`, describeChaosState(s)]);
  const header = ['KIND', 'NAME', 'STATE'];
  const widths = [0, 1].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`.trimEnd()).join('\n') + '\n';
}

function listPresets(ctx: CommandContext): number {
  if (ctx.args.options.json === true) {
    ctx.io.stdout.write(`${JSON.stringify(CHAOS_PRESETS.map(({ name, kind, description, params }) => ({ name, kind, description, params })), null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  for (const p of CHAOS_PRESETS) {
    out.push(`${ctx.out.bold(p.name)} (${p.kind})`, `  ${p.description}`);
    const params = Object.entries(p.params).map(([k, v]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} (default ${v})`);
    out.push(`  parameters: --namespace, --name${params.map((s) => `, ${s}`).join('')}`, '');
  }
  ctx.io.stdout.write(`${out.join('\n')}`);
  return 0;
}

async function runPreset(ctx: CommandContext, name: string): Promise<number> {
  const loaded = ctx.loadConfig();
  const namespace = str(ctx, 'namespace') ?? (loaded.config.kube.namespace || (await kubeconfigNamespace(ctx, loaded.config)));
  const params: ChaosPresetParams = {
    namespace,
    name: str(ctx, 'name'),
    duration: str(ctx, 'duration'),
    selector: labelMap('selector', str(ctx, 'selector')),
    targetSelector: labelMap('target-selector', str(ctx, 'target-selector')),
    node: str(ctx, 'node'),
    latency: str(ctx, 'latency'),
    jitter: str(ctx, 'jitter'),
  };
  const obj = buildChaosPreset(name, params);
  if (ctx.args.options['dry-run'] === true) return printYaml(ctx, [obj]);
  return withClient(ctx, loaded, (client) => applyAll(ctx, client, [obj]));
}

/** The kubeconfig's namespace, or `default` when there is no usable kubeconfig (a dry run needs no cluster). */
async function kubeconfigNamespace(ctx: CommandContext, config: Config): Promise<string> {
  const { loadKubeConfig } = await import('../../kube/load-kube-config.js');
  try {
    return loadKubeConfig({ kubeconfig: config.kube.kubeconfig || undefined, env: ctx.io.env as NodeJS.ProcessEnv }).namespace;
  } catch {
    return 'default';
  }
}
