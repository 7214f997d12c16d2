/**
 * `brixlet fleet render`: what a ModelFleet would create, offline. Each fleet is checked by
 * brixlet's own rules and by the shipped ModelFleet CRD; each rendered object by its backend's CRD
 * when one is at hand (--crd-dir or BRIXLET_CRD_DIR). Exit 0 = rendered, 1 = a rendered object
 * fails its CRD, 2 = bad input.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { BrixletError } from '../../common/errors.js';
import type { compileCrd as compileCrdType } from '../../kube/crd-schema.js';
import { resourceName, type KubeObject, type ResourceRef } from '../../kube/types.js';
import { fleetProblems } from '../../coordinator/orchestrator/fleet-spec.js';
import { renderFleet } from '../../coordinator/orchestrator/render.js';
import { FLEET_KIND, LWS_REF, RAYCLUSTER_REF } from '../../coordinator/orchestrator/types.js';
import { usage } from '../args.js';
import { type Command, type CommandContext, JSON_OPTION } from '../types.js';
import { DEFAULT_CONTROL_URL, FLEET_STATUS_OPTIONS, fleetStatus } from './fleet-status.js';

/** The ModelFleet CRD shipped in the package: <package root>/chart/crds (the same from src/ and dist/). */
export const FLEET_CRD_PATH = fileURLToPath(new URL('../../../chart/crds/brixlet.io_modelfleets.yaml', import.meta.url));

const SUBCOMMANDS = ['render', 'status'] as const;
const BACKEND_REFS: Record<string, ResourceRef> = { RayCluster: RAYCLUSTER_REF, LeaderWorkerSet: LWS_REF };

export const fleetCommand: Command = {
  name: 'fleet',
  summary: 'Render ModelFleets (multi-node models) to the RayClusters or LeaderWorkerSets they create; show their status',
  usage: 'brixlet fleet render -f FILE [-f FILE…] [--crd-dir DIR] [--json] | brixlet fleet status [NAME] [--namespace NS] [--control URL | --kubeconfig FILE] [--json]',
  description: [
    'A ModelFleet (brixlet.io/v1alpha1, CRD in chart/crds/) describes a model served across several',
    'nodes: model, image, tensorParallelSize × pipelineParallelSize = gpusPerNode × nodesPerReplica,',
    'replicas, and a backend: ray (one KubeRay RayCluster per replica, vLLM on Ray) or lws (one',
    'LeaderWorkerSet, vLLM multi-node without Ray). The coordinator\'s orchestrator keeps the cluster',
    'equal to what render prints; render needs no cluster.',
    '',
    'render reads each -f FILE (YAML, one or more documents), checks every ModelFleet by brixlet\'s',
    'rules and the shipped ModelFleet CRD (all problems at once, each naming its field), and prints the',
    'objects it would create as YAML documents (--json: a JSON array). RayCluster names end in a suffix',
    'that is stable here and random in the cluster.',
    '',
    'Each printed object is also validated against its backend\'s CRD when one is found in --crd-dir DIR',
    '(or BRIXLET_CRD_DIR): a file named like ray.io_rayclusters.yaml, or any YAML CRD of that kind. Get',
    'them from a cluster: kubectl get crd rayclusters.ray.io -o yaml > DIR/ray.io_rayclusters.yaml.',
    'Objects left unvalidated are listed on stderr.',
    '',
    'Examples of fleets: examples/fleets/ in the package (Llama 3.1 405B, DeepSeek-R1; both backends).',
    '',
    'status [NAME] shows the fleets the orchestrator reconciles: per fleet the backend, replicas desired,',
    'ready, updated and available, the current revision, the conditions (Available, Progressing,',
    'ReplicaFailure, Invalid) and per replica its revision, readiness, restarts, nodes and every reason',
    'it is not ready (pods missing or not ready, Ray nodes, engine /health, unhealthy GPUs). It asks the',
    `coordinator: GET /v1/orchestrator/fleets on --control URL (default ${DEFAULT_CONTROL_URL}, env`,
    'BRIXLET_CONTROL; from outside the cluster: kubectl port-forward svc/brixlet-coordinator 8081). The',
    'coordinator must run with --orchestrator.enabled. --kubeconfig FILE reads the ModelFleets from the',
    'API server instead (the status the leader wrote, no coordinator needed). --namespace NS keeps one',
    'namespace; --json prints the answer as it came (the fleets filtered by NAME and --namespace).',
    'Exit status: render: 0 rendered; 1 a rendered object fails its backend CRD; 2 bad flags or an invalid',
    'fleet. status: 0 shown; 1 the coordinator unreachable, without the orchestrator, or no fleet NAME.',
  ].join('\n'),
  examples: [
    'brixlet fleet render -f examples/fleets/llama-3.1-405b-ray.yaml',
    'brixlet fleet render -f fleet.yaml --crd-dir ./crds',
    'brixlet fleet render -f a.yaml -f b.yaml --json',
    'brixlet fleet status',
    'brixlet fleet status llama-405b --control http://brixlet-coordinator.brixlet:8081',
    'brixlet fleet status --kubeconfig ~/.kube/config --namespace llm --json',
  ],
  subcommands: [
    { name: 'render', summary: 'Validate ModelFleets and print the objects they create' },
    { name: 'status', summary: 'Fleets, replicas and why each is not ready, from the coordinator (or --kubeconfig)' },
  ],
  configSections: [],
  options: [
    { name: 'file', short: 'f', type: 'string', repeatable: true, valueName: 'FILE', description: 'ModelFleet manifest (YAML or JSON); repeatable.' },
    { name: 'crd-dir', type: 'string', valueName: 'DIR', description: 'Directory with backend CRDs to validate the output against (env BRIXLET_CRD_DIR).' },
    ...FLEET_STATUS_OPTIONS,
    JSON_OPTION,
  ],
  async run(ctx) {
    const [sub, ...rest] = ctx.args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw usage(`${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} for 'brixlet fleet'; valid: ${SUBCOMMANDS.join(', ')}`);
    }
    if (sub === 'status') {
      if (rest.length > 1) throw usage(`'brixlet fleet status' takes at most one fleet NAME, got '${rest.join(' ')}'`);
      return fleetStatus(ctx, rest[0]);
    }
    if (rest.length > 0) throw usage(`'brixlet fleet ${sub}' takes no arguments, got '${rest.join(' ')}'`);
    return render(ctx);
  },
};

interface Source {
  readonly file: string;
  readonly doc: number;
  readonly value: unknown;
}

function readSources(files: readonly string[]): Source[] {
  const out: Source[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw usage(`cannot read ${file}: ${(err as Error).message}`);
    }
    for (const [i, doc] of parseAllDocuments(text, { prettyErrors: false }).entries()) {
      const error = doc.errors[0];
      if (error) throw new BrixletError('BRX_ERR_FLEET_INVALID', { name: `${file} document ${i + 1}`, reason: `not valid YAML or JSON: ${error.message}` });
      const value: unknown = doc.toJS();
      if (value !== null && value !== undefined) out.push({ file, doc: i + 1, value });
    }
  }
  return out;
}

const where = (s: Source, total: number): string => (total > 1 ? `${s.file} document ${s.doc}` : s.file);

async function render(ctx: CommandContext): Promise<number> {
  const files = ctx.args.repeated?.file ?? [];
  if (files.length === 0) throw usage("'brixlet fleet render' needs -f FILE (a ModelFleet manifest; see examples/fleets/)");
  const sources = readSources(files);
  if (sources.length === 0) throw new BrixletError('BRX_ERR_FLEET_INVALID', { name: files.join(', '), reason: 'no objects in the file(s)' });
  const { compileCrd } = await import('../../kube/crd-schema.js');
  const fleetCrd = compileCrd(readFileSync(FLEET_CRD_PATH, 'utf8'));

  const problems: string[] = [];
  for (const s of sources) {
    const kind = (s.value as { kind?: unknown } | null)?.kind;
    if (kind !== FLEET_KIND) {
      problems.push(`${where(s, sources.length)}: kind ${JSON.stringify(kind)} is not ${FLEET_KIND}`);
      continue;
    }
    const own = fleetProblems(s.value);
    // brixlet's rules name fields better; the CRD's verdict is shown when they pass and it does not.
    const crd = own.length === 0 ? fleetCrd.validate(s.value).map((p) => `the ModelFleet CRD rejects ${p}`) : [];
    for (const p of [...own, ...crd]) problems.push(`${where(s, sources.length)}: ${p}`);
  }
  if (problems.length > 0) {
    throw new BrixletError('BRX_ERR_FLEET_INVALID', { name: files.join(', '), reason: `${problems.length} problem(s):\n  ${problems.join('\n  ')}` }, { details: problems });
  }

  const objects = sources.flatMap((s) => renderFleet(s.value));
  const crdDir = (typeof ctx.args.options['crd-dir'] === 'string' ? ctx.args.options['crd-dir'] : undefined) ?? ctx.io.env.BRIXLET_CRD_DIR;
  const invalid: string[] = [];
  const unvalidated = new Map<string, string[]>();
  const validators = new Map<string, ((o: unknown) => string[]) | undefined>();
  for (const o of objects) {
    const kind = o.kind ?? '';
    if (!validators.has(kind)) validators.set(kind, crdDir === undefined ? undefined : findValidator(crdDir, kind, compileCrd));
    const validate = validators.get(kind);
    const label = `${kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`;
    if (validate === undefined) unvalidated.set(kind, [...(unvalidated.get(kind) ?? []), label]);
    else for (const p of validate(o)) invalid.push(`${label}: ${p}`);
  }
  for (const [kind, labels] of unvalidated) {
    const ref = BACKEND_REFS[kind];
    const file = ref ? `${ref.group}_${ref.plural}.yaml` : `<group>_<plural>.yaml`;
    const dir = crdDir ?? 'DIR';
    ctx.io.stderr.write(
      `${ctx.err.cyan('not validated')} (no ${kind} CRD${crdDir === undefined ? '; pass --crd-dir DIR or set BRIXLET_CRD_DIR' : ` in ${crdDir}`}): ${labels.join(', ')}\n` +
        `  get it with: kubectl get crd ${ref ? resourceName(ref) : kind.toLowerCase()} -o yaml > ${join(dir, file)}\n`,
    );
  }
  if (invalid.length > 0) {
    throw new BrixletError('BRX_ERR_KUBE_INVALID', { detail: `${invalid.length} problem(s) against the backend CRDs in ${crdDir ?? ''}:\n  ${invalid.join('\n  ')}` }, { details: invalid });
  }
  if (ctx.args.options.json === true) ctx.io.stdout.write(`${JSON.stringify(objects, null, 2)}\n`);
  else ctx.io.stdout.write(objects.map((o: KubeObject) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'));
  return 0;
}

type Compile = typeof compileCrdType;

/** The validator of `kind` from DIR: `<group>_<plural>.yaml` first, else any YAML CRD of that kind. */
function findValidator(dir: string, kind: string, compileCrd: Compile): ((o: unknown) => string[]) | undefined {
  const ref = BACKEND_REFS[kind];
  const named = ref ? join(dir, `${ref.group}_${ref.plural}.yaml`) : undefined;
  const candidates = named !== undefined && existsSync(named) ? [named] : yamlFiles(dir);
  for (const path of candidates) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(path, 'utf8'));
    } catch {
      continue;
    }
    const spec = (doc as { kind?: unknown; spec?: { names?: { kind?: unknown }; group?: unknown } } | null)?.spec;
    if ((doc as { kind?: unknown } | null)?.kind !== 'CustomResourceDefinition' || spec?.names?.kind !== kind || (ref && spec.group !== ref.group)) continue;
    try {
      const compiled = compileCrd(doc as object, ref?.version);
      return (o) => compiled.validate(o);
    } catch (err) {
      throw usage(`${path} cannot validate ${kind}: ${(err as Error).message}`);
    }
  }
  return undefined;
}

function yamlFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
  } catch (err) {
    throw usage(`cannot read --crd-dir ${dir}: ${(err as Error).message}`);
  }
}
