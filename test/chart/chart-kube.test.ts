// The chart's Kubernetes side, run here against the in-process fake API server (mocks/kube-apiserver):
// 1. Default auth (coordinator.control.auth=kubernetes): the rendered agent sends its projected
//    ServiceAccount token (audience brixlet), the rendered coordinator checks it with a TokenReview
//    and takes the node from the token's pod. Tokens of another ServiceAccount or audience are refused.
// 2. The RBAC the chart renders is enough, in practice: the coordinator rendered from
//    chart/ci/full-values.yaml runs every Kubernetes feature against objects that make it call the
//    API, and each request it made is checked against the rendered Roles/ClusterRoles bound to its
//    ServiceAccount (a small RBAC evaluator below; the fake server itself does no authorization).
// The chart renders no kubeconfig: in a pod the coordinator uses the in-cluster service account. Here
// KUBECONFIG (pointing at the fake server) stands in for it; every other flag is the rendered one.
// Needs the pinned helm and the built CLI (dist/); part 2 also the RayCluster CRD from the test data.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type FakeApiServer, type RecordedRequest, type ResourceDefinition, type StoredObject, startFakeApiServer } from '../../mocks/kube-apiserver/index.js';
import { freePort } from '../helpers/ports.js';
import { type Container, exited, killAll, localPodValues, type Obj, podOf, podRunner, renderChart, root, type Started, why } from './chart-pod.js';

const NS = 'brx';
const NODE = 'gpu-node-1';
const AUDIENCE = 'brixlet';
const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';
const TESTDATA = process.env.BRIXLET_TESTDATA ?? join(root, '..', 'shared', 'testdata');
const RAY_CRD = join(TESTDATA, 'crds', 'ray.io_rayclusters.yaml');
const LWS_CRD = join(TESTDATA, 'crds', 'leaderworkerset.x-k8s.io_leaderworkersets.yaml');
const rbacWhy = why !== '' ? why : [RAY_CRD, LWS_CRD].filter((f) => !existsSync(f)).map((f) => `${f} not found (set BRIXLET_TESTDATA)`).join('; ');
if (why !== '') console.warn(`chart kube test skipped: ${why}`);
else if (rbacWhy !== '') console.warn(`chart RBAC-in-practice test skipped: ${rbacWhy}`);

const POD_DEF: ResourceDefinition = { version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, status: true };
const NODE_DEF: ResourceDefinition = { version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, status: true };
const EVENT_DEF: ResourceDefinition = { version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
const EVENTS_V1_DEF: ResourceDefinition = { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
const LEASE_DEF: ResourceDefinition = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };
const DEPLOYMENT_DEF: ResourceDefinition = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
  status: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
};

const scratch = mkdtempSync(join(tmpdir(), 'brixlet-chart-kube-'));
const shm = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-chart-kube-'));
const children: ChildProcess[] = [];
const servers: FakeApiServer[] = [];
afterAll(async () => {
  killAll(children);
  await Promise.all(servers.map((s) => s.close()));
  rmSync(scratch, { recursive: true, force: true });
  rmSync(shm, { recursive: true, force: true });
});

/** A fake API server with a pod of the agent DaemonSet on NODE, and tokens the server reviews. */
async function cluster(resources: ResourceDefinition[]): Promise<{ server: FakeApiServer; kubeconfig: string; agentPod: StoredObject }> {
  const server = await startFakeApiServer({ resources, namespace: NS, historyLimit: 100_000 });
  servers.push(server);
  const kubeconfig = join(mkdtempSync(join(scratch, 'kube-')), 'config');
  writeFileSync(kubeconfig, server.kubeconfig());
  const agentPod = server.store.create('pods', NS, { metadata: { name: 'r-brixlet-agent-x7k2p', namespace: NS, labels: { 'app.kubernetes.io/component': 'agent' } }, spec: { nodeName: NODE, serviceAccountName: 'r-brixlet-agent', containers: [] } });
  return { server, kubeconfig, agentPod };
}

/** What a projected token of `sa`, bound to `pod`, reviews as. */
const boundTo = (sa: string, pod: StoredObject, audiences = [AUDIENCE]) => ({
  username: `system:serviceaccount:${NS}:${sa}`,
  uid: `uid-of-${sa}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
  extra: { [POD_NAME]: [pod.metadata.name as string], [POD_UID]: [pod.metadata.uid as string] },
  audiences,
});

interface Pods {
  objects: Obj[];
  coordinator: Container;
  agent: Container;
  controlPort: number;
  agentPort: number;
  /** Where the agent's projected token (/var/run/secrets/brixlet/token) is, here. */
  tokenFile: string;
  start(c: Container, extraEnv?: Record<string, string>): Started;
}

/** Renders the chart, runs the coordinator's init containers and maps the pod paths to a fresh scratch dir. */
async function renderPods(name: string, args: string[]): Promise<Pods> {
  const dir = join(scratch, name);
  const [agentPort, controlPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const values = localPodValues(join(dir, 'run'), join(shm, name), { agentPort, controlPort, gatewayPort }).flatMap((v) => ['--set', v]);
  const objects = await renderChart(NS, [...args, ...values], join(scratch, 'helm-home'));
  const paths: [string, string][] = [
    ['/var/run/brixlet-secrets', join(dir, 'secrets')],
    ['/var/run/brixlet-scratch', join(dir, 'init-scratch')],
    ['/var/run/secrets/brixlet', join(dir, 'projected')],
    [`r-brixlet-coordinator.${NS}.svc`, '127.0.0.1'],
  ];
  for (const [, d] of paths.slice(0, 3)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dir, 'run'), { mode: 0o755 });
  const runner = podRunner({ objects, node: NODE, paths, home: dir, children });
  const coordinatorPod = podOf(objects, 'Deployment', 'r-brixlet-coordinator');
  const agentPod = podOf(objects, 'DaemonSet', 'r-brixlet-agent');
  for (const c of coordinatorPod.initContainers ?? []) await runner.runInit(c);
  // host-dirs chowns the hostPath dirs to the agent's uid as root (chart-run.test.ts runs it); the others write Secrets to files.
  for (const c of agentPod.initContainers ?? []) if (c.name !== 'host-dirs') await runner.runInit(c);
  const agent = agentPod.containers[0] as Container;
  const tokenArg = agent.args?.find((a) => a.startsWith('--agent.service-account-token-file='));
  expect(tokenArg, 'the agent reads its projected ServiceAccount token').toBe('--agent.service-account-token-file=/var/run/secrets/brixlet/token');
  return { objects, coordinator: coordinatorPod.containers[0] as Container, agent, controlPort, agentPort, tokenFile: join(dir, 'projected', 'token'), start: runner.start };
}

async function nodesOf(controlPort: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${controlPort}/v1/nodes`).catch(() => undefined);
  const body = res?.ok ? ((await res.json()) as { nodes: { name: string }[] }) : { nodes: [] };
  return body.nodes.map((n) => n.name);
}
const alive = (...ps: Started[]) => {
  for (const p of ps) if (p.proc.exitCode !== null) throw new Error(`a process exited:\n${ps.map((x) => x.log()).join('\n')}`);
};

describe.skipIf(why !== '')('default auth: projected ServiceAccount token, TokenReview', () => {
  it('the agent registers with its own token; another ServiceAccount\'s or audience\'s token is refused', async () => {
    const { server, kubeconfig, agentPod } = await cluster([POD_DEF]);
    const pods = await renderPods('auth', ['--set', 'agent.accel.backend=sim:healthy-8x-h100']);
    expect(pods.coordinator.args).toContain('--control.auth=kubernetes');
    expect(pods.coordinator.args).toContain(`--control.token-audience=${AUDIENCE}`);
    const agentSa = podOf(pods.objects, 'DaemonSet', 'r-brixlet-agent').serviceAccountName as string;
    expect(agentSa).toBe('r-brixlet-agent');
    const projected = (pods.objects.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: { volumes: { name: string; projected?: { sources: { serviceAccountToken?: { audience: string } }[] } }[] } } } }).spec.template.spec.volumes.find((v) => v.name === 'coordinator-token');
    expect(projected?.projected?.sources[0]?.serviceAccountToken?.audience).toBe(AUDIENCE);
    server.addTokenReview('agent-token', boundTo(agentSa, agentPod));
    server.addTokenReview('other-sa-token', boundTo('r-brixlet-coordinator', agentPod));
    server.addTokenReview('api-audience-token', boundTo(agentSa, agentPod, ['https://kubernetes.default.svc']));

    const coordinator = pods.start(pods.coordinator, { KUBECONFIG: kubeconfig });
    writeFileSync(pods.tokenFile, 'other-sa-token', { mode: 0o600 });
    const agent = pods.start(pods.agent);
    // The agent is refused (403: not an agent ServiceAccount) and says so.
    await expect.poll(() => (alive(coordinator, agent), agent.log()), { timeout: 20_000, interval: 200 }).toMatch(/HTTP 403/);
    const put = (token: string) => fetch(`http://127.0.0.1:${pods.controlPort}/v1/nodes/${NODE}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect((await put('other-sa-token')).status).toBe(403);
    // A token for the API server's audience (not brixlet) is not authenticated: 401.
    expect((await put('api-audience-token')).status).toBe(401);
    expect((await put('not-a-token')).status).toBe(401);
    // Refusals come from TokenReviews (the fake server answers them for the review's spec.audiences:
    // the API-audience token failing shows the coordinator asked for audience brixlet). Refusals are
    // not cached, so each report the agent sends with the API-audience token is reviewed again.
    const reviews = () => server.requests.filter((r) => r.method === 'POST' && r.path === '/apis/authentication.k8s.io/v1/tokenreviews').length;
    writeFileSync(pods.tokenFile, 'api-audience-token');
    const before = reviews();
    await expect.poll(() => (alive(coordinator, agent), reviews()), { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(before + 2);
    expect(await nodesOf(pods.controlPort)).toEqual([]);

    // The kubelet rotates the projected token: the file now holds the agent's own, and the node registers.
    // The node comes from the token's bound pod (GET pods/NAME, uid checked), not from the report.
    writeFileSync(pods.tokenFile, 'agent-token');
    await expect.poll(async () => (alive(coordinator, agent), await nodesOf(pods.controlPort)), { timeout: 30_000, interval: 200 }).toEqual([NODE]);
    expect(server.requests.some((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/pods/${agentPod.metadata.name}`)).toBe(true);
    agent.proc.kill('SIGTERM');
    coordinator.proc.kill('SIGTERM');
    expect([await exited(agent.proc), await exited(coordinator.proc)], `${coordinator.log()}\n${agent.log()}`).toEqual([0, 0]);
  }, 60_000);
});

// --- RBAC ---------------------------------------------------------------------------------------

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface RbacObj {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}
/** A rule granted to the subject, with where it applies (undefined: everywhere, via a ClusterRoleBinding). */
interface Grant {
  readonly rule: Rule;
  readonly namespace: string | undefined;
  /** `Role ns/name #i` for reports. */
  readonly from: string;
}
/** One API request as RBAC sees it. */
interface Attributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** The RBAC attributes of a resource request, or undefined for non-resource paths (discovery, /version). */
function requestAttributes(r: Pick<RecordedRequest, 'method' | 'path' | 'query'>): Attributes | undefined {
  const segs = r.path.split('/').filter((s) => s !== '');
  let rest: string[];
  let apiGroup: string;
  if (segs[0] === 'api' && segs.length >= 3) [apiGroup, rest] = ['', segs.slice(2)];
  else if (segs[0] === 'apis' && segs.length >= 4) [apiGroup, rest] = [segs[1] as string, segs.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [rest[1], rest.slice(2)];
  const [resource = '', name, subresource = ''] = rest;
  const query = new URLSearchParams(r.query.replace(/^\?/, ''));
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  const verb =
    r.method === 'GET' ? (name !== undefined ? 'get' : watch ? 'watch' : 'list') : r.method === 'POST' ? 'create' : r.method === 'PUT' ? 'update' : r.method === 'PATCH' ? 'patch' : r.method === 'DELETE' ? (name !== undefined ? 'delete' : 'deletecollection') : r.method.toLowerCase();
  return { verb, apiGroup, resource, subresource, namespace, name };
}

/** Whether a rule allows a request, as Kubernetes' RBAC authorizer decides it. */
function ruleAllows(rule: Rule, a: Attributes): boolean {
  const has = (list: string[] | undefined, v: string) => (list ?? []).includes('*') || (list ?? []).includes(v);
  const full = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  const resourceOk = (rule.resources ?? []).some((res) => res === '*' || res === full || (a.subresource !== '' && res === `*/${a.subresource}`) || (a.subresource !== '' && res === `${a.resource}/*`));
  const nameOk = (rule.resourceNames ?? []).length === 0 || (a.name !== undefined && (rule.resourceNames ?? []).includes(a.name));
  return has(rule.verbs, a.verb) && has(rule.apiGroups, a.apiGroup) && resourceOk && nameOk;
}

/** The rules bound to a ServiceAccount by the rendered RoleBindings and ClusterRoleBindings. */
function grantsOf(objects: readonly RbacObj[], sa: { name: string; namespace: string }): Grant[] {
  const role = (kind: string, name: string, ns?: string) => objects.find((o) => o.kind === kind && o.metadata.name === name && (kind === 'ClusterRole' || o.metadata.namespace === ns));
  const out: Grant[] = [];
  for (const b of objects) {
    if (b.kind !== 'RoleBinding' && b.kind !== 'ClusterRoleBinding') continue;
    if (!(b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace)) continue;
    const ref = b.roleRef as { kind: string; name: string };
    const r = role(ref.kind, ref.name, b.metadata.namespace);
    if (r === undefined) throw new Error(`${b.kind} ${b.metadata.name} refers to ${ref.kind} ${ref.name}, which the chart does not render`);
    // A ClusterRole bound by a RoleBinding applies in that binding's namespace only.
    const namespace = b.kind === 'ClusterRoleBinding' ? undefined : b.metadata.namespace;
    (r.rules ?? []).forEach((rule, i) => out.push({ rule, namespace, from: `${r.kind} ${r.metadata.namespace ? `${r.metadata.namespace}/` : ''}${r.metadata.name} #${i}` }));
  }
  return out;
}

/** The grants that allow a request (none: it would be 403 Forbidden). */
function allowing(grants: readonly Grant[], a: Attributes): Grant[] {
  return grants.filter((g) => (g.namespace === undefined || g.namespace === a.namespace) && ruleAllows(g.rule, a));
}

const show = (a: Attributes) => `${a.verb} ${a.apiGroup || 'core'}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}${a.name ? ` (${a.name})` : ''}`;

describe('the RBAC matcher', () => {
  it('maps request paths to RBAC attributes and applies apiGroups, resources, subresources, verbs, names and scope', () => {
    expect(requestAttributes({ method: 'GET', path: '/api/v1/namespaces/a/pods', query: '?watch=true&labelSelector=x' })).toEqual({ verb: 'watch', apiGroup: '', resource: 'pods', subresource: '', namespace: 'a', name: undefined });
    expect(requestAttributes({ method: 'PATCH', path: '/apis/apps/v1/namespaces/a/deployments/d/scale', query: '' })).toEqual({ verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'a', name: 'd' });
    expect(requestAttributes({ method: 'GET', path: '/api/v1/nodes', query: '' })?.verb).toBe('list');
    expect(requestAttributes({ method: 'GET', path: '/apis', query: '' })).toBeUndefined();
    const a = requestAttributes({ method: 'PATCH', path: '/api/v1/nodes/n/status', query: '' }) as Attributes;
    expect(ruleAllows({ apiGroups: [''], resources: ['nodes'], verbs: ['patch'] }, a)).toBe(false);
    expect(ruleAllows({ apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] }, a)).toBe(true);
    expect(ruleAllows({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, a)).toBe(true);
    expect(ruleAllows({ apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'], resourceNames: ['m'] }, a)).toBe(false);
    const objs: RbacObj[] = [
      { kind: 'ClusterRole', metadata: { name: 'c' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
      { kind: 'RoleBinding', metadata: { name: 'b', namespace: 'x' }, roleRef: { kind: 'ClusterRole', name: 'c' }, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'home' }] },
    ];
    const grants = grantsOf(objs, { name: 'sa', namespace: 'home' });
    const get = (ns: string) => requestAttributes({ method: 'GET', path: `/api/v1/namespaces/${ns}/pods/p`, query: '' }) as Attributes;
    expect(allowing(grants, get('x'))).toHaveLength(1);
    expect(allowing(grants, get('y'))).toHaveLength(0);
    expect(grantsOf(objs, { name: 'sa', namespace: 'other' })).toHaveLength(0);
  });
});

describe.skipIf(rbacWhy !== '')('RBAC in practice: every request of the full-values coordinator is allowed', () => {
  it('orchestrator, node conditions, optimizer scale + deployment selector, engine selector and kubernetes auth', async () => {
    const { server, kubeconfig, agentPod } = await cluster([POD_DEF, NODE_DEF, EVENT_DEF, EVENTS_V1_DEF, LEASE_DEF, DEPLOYMENT_DEF]);
    server.installCrd(readFileSync(join(root, 'chart', 'crds', 'brixlet.io_modelfleets.yaml'), 'utf8'));
    server.installCrd(readFileSync(RAY_CRD, 'utf8'));
    server.installCrd(readFileSync(LWS_CRD, 'utf8'));
    const KNS = 'llm'; // coordinator.kubeNamespace in full-values.yaml (also the orchestrator's namespace)

    // The optimizer plans a Deployment from a profile; the chart mounts profiles with extraVolumes, here a path.
    const profile = join(scratch, 'a10.json');
    writeFileSync(profile, JSON.stringify({ gpu: 'a10', cost: 0.3, tputs: [[10, 2], [3, 0.5]], indexes: [[8, 128], [256, 2048]] }));
    const overrides = join(scratch, 'rbac-values.yaml');
    // Agent-only values the test cannot run here (NVML, driver mounts, a KV group, the fault token)
    // are turned off; the coordinator keeps full-values.yaml, plus its profiles and a short re-plan interval.
    writeFileSync(
      overrides,
      JSON.stringify({
        agent: { accel: { backend: 'sim:ecc-dbe-xid48', expectedCount: 0 }, kv: { group: '', allowUids: '' }, faults: { enabled: false } },
        coordinator: { optimizer: { profiles: `llama=${profile}` }, extraArgs: ['--gateway.retries=2', '--optimizer.interval=1s'] },
      }),
    );
    const pods = await renderPods('rbac', ['-f', join(root, 'chart', 'ci', 'full-values.yaml'), '-f', overrides, '--api-versions', 'monitoring.coreos.com/v1']);
    const coordinatorSa = { name: podOf(pods.objects, 'Deployment', 'r-brixlet-coordinator').serviceAccountName as string, namespace: NS };
    const agentSa = podOf(pods.objects, 'DaemonSet', 'r-brixlet-agent').serviceAccountName as string;
    server.addTokenReview('agent-token', boundTo(agentSa, agentPod));
    writeFileSync(pods.tokenFile, 'agent-token', { mode: 0o600 });

    // Objects that make each feature call the API.
    server.store.create('nodes', undefined, { metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const engine = server.store.create('pods', KNS, { metadata: { name: 'vllm-0', namespace: KNS, labels: { app: 'vllm' } }, spec: { nodeName: NODE, containers: [{ name: 'vllm' }] } });
    server.store.update('pods', KNS, 'vllm-0', { ...engine, status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } }, 'status');
    server.store.create('deployments.apps', KNS, {
      metadata: { name: 'llama-a10', namespace: KNS, labels: { 'model.aibrix.ai/name': 'llama', 'model.aibrix.ai/min_replicas': '1', 'brixlet.io/gpu-type': 'a10' } },
      spec: { replicas: 0, selector: { matchLabels: { app: 'llama-a10' } }, template: { metadata: { labels: { app: 'llama-a10' } }, spec: { containers: [{ name: 'vllm' }] } } },
    });
    // The example fleets, one per backend, in the orchestrator's namespace.
    for (const file of ['llama-3.1-405b-ray.yaml', 'llama-3.1-405b-lws.yaml']) {
      const fleet = parse(readFileSync(join(root, 'examples', 'fleets', file), 'utf8')) as StoredObject;
      server.store.create('modelfleets.brixlet.io', KNS, { ...fleet, metadata: { ...fleet.metadata, namespace: KNS } });
    }

    const coordinator = pods.start(pods.coordinator, { KUBECONFIG: kubeconfig });
    const agent = pods.start(pods.agent);
    const seen = new Set<RecordedRequest>();
    const collect = () => {
      for (const r of server.requests) seen.add(r);
      return [...seen].map((r) => ({ r, a: requestAttributes(r) }));
    };
    // What each feature must have asked the API server before the requests are judged.
    const expected: [string, (a: Attributes) => boolean][] = [
      ['kubernetes auth: TokenReview', (a) => a.verb === 'create' && a.resource === 'tokenreviews'],
      ['kubernetes auth: the token\'s pod', (a) => a.verb === 'get' && a.resource === 'pods' && a.namespace === NS],
      ['node conditions: the taint', (a) => a.verb === 'patch' && a.resource === 'nodes' && a.subresource === ''],
      ['node conditions: the condition', (a) => a.verb === 'patch' && a.resource === 'nodes' && a.subresource === 'status'],
      ['engine selector: pods watched', (a) => a.verb === 'watch' && a.resource === 'pods' && a.namespace === KNS],
      ['deployment selector: deployments watched', (a) => a.verb === 'watch' && a.resource === 'deployments'],
      ['optimizer scale: read', (a) => a.verb === 'get' && a.subresource === 'scale'],
      ['optimizer scale: write', (a) => a.verb === 'patch' && a.subresource === 'scale'],
      ['orchestrator: backend CRDs', (a) => a.resource === 'customresourcedefinitions'],
      ['orchestrator: fleets watched', (a) => a.verb === 'watch' && a.resource === 'modelfleets'],
      ['orchestrator: fleet status', (a) => a.resource === 'modelfleets' && a.subresource === 'status' && (a.verb === 'patch' || a.verb === 'update')],
      ['orchestrator: RayCluster created', (a) => a.verb === 'create' && a.resource === 'rayclusters'],
      ['orchestrator: LeaderWorkerSet created', (a) => a.verb === 'create' && a.resource === 'leaderworkersets'],
      ['orchestrator: an edited LeaderWorkerSet put back', (a) => a.verb === 'update' && a.resource === 'leaderworkersets'],
      ['orchestrator: RayCluster deleted on scale-down', (a) => a.verb === 'delete' && a.resource === 'rayclusters'],
      ['orchestrator: leader Lease', (a) => a.resource === 'leases'],
      ['orchestrator: an edited RayCluster put back', (a) => a.verb === 'update' && a.resource === 'rayclusters'],
      ['orchestrator: its Warning event', (a) => a.resource === 'events' && a.verb === 'create'],
      ['orchestrator: the event repeated', (a) => a.resource === 'events' && a.verb === 'patch'],
    ];
    // Hand edits of the backend objects: the orchestrator puts each back and records a BackendEdited
    // event (the RayCluster twice: the repeat is counted on the same event). Then the ray fleet is
    // scaled to 0 and its RayCluster deleted.
    let rayEdits = 0;
    let lwsEdited = false;
    let scaledDown = false;
    type Backend = StoredObject & { spec: Record<string, unknown> };
    const drive = () => {
      const ray = server.store.list('rayclusters.ray.io', KNS)[0] as Backend | undefined;
      if (ray !== undefined && ray.spec.rayVersion !== 'edited-by-hand') {
        if (rayEdits < 2) {
          rayEdits++;
          server.store.update('rayclusters.ray.io', KNS, ray.metadata.name as string, { ...ray, spec: { ...ray.spec, rayVersion: 'edited-by-hand' } }, 'main');
        } else if (!scaledDown) {
          scaledDown = true;
          const fleet = server.store.get('modelfleets.brixlet.io', KNS, 'llama-405b') as Backend;
          server.store.update('modelfleets.brixlet.io', KNS, 'llama-405b', { ...fleet, spec: { ...fleet.spec, replicas: 0 } }, 'main');
        }
      }
      const lws = server.store.list('leaderworkersets.leaderworkerset.x-k8s.io', KNS)[0] as Backend | undefined;
      if (lws !== undefined && !lwsEdited) {
        lwsEdited = true;
        server.store.update('leaderworkersets.leaderworkerset.x-k8s.io', KNS, lws.metadata.name as string, { ...lws, spec: { ...lws.spec, replicas: 5 } }, 'main');
      }
    };
    const missing = () => {
      drive();
      const all = collect();
      return expected.filter(([, f]) => !all.some(({ a }) => a !== undefined && f(a))).map(([what]) => what);
    };
    try {
      await expect.poll(() => (alive(coordinator, agent), missing()), { timeout: 20_000, interval: 250 }).toEqual([]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ncoordinator log:\n${coordinator.log().slice(-6000)}`);
    }
    expect(await nodesOf(pods.controlPort)).toEqual([NODE]);
    const stored = server.store.get('nodes', undefined, NODE) as unknown as { spec: { taints?: { key: string }[] }; status: { conditions: { type: string; status: string }[] } };
    expect(stored.spec.taints?.map((t) => t.key)).toContain('brixlet.io/accelerator-unhealthy');
    expect(stored.status.conditions.find((c) => c.type === 'BrixletAcceleratorHealthy')?.status).toBe('False');
    agent.proc.kill('SIGTERM');
    coordinator.proc.kill('SIGTERM');
    await Promise.all([exited(agent.proc), exited(coordinator.proc)]);

    // Judge every request against the rules bound to the coordinator's ServiceAccount.
    const grants = grantsOf(pods.objects as unknown as RbacObj[], coordinatorSa);
    const used = new Map<Grant, Set<string>>(grants.map((g) => [g, new Set()]));
    const denied: string[] = [];
    const nonResource = new Set<string>();
    for (const { r, a } of collect()) {
      if (a === undefined) {
        // Discovery and /version: granted to every authenticated user by the default system:discovery ClusterRole.
        nonResource.add(`${r.method} ${r.path}`);
        continue;
      }
      const by = allowing(grants, a);
      if (by.length === 0) denied.push(show(a));
      for (const g of by) used.get(g)?.add(a.verb);
    }
    expect([...new Set(denied)], 'requests the rendered RBAC would refuse (403)').toEqual([]);
    for (const p of nonResource) expect(p).toMatch(/^GET \/(api|apis|version|openapi)(\/|$)/);

    // Least privilege: every verb the chart grants was used by some request of this run (the run
    // drives each feature's calls; a verb no feature calls would be an excess grant). Asserted rather
    // than printed, so a grant added without a caller, or a caller that stops needing one, shows here.
    const unused: string[] = [];
    for (const [g, verbs] of used) {
      const idle = g.rule.verbs.filter((v) => !verbs.has(v));
      if (idle.length > 0) unused.push(`${g.from} ${(g.rule.apiGroups ?? []).join(',') || 'core'}/${(g.rule.resources ?? []).join(',')}: ${idle.join(',')}`);
    }
    expect(unused, 'granted but never used').toEqual([]);
  }, 60_000);
});
