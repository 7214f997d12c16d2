// A small cluster for the reconciler tests: the fake API server with ModelFleets (status + scale),
// Pods, Leases and Events, the RayCluster and LeaderWorkerSet CRDs (the real ones from the test data
// when present, else minimal ones), and stand-ins for the KubeRay and LWS controllers that create
// the pods of each backend object on a set of nodes (honouring the rendered node affinity) and mark
// them ready. The agents' node reports go through the real Registry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeApiServer, type FakeApiServer, type ResourceDefinition, type StoredObject, type StoreEvent } from '../../../mocks/kube-apiserver/index.js';
import { backendCrdFiles, FLEET_DEF, FLEETS, haveBackendCrds, LWSS, minimalBackendCrd, RAYS, testdataBackendCrd } from '../../../mocks/kube-apiserver/fleet-resources.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { compileCrd, type CompiledCrd } from '../../../src/kube/crd-schema.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { LABEL_FLEET, LABEL_REVISION } from '../../../src/coordinator/orchestrator/types.js';
import { repoRoot } from '../../helpers/repo.js';

export { FLEET_DEF, FLEETS, LWSS, RAYS };

export const NS = 'serving';
const TESTDATA = process.env.BRIXLET_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata');
export const CRD_DIR = join(TESTDATA, 'crds');
export const RAY_CRD_FILE = backendCrdFiles(TESTDATA).ray;
export const LWS_CRD_FILE = backendCrdFiles(TESTDATA).lws;
export const HAVE_TESTDATA_CRDS = haveBackendCrds(TESTDATA);
export const CRD_SKIP = HAVE_TESTDATA_CRDS ? '' : ` (schema check SKIPPED: ${CRD_DIR} not found; set BRIXLET_TESTDATA)`;

export const POD_DEF: ResourceDefinition = { version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, status: true };
export const EVENT_DEF: ResourceDefinition = { version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
export const EVENTS_V1_DEF: ResourceDefinition = { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
export const LEASE_DEF: ResourceDefinition = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };

/** The RayCluster CRD: the test data's (`real`, when present; slow to parse and compile) or a minimal one. */
export function rayCrd(real = false): StoredObject {
  return real && HAVE_TESTDATA_CRDS ? testdataBackendCrd('ray', TESTDATA) : minimalBackendCrd('ray');
}
export function lwsCrd(real = false): StoredObject {
  return real && HAVE_TESTDATA_CRDS ? testdataBackendCrd('lws', TESTDATA) : minimalBackendCrd('lws');
}

let rayValidator: CompiledCrd | undefined;
let lwsValidator: CompiledCrd | undefined;
/** Problems of a RayCluster / LWS against the test data's CRD ([] without test data). */
export function schemaProblems(obj: StoredObject): string[] {
  if (!HAVE_TESTDATA_CRDS) return [];
  if (obj.kind === 'RayCluster') return (rayValidator ??= compileCrd(readFileSync(RAY_CRD_FILE, 'utf8'))).validate(obj);
  return (lwsValidator ??= compileCrd(readFileSync(LWS_CRD_FILE, 'utf8'))).validate(obj);
}

export interface WorldOptions {
  /** Install the backend CRDs at start (default both). */
  readonly crds?: readonly ('ray' | 'lws')[];
  /** Install the test data's CRDs (schemas enforced by the reconciler's validation) rather than minimal ones. */
  readonly realCrds?: boolean;
  /** Node names pods are placed on, round robin (default n1..n8). */
  readonly nodes?: readonly string[];
  /** The registry's clock (agents' staleness), default Date.now. */
  readonly now?: () => number;
  /** Pods become ready this long after they are created (default 0: at once); negative = never by themselves. */
  readonly readyAfterMs?: number;
}

type Pod = StoredObject & { spec: { nodeName?: string; containers?: unknown[] }; status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: unknown[] } };

export interface FleetWorld {
  readonly server: FakeApiServer;
  readonly kube: KubeClient;
  readonly registry: Registry;
  readonly nodes: readonly string[];
  /** Every store event, oldest first. */
  readonly events: StoreEvent[];
  fleet(name: string): StoredObject | undefined;
  rayClusters(fleet?: string): StoredObject[];
  pods(filter?: (p: Pod) => boolean): Pod[];
  createFleet(name: string, spec: Record<string, unknown>): StoredObject;
  patchFleetSpec(name: string, spec: Record<string, unknown>): StoredObject;
  /** Marks a pod failed (its container exited with an error), as the kubelet would. */
  failPod(name: string): void;
  setPodReady(name: string, ready: boolean): void;
  /** Changes how soon new pods become ready (negative: never by themselves). */
  setReadyAfter(ms: number): void;
  /** An agent report for `node` with `gpus` GPUs, `bad` of them unhealthy. */
  report(node: string, gpus: number, bad?: number): void;
  /** Replicas whose pods are all there and ready (by the world's own count, for invariants). */
  readyReplicas(fleet: string, groupSize: number): number;
  /** Resolves once `check` holds (polled on every store event and every 20 ms); rejects after `ms`. */
  until(check: () => boolean, ms?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startFleetWorld(opts: WorldOptions = {}): Promise<FleetWorld> {
  const server = await startFakeApiServer({ resources: [FLEET_DEF, POD_DEF, EVENT_DEF, EVENTS_V1_DEF, LEASE_DEF], namespace: NS, historyLimit: 100_000 });
  for (const b of opts.crds ?? ['ray', 'lws']) server.installCrd(b === 'ray' ? rayCrd(opts.realCrds) : lwsCrd(opts.realCrds));
  const kube = createKubeClient({ kubeconfigText: server.kubeconfig() });
  const registry = new Registry({ sweepTimer: false, ...(opts.now !== undefined && { now: opts.now }) });
  const nodes = opts.nodes ?? ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'];
  let readyAfter = opts.readyAfterMs ?? 0;
  const events: StoreEvent[] = [];
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;
  let nodeTurn = 0;
  let closed = false;

  const later = (fn: () => void, ms = 0): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) fn();
    }, ms);
    timers.add(t);
  };
  const pickNode = (template: Record<string, unknown>): string => {
    const terms = (template as { spec?: { affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { key: string; operator: string; values: string[] }[] }[] } } } } }).spec?.affinity?.nodeAffinity
      ?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    const avoid = new Set((terms ?? []).flatMap((t) => (t.matchFields ?? []).filter((m) => m.operator === 'NotIn').flatMap((m) => m.values)));
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[(nodeTurn + i) % nodes.length] as string;
      if (!avoid.has(n)) {
        nodeTurn = (nodeTurn + i + 1) % nodes.length;
        return n;
      }
    }
    throw new Error('no node left to place a pod on');
  };
  const podStatus = (ready: boolean) => ({
    phase: 'Running',
    podIP: '127.0.0.1',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    containerStatuses: [{ name: 'engine', ready, restartCount: 0, state: { running: {} } }],
  });
  const makePod = (owner: StoredObject, name: string, template: Record<string, unknown>, labels: Record<string, string>): void => {
    const ns = owner.metadata.namespace ?? NS;
    const tmeta = (template.metadata ?? {}) as { labels?: Record<string, string> };
    const pod: Pod = {
      metadata: {
        name,
        namespace: ns,
        labels: { ...tmeta.labels, ...labels },
        ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true }],
      },
      spec: { nodeName: pickNode(template), containers: ((template.spec ?? {}) as { containers?: unknown[] }).containers ?? [] },
    };
    const created = server.store.create('pods', ns, pod) as Pod;
    const setReady = (): void => {
      const cur = server.store.get('pods', ns, name) as Pod | undefined;
      if (cur === undefined || cur.metadata.uid !== created.metadata.uid) return;
      server.store.update('pods', ns, name, { ...cur, status: podStatus(true) }, 'status');
    };
    // Listeners may have written the pod already (a test marking pods ready): start from what is stored.
    const stored = server.store.get('pods', ns, name) ?? created;
    if (stored.status === undefined) server.store.update('pods', ns, name, { ...stored, status: podStatus(false) }, 'status');
    if (readyAfter >= 0) later(setReady, readyAfter);
  };
  const rand = (): string => (seq++).toString(36).padStart(5, 'x');

  // KubeRay: a head and (workers) pods per RayCluster; GC removes them with it.
  const kuberay = (ev: StoreEvent): void => {
    if (ev.resource !== RAYS || ev.type !== 'ADDED') return;
    const rc = ev.object;
    const spec = rc.spec as { headGroupSpec: { template: Record<string, unknown> }; workerGroupSpecs?: { groupName: string; replicas: number; template: Record<string, unknown> }[] };
    const name = rc.metadata.name ?? '';
    later(() => {
      if (server.store.get(RAYS, rc.metadata.namespace, name)?.metadata.uid !== rc.metadata.uid) return;
      makePod(rc, `${name}-head-${rand()}`, spec.headGroupSpec.template, { 'ray.io/cluster': name, 'ray.io/node-type': 'head', 'ray.io/is-ray-node': 'yes' });
      for (const g of spec.workerGroupSpecs ?? []) {
        for (let i = 0; i < g.replicas; i++) makePod(rc, `${name}-${g.groupName}-worker-${rand()}`, g.template, { 'ray.io/cluster': name, 'ray.io/node-type': 'worker', 'ray.io/group': g.groupName });
      }
    });
  };
  // LWS: groups 0..replicas-1 of `size` pods; a template change recreates every group (one step).
  const lws = (ev: StoreEvent): void => {
    if (ev.resource !== LWSS || ev.type === 'DELETED') return;
    const obj = ev.object;
    later(() => {
      const cur = server.store.get(LWSS, obj.metadata.namespace, obj.metadata.name ?? '');
      if (cur === undefined || cur.metadata.resourceVersion !== obj.metadata.resourceVersion) return;
      const spec = cur.spec as { replicas: number; leaderWorkerTemplate: { size: number; leaderTemplate: Record<string, unknown>; workerTemplate: Record<string, unknown> } };
      const name = cur.metadata.name ?? '';
      const ns = cur.metadata.namespace ?? NS;
      const rev = (spec.leaderWorkerTemplate.leaderTemplate.metadata as { labels?: Record<string, string> }).labels?.[LABEL_REVISION];
      const mine = (server.store.list('pods', ns) as Pod[]).filter((p) => p.metadata.labels?.['leaderworkerset.sigs.k8s.io/name'] === name);
      for (const p of mine) {
        const g = Number(p.metadata.labels?.['leaderworkerset.sigs.k8s.io/group-index']);
        if (g >= spec.replicas || p.metadata.labels?.[LABEL_REVISION] !== rev) server.store.remove('pods', ns, p.metadata.name ?? '');
      }
      for (let g = 0; g < spec.replicas; g++) {
        for (let w = 0; w < spec.leaderWorkerTemplate.size; w++) {
          const podName = w === 0 ? `${name}-${g}` : `${name}-${g}-${w}`;
          if (server.store.get('pods', ns, podName) !== undefined) continue;
          const t = w === 0 ? spec.leaderWorkerTemplate.leaderTemplate : spec.leaderWorkerTemplate.workerTemplate;
          makePod(cur, podName, t, { 'leaderworkerset.sigs.k8s.io/name': name, 'leaderworkerset.sigs.k8s.io/group-index': String(g), 'leaderworkerset.sigs.k8s.io/worker-index': String(w) });
        }
      }
    });
  };
  const off = server.store.subscribe((ev) => {
    events.push(ev);
    kuberay(ev);
    lws(ev);
    for (const w of [...waiters]) w();
  });
  const poll = setInterval(() => {
    for (const w of [...waiters]) w();
  }, 20);

  const world: FleetWorld = {
    server,
    kube,
    registry,
    nodes,
    events,
    fleet: (name) => server.store.get(FLEETS, NS, name),
    rayClusters: (fleet) => server.store.list(RAYS, NS).filter((o) => fleet === undefined || o.metadata.labels?.[LABEL_FLEET] === fleet),
    pods: (filter) => (server.store.list('pods', NS) as Pod[]).filter((p) => filter?.(p) ?? true),
    createFleet: (name, spec) => server.store.create(FLEETS, NS, { apiVersion: 'brixlet.io/v1alpha1', kind: 'ModelFleet', metadata: { name, namespace: NS }, spec }),
    patchFleetSpec(name, patch) {
      const cur = server.store.get(FLEETS, NS, name);
      if (cur === undefined) throw new Error(`no fleet ${name}`);
      return server.store.update(FLEETS, NS, name, { ...cur, spec: { ...(cur.spec as object), ...patch } });
    },
    failPod(name) {
      const cur = server.store.get('pods', NS, name) as Pod | undefined;
      if (cur === undefined) throw new Error(`no pod ${name}`);
      server.store.update('pods', NS, name, {
        ...cur,
        status: {
          phase: 'Failed',
          podIP: '127.0.0.1',
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [{ name: 'engine', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }],
        },
      }, 'status');
    },
    setReadyAfter(ms) {
      readyAfter = ms;
    },
    setPodReady(name, ready) {
      const cur = server.store.get('pods', NS, name) as Pod | undefined;
      if (cur === undefined) throw new Error(`no pod ${name}`);
      server.store.update('pods', NS, name, { ...cur, status: podStatus(ready) }, 'status');
    },
    report(node, gpus, bad = 0) {
      registry.upsertNode({
        name: node,
        agentUrl: `http://${node}:9464`,
        version: '1',
        components: ['accel'],
        heartbeatMs: 60_000,
        accelerators: Array.from({ length: gpus }, (_, i) => ({
          vendor: 'nvidia' as const,
          index: i,
          uuid: `GPU-${node}-${i}`,
          name: 'NVIDIA H100 80GB HBM3',
          health: i < bad ? ('unhealthy' as const) : ('healthy' as const),
          reasons: i < bad ? ['XID 79: GPU has fallen off the bus'] : [],
        })),
      });
    },
    readyReplicas(fleet, groupSize) {
      const pods = world.pods((p) => p.metadata.labels?.[LABEL_FLEET] === fleet && p.metadata.deletionTimestamp === undefined);
      const byReplica = new Map<string, Pod[]>();
      for (const p of pods) {
        const key = p.metadata.labels?.['ray.io/cluster'] ?? `lws-${p.metadata.labels?.['leaderworkerset.sigs.k8s.io/group-index'] ?? ''}`;
        byReplica.set(key, [...(byReplica.get(key) ?? []), p]);
      }
      let n = 0;
      for (const group of byReplica.values()) {
        if (group.length === groupSize && group.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) n++;
      }
      return n;
    },
    until(check, ms = 15_000, what = 'condition') {
      return new Promise((resolve, reject) => {
        const done = (): void => {
          let ok = false;
          try {
            ok = check();
          } catch {
            ok = false;
          }
          if (!ok) return;
          waiters.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          reject(new Error(`timed out waiting for ${what}`));
        }, ms);
        waiters.add(done);
        done();
      });
    },
    async close() {
      closed = true;
      off();
      clearInterval(poll);
      for (const t of timers) clearTimeout(t);
      await kube.dispose();
      registry.dispose();
      await server.close();
    },
  };
  return world;
}
