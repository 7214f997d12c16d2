/**
 * The cluster bench:orchestrator runs against: the in-process fake API server (HTTPS) with
 * ModelFleets, Pods and the RayCluster / LeaderWorkerSet CRDs (the test data's, schema-checked by
 * the reconciler, when present), stand-ins for KubeRay and LWS that give each backend object its
 * pods (Running and Ready at once, written straight into the store), and a tracker that timestamps
 * store events as they happen, so a latency runs from the server storing the fleet write to the
 * server storing the reconciler's resulting write.
 */
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { startFakeApiServer, type FakeApiServer, type ResourceDefinition, type StoredObject, type StoreEvent } from '../../mocks/kube-apiserver/index.js';
import { FLEET_DEF, FLEETS, haveBackendCrds, LWSS, minimalBackendCrd, RAYS, testdataBackendCrd } from '../../mocks/kube-apiserver/fleet-resources.js';
import type { BackendPresence } from '../../src/coordinator/orchestrator/reconciler.js';
import { LABEL_FLEET, LABEL_REVISION } from '../../src/coordinator/orchestrator/types.js';
import type { FleetBackend } from '../../src/coordinator/orchestrator/types.js';
import { compileCrd } from '../../src/kube/crd-schema.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';

export { FLEETS, LWSS, RAYS };
export const NS = 'serving';

// No status subresource: the stand-ins write Running pods in one create.
const POD_DEF: ResourceDefinition = { version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };

const TESTDATA = process.env.BRIXLET_TESTDATA ?? join(process.cwd(), '..', 'shared', 'testdata');
export const REAL_CRDS = haveBackendCrds(TESTDATA);

const crd = (b: FleetBackend): StoredObject => (REAL_CRDS ? testdataBackendCrd(b, TESTDATA) : minimalBackendCrd(b));
const validators = new Map<FleetBackend, (obj: unknown) => string[]>();

/** Both CRDs installed; the validators of the real schemas (none with the minimal CRDs). */
export const presence: BackendPresence = {
  installed: () => true,
  validator(b) {
    if (!REAL_CRDS) return undefined;
    let v = validators.get(b);
    if (v === undefined) {
      const compiled = compileCrd(crd(b));
      v = (o) => compiled.validate(o);
      validators.set(b, v);
    }
    return v;
  },
  onChange: () => () => undefined,
};

type Pod = StoredObject & { spec: { nodeName: string }; status: Record<string, unknown> };

/** A watcher for one fleet's outcome: `start` when the fleet write is stored, `done` when `check` first holds. */
interface Waiter {
  readonly fleet: string;
  /** Generation of the fleet write that starts the clock. */
  readonly generation: number;
  readonly check: () => boolean;
  start?: number;
  resolve(ms: number): void;
}

export interface BenchCluster {
  readonly server: FakeApiServer;
  /** A client playing the user (kubectl): fleet writes go through the API. */
  readonly user: KubeClient;
  /** Live (not terminating) backend objects of a fleet. */
  objects(backend: FleetBackend, fleet: string): StoredObject[];
  /** Live backend objects of every fleet. */
  objectCount(backend: FleetBackend): number;
  /** Backend-object writes (creates, updates, deletes) stored since the cluster started. */
  readonly backendWrites: number;
  /**
   * Resolves with the milliseconds from the server storing generation `generation` of `fleet` to the
   * first store event after which `check` holds. Register before making the write.
   */
  expect(fleet: string, generation: number, check: () => boolean, timeoutMs?: number): Promise<number>;
  /**
   * One RayCluster create over a kept-alive TLS connection with no client library: the round trip
   * the server itself needs. Resolves with the milliseconds it took.
   */
  rawCreate(namespace: string, name: string): Promise<number>;
  /** Resolves with performance.now() of the first backend-object event after which `check` holds. */
  when(check: () => boolean, timeoutMs?: number): Promise<number>;
  /** Removes every backend object and pod straight from the store (no reconciler running). */
  wipeBackends(): void;
  close(): Promise<void>;
}

export async function startBenchCluster(): Promise<BenchCluster> {
  const server = await startFakeApiServer({ resources: [FLEET_DEF, POD_DEF], namespace: NS, historyLimit: 20_000 });
  server.installCrd(crd('ray'));
  server.installCrd(crd('lws'));
  const user = createKubeClient({ kubeconfigText: server.kubeconfig() });
  const store = server.store;
  const waiters = new Map<string, Set<Waiter>>();
  const live = new Map<string, Map<string, StoredObject>>();
  let writes = 0;
  let podSeq = 0;
  let closed = false;
  const pending = new Set<NodeJS.Immediate>();
  const soon = (fn: () => void): void => {
    const t = setImmediate(() => {
      pending.delete(t);
      if (!closed) fn();
    });
    pending.add(t);
  };

  // Pod names by owner (RayCluster or LWS name), so a stand-in never scans every pod.
  const podsOf = new Map<string, Set<string>>();
  const makePod = (owner: StoredObject, name: string, template: { metadata?: { labels?: Record<string, string> } }, labels: Record<string, string>): void => {
    const pod: Pod = {
      metadata: { name, namespace: NS, labels: { ...template.metadata?.labels, ...labels }, ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true }] },
      spec: { nodeName: `node-${podSeq % 997}` },
      status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'engine', ready: true, restartCount: 0, state: { running: {} } }] },
    };
    podSeq++;
    store.create('pods', NS, pod);
    const ownerName = owner.metadata.name ?? '';
    let set = podsOf.get(ownerName);
    if (set === undefined) podsOf.set(ownerName, (set = new Set()));
    set.add(name);
  };
  const removePods = (owner: string, match: (p: StoredObject) => boolean = () => true): void => {
    const set = podsOf.get(owner);
    for (const name of set ?? []) {
      const p = store.get('pods', NS, name);
      if (p === undefined) set?.delete(name);
      else if (match(p)) {
        store.remove('pods', NS, name);
        set?.delete(name);
      }
    }
  };

  // KubeRay: a head and the workers per RayCluster, gone with it.
  const kuberay = (ev: StoreEvent): void => {
    const rc = ev.object;
    const name = rc.metadata.name ?? '';
    if (ev.type === 'DELETED') {
      soon(() => removePods(name));
      return;
    }
    if (ev.type !== 'ADDED') return;
    const spec = rc.spec as { headGroupSpec: { template: Record<string, unknown> }; workerGroupSpecs?: { groupName: string; replicas: number; template: Record<string, unknown> }[] };
    soon(() => {
      if (store.get(RAYS, NS, name)?.metadata.uid !== rc.metadata.uid) return;
      makePod(rc, `${name}-head`, spec.headGroupSpec.template, { 'ray.io/cluster': name, 'ray.io/node-type': 'head' });
      for (const g of spec.workerGroupSpecs ?? []) {
        for (let i = 0; i < g.replicas; i++) makePod(rc, `${name}-${g.groupName}-${i}`, g.template, { 'ray.io/cluster': name, 'ray.io/node-type': 'worker' });
      }
    });
  };
  // LWS: groups 0..replicas-1 of `size` pods; a template change recreates every group at once.
  const lws = (ev: StoreEvent): void => {
    const name = ev.object.metadata.name ?? '';
    if (ev.type === 'DELETED') {
      soon(() => removePods(name));
      return;
    }
    soon(() => {
      const cur = store.get(LWSS, NS, name);
      if (cur === undefined || cur.metadata.resourceVersion !== ev.object.metadata.resourceVersion) return;
      const spec = cur.spec as { replicas: number; leaderWorkerTemplate: { size: number; leaderTemplate: { metadata?: { labels?: Record<string, string> } }; workerTemplate: { metadata?: { labels?: Record<string, string> } } } };
      const rev = spec.leaderWorkerTemplate.leaderTemplate.metadata?.labels?.[LABEL_REVISION];
      removePods(name, (p) => Number(p.metadata.labels?.['leaderworkerset.sigs.k8s.io/group-index']) >= spec.replicas || p.metadata.labels?.[LABEL_REVISION] !== rev);
      for (let g = 0; g < spec.replicas; g++) {
        for (let w = 0; w < spec.leaderWorkerTemplate.size; w++) {
          const podName = w === 0 ? `${name}-${g}` : `${name}-${g}-${w}`;
          if (store.get('pods', NS, podName) !== undefined) continue;
          const t = w === 0 ? spec.leaderWorkerTemplate.leaderTemplate : spec.leaderWorkerTemplate.workerTemplate;
          makePod(cur, podName, t, { 'leaderworkerset.sigs.k8s.io/name': name, 'leaderworkerset.sigs.k8s.io/group-index': String(g), 'leaderworkerset.sigs.k8s.io/worker-index': String(w) });
        }
      }
    });
  };

  const anyWaiters = new Set<{ check: () => boolean; resolve: (at: number) => void }>();
  const settle = (fleet: string, at: number): void => {
    for (const w of anyWaiters) {
      if (w.check()) {
        anyWaiters.delete(w);
        w.resolve(at);
      }
    }
    for (const w of waiters.get(fleet) ?? []) {
      if (w.start !== undefined && w.check()) {
        waiters.get(fleet)?.delete(w);
        w.resolve(at - w.start);
      }
    }
  };
  const off = store.subscribe((ev) => {
    const at = performance.now();
    const fleet = ev.object.metadata.labels?.[LABEL_FLEET];
    if (ev.resource === FLEETS) {
      const name = ev.object.metadata.name ?? '';
      for (const w of waiters.get(name) ?? []) if (w.start === undefined && ev.object.metadata.generation === w.generation) w.start = at;
      return;
    }
    if (ev.resource !== RAYS && ev.resource !== LWSS) return;
    writes++;
    if (fleet === undefined) return;
    const key = `${ev.resource}/${fleet}`;
    let objs = live.get(key);
    if (objs === undefined) live.set(key, (objs = new Map()));
    const name = ev.object.metadata.name ?? '';
    if (ev.type === 'DELETED' || ev.object.metadata.deletionTimestamp !== undefined) objs.delete(name);
    else objs.set(name, ev.object);
    if (ev.resource === RAYS) kuberay(ev);
    else lws(ev);
    settle(fleet, at);
  });
  const id = (b: FleetBackend): string => (b === 'ray' ? RAYS : LWSS);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: server.ca });

  return {
    server,
    user,
    objects: (b, fleet) => [...(live.get(`${id(b)}/${fleet}`)?.values() ?? [])],
    objectCount(b) {
      let n = 0;
      for (const [key, objs] of live) if (key.startsWith(`${id(b)}/`)) n += objs.size;
      return n;
    },
    get backendWrites() {
      return writes;
    },
    expect(fleet, generation, check, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.get(fleet)?.delete(w);
          reject(new Error(`bench: fleet ${fleet} generation ${generation}: no result in ${timeoutMs} ms`));
        }, timeoutMs);
        const w: Waiter = {
          fleet,
          generation,
          check,
          resolve: (ms) => {
            clearTimeout(timer);
            resolve(ms);
          },
        };
        let set = waiters.get(fleet);
        if (set === undefined) waiters.set(fleet, (set = new Set()));
        set.add(w);
      });
    },
    rawCreate(namespace, name) {
      const body = JSON.stringify({ apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name }, spec: {} });
      const t0 = performance.now();
      return new Promise((resolve, reject) => {
        const req = request(
          `${server.url}/apis/ray.io/v1/namespaces/${namespace}/rayclusters`,
          { method: 'POST', agent, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 201 ? resolve(performance.now() - t0) : reject(new Error(`bench: raw create answered ${res.statusCode ?? '?'}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    when(check, timeoutMs = 60_000) {
      if (check()) return Promise.resolve(performance.now());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          anyWaiters.delete(w);
          reject(new Error(`bench: condition not reached in ${timeoutMs} ms`));
        }, timeoutMs);
        const w = {
          check,
          resolve: (at: number) => {
            clearTimeout(timer);
            resolve(at);
          },
        };
        anyWaiters.add(w);
      });
    },
    wipeBackends() {
      for (const r of [RAYS, LWSS, 'pods']) for (const o of store.list(r, NS)) store.remove(r, NS, o.metadata.name ?? '');
      podsOf.clear();
    },
    async close() {
      closed = true;
      off();
      for (const t of pending) clearImmediate(t);
      agent.destroy();
      await user.dispose();
      await server.close();
    },
  };
}
