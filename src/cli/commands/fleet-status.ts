/**
 * `brixlet fleet status [NAME]`: the ModelFleets as the orchestrator sees them. From the coordinator
 * (GET /v1/orchestrator/fleets on --control; the leader answers from its last reconcile, a follower
 * from the API server) or, with --kubeconfig, straight from the API server (the status the leader
 * wrote). Per fleet: backend, replicas desired / ready / updated, revision, conditions; per replica:
 * name, revision, ready, restarts, nodes, and why it is not ready.
 */
import { Value } from '@sinclair/typebox/value';
import { BrixletError } from '../../common/errors.js';
import { fleetViewOf, OrchestratorFleetsView, type OrchestratorView } from '../../coordinator/orchestrator/routes.js';
import type { FleetView } from '../../coordinator/orchestrator/reconciler.js';
import { FLEET_REF, type ModelFleet } from '../../coordinator/orchestrator/types.js';
import { stringOption, usage } from '../args.js';
import type { Style } from '../style.js';
import type { CommandContext, OptionSpec } from '../types.js';

/** The coordinator's control port on this machine (`brixlet up`, `kubectl port-forward svc/brixlet-coordinator 8081`). */
export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:8081';
const TIMEOUT_MS = 15_000;

export const FLEET_STATUS_OPTIONS: readonly OptionSpec[] = [
  { name: 'control', type: 'string', valueName: 'URL', description: `status: the coordinator control URL (default ${DEFAULT_CONTROL_URL}, env BRIXLET_CONTROL).` },
  { name: 'kubeconfig', type: 'string', valueName: 'FILE', description: 'status: read the fleets from the Kubernetes API with this kubeconfig instead of asking the coordinator.' },
  { name: 'namespace', short: 'n', type: 'string', valueName: 'NS', description: 'status: only fleets of this namespace (with --kubeconfig: default the kubeconfig\'s namespace).' },
];

/** One fleet to print: the coordinator's view, or a ModelFleet read from the API server. */
interface FleetRow extends FleetView {
  /** spec.replicas, when known (from the API server, or a coordinator that reports it). */
  readonly desiredReplicas?: number;
}

interface Snapshot {
  readonly source: string;
  readonly orchestrator?: OrchestratorView;
  readonly fleets: readonly FleetRow[];
}

export async function fleetStatus(ctx: CommandContext, name: string | undefined): Promise<number> {
  const kubeconfig = stringOption(ctx.args, 'kubeconfig');
  const control = stringOption(ctx.args, 'control');
  const namespace = stringOption(ctx.args, 'namespace');
  if (kubeconfig !== undefined && control !== undefined) throw usage('give either --control URL (ask the coordinator) or --kubeconfig FILE (read the API server), not both');
  const snap = kubeconfig !== undefined ? await fromApiServer(ctx, kubeconfig, namespace) : await fromCoordinator(control ?? ctx.io.env.BRIXLET_CONTROL ?? DEFAULT_CONTROL_URL);
  const fleets = snap.fleets.filter((f) => (namespace === undefined || f.namespace === namespace) && (name === undefined || f.name === name));
  if (name !== undefined && fleets.length === 0) {
    const others = snap.fleets.map((f) => `${f.namespace}/${f.name}`);
    throw new BrixletError('BRX_ERR_FLEET_NOT_FOUND', {
      name,
      where: `${namespace === undefined ? '' : `namespace ${namespace} of `}${snap.source}`,
      known: others.length === 0 ? 'none' : others.join(', '),
    });
  }
  if (ctx.args.options.json === true) {
    const body = snap.orchestrator !== undefined ? { ...snap.orchestrator, fleets } : { fleets };
    ctx.io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  ctx.io.stdout.write(formatStatus(snap, fleets, ctx.out));
  return 0;
}

async function fromCoordinator(control: string): Promise<Snapshot> {
  let url: URL;
  try {
    url = new URL('v1/orchestrator/fleets', control.endsWith('/') ? control : `${control}/`);
  } catch {
    throw usage(`--control must be a URL such as ${DEFAULT_CONTROL_URL}, got '${control}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`--control must be an http(s) URL, got '${control}'`);
  const unreachable = (reason: string, cause?: unknown) => new BrixletError('BRX_ERR_FLEET_COORDINATOR', { url: url.href, reason }, { cause });
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    throw unreachable(e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.cause?.message ?? e.message), err);
  }
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw unreachable(`HTTP ${res.status}, not JSON${text ? `: ${text.slice(0, 120)}` : ''}`);
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    // A coordinator without the orchestrator has no such route.
    if (res.status === 404 && err?.code === 'BRX_ERR_HTTP_NOT_FOUND') throw new BrixletError('BRX_ERR_FLEET_ORCHESTRATOR_OFF', { url: url.href });
    throw unreachable(`HTTP ${res.status}${err?.message ? `: ${err.message}` : ''}${err?.code ? ` [${err.code}]` : ''}`);
  }
  if (!Value.Check(OrchestratorFleetsView, body)) throw unreachable('the answer is not the orchestrator\'s fleet list (is this a brixlet coordinator of the same version?)');
  const view = body as OrchestratorView;
  return { source: `the coordinator at ${control}`, orchestrator: view, fleets: view.fleets as FleetRow[] };
}

async function fromApiServer(ctx: CommandContext, kubeconfig: string, namespace: string | undefined): Promise<Snapshot> {
  // The Kubernetes client library is large: loaded only when this path is taken.
  const { createKubeClient } = await import('../../kube/kube-client.js');
  const kube = createKubeClient({ kubeconfig, ...(namespace !== undefined && { namespace }), env: ctx.io.env as NodeJS.ProcessEnv });
  try {
    const list = await kube.customObjects<ModelFleet>(FLEET_REF).list({ namespace: kube.namespace });
    const fleets: FleetRow[] = list.items
      .map((f) => ({ ...fleetViewOf(f, kube.namespace), desiredReplicas: f.spec?.replicas ?? 1 }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { source: `the API server ${kube.server} (namespace ${kube.namespace})`, fleets };
  } finally {
    await kube.dispose();
  }
}

/** The human-readable report (exported for tests). */
export function formatStatus(snap: Snapshot, fleets: readonly FleetRow[], s: Style): string {
  const out: string[] = [];
  const o = snap.orchestrator;
  if (o !== undefined) {
    const leader = !o.leaderElection ? 'leader election off: this coordinator reconciles' : o.isLeader ? `leader ${o.identity} (this coordinator)` : `leader ${o.leader ?? 'unknown'}; this is ${o.identity}, a follower`;
    const crd = (b: 'ray' | 'lws') => `${b} ${o.backends[b].installed ? 'installed' : s.red(`missing (${o.backends[b].crd})`)}`;
    out.push(`${s.bold('orchestrator')} namespace ${o.namespace} · ${leader} · backends: ${crd('ray')}, ${crd('lws')}`);
  } else out.push(`${s.bold('fleets')} from ${snap.source} (status as the orchestrator leader last wrote it)`);
  if (fleets.length === 0) {
    out.push('no ModelFleets (kubectl apply -f one of examples/fleets/; brixlet fleet render -f FILE checks it first)');
    return `${out.join('\n')}\n`;
  }
  for (const f of fleets) {
    const st = f.status;
    const desired = f.desiredReplicas ?? desiredFromConditions(f);
    const gen = f.generation !== undefined ? ` · generation ${f.generation}${st.observedGeneration !== undefined && st.observedGeneration !== f.generation ? s.red(` (observed ${st.observedGeneration}: not reconciled yet)`) : ''}` : '';
    out.push('');
    out.push(`${s.bold(`${f.namespace}/${f.name}`)}  backend ${f.backend} · revision ${st.currentRevision ?? '-'}${gen}`);
    out.push(
      `  replicas: ${desired ?? '?'} desired · ${st.readyReplicas ?? 0} ready · ${st.updatedReplicas ?? 0} updated · ${st.availableReplicas ?? 0} available · ${st.replicas ?? 0} existing`,
    );
    const conditions = st.conditions ?? [];
    if (conditions.length > 0) {
      out.push('  conditions:');
      const w = Math.max(...conditions.map((c) => c.type.length));
      const r = Math.max(...conditions.map((c) => c.reason.length));
      for (const c of conditions) {
        const bad = (c.type === 'Available' && c.status !== 'True') || ((c.type === 'ReplicaFailure' || c.type === 'Invalid') && c.status === 'True');
        const status = bad ? s.red(c.status.padEnd(7)) : c.status.padEnd(7);
        out.push(`    ${c.type.padEnd(w)}  ${status} ${c.reason.padEnd(r)}  ${c.message}`);
      }
    }
    const replicas = st.replicaStatuses ?? [];
    if (replicas.length === 0) {
      out.push('  replicas: none yet');
      continue;
    }
    const nameW = Math.max(7, ...replicas.map((x) => x.name.length));
    const revW = Math.max(8, ...replicas.map((x) => x.revision.length));
    out.push(`  ${s.dim(`${'REPLICA'.padEnd(nameW)}  ${'REVISION'.padEnd(revW)}  READY  RESTARTS  NODES`)}`);
    for (const x of replicas) {
      const ready = x.ready ? s.green('yes'.padEnd(5)) : s.red('no'.padEnd(5));
      out.push(`  ${x.name.padEnd(nameW)}  ${x.revision.padEnd(revW)}  ${ready}  ${String(x.restarts).padEnd(8)}  ${(x.nodes ?? []).join(', ') || '-'}`);
      for (const reason of x.reasons ?? []) out.push(`    ${s.dim('·')} ${reason}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** The Available condition says "N of D replicas ready": D is spec.replicas when the view does not carry it. */
function desiredFromConditions(f: FleetRow): number | undefined {
  const m = /\bof (\d+) replicas\b/.exec(f.status.conditions?.find((c) => c.type === 'Available')?.message ?? '');
  return m ? Number(m[1]) : undefined;
}
