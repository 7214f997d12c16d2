/**
 * npm run bench:orchestrator [-- --quick]
 *
 * The ModelFleet reconciler (src/coordinator/orchestrator/reconciler.ts) against the in-process
 * fake API server (HTTPS, mocks/kube-apiserver) with stand-ins for KubeRay and LWS that give every
 * backend object its pods, Running and Ready at once (bench/orchestrator/cluster.ts). Per run, a
 * fresh cluster and 100 fleets of 4 replicas (TP 8 × PP 2 on 2 nodes), for the `ray` backend and
 * then the `lws` one:
 *
 * (a) event → desired objects written: the fleets are created, scaled 4 → 6, scaled 6 → 4 and given
 *     a new image, one change at a time (the controller's informers, probes and earlier rollouts run
 *     meanwhile). Each latency runs from the fake server storing the fleet write to it storing the
 *     reconciler's resulting write: 4 RayClusters / the LeaderWorkerSet for a create, 6 or 4 live
 *     RayClusters / the LWS's replicas for a scale, the first RayCluster of the new revision (the
 *     rolling upgrade deletes an old one first: maxSurge 0) / the LWS of the new revision for an
 *     image. p50 and p99 over every event of a run. Target: p99 ≤ 50 ms.
 * (b) full resync of the 400 replicas: a new controller (a restarted coordinator) with everything
 *     in place, from its start until every fleet is reconciled (the writes it makes are counted:
 *     none expected); and from scratch (backend objects and pods wiped) until every desired object
 *     exists. Target: < 2 s.
 * (c) memory after the 100 fleets are reconciled: process RSS and heap, and the heap the controller
 *     holds (heap after its resync pass − heap before it started, both after a GC). No target.
 *
 * Floors in the same run: one create round trip to the same server through the same client (what
 * any reconciler built on src/kube pays per object it writes, on the client's kept-alive
 * connections: src/kube/keep-alive.ts), the same create as a bare HTTPS request on a kept-alive
 * connection (what the server alone needs), and for the resyncs the time to just list the fleets,
 * backend objects and pods.
 * --quick: 3 runs, the scale and image events on 5 of the 100 fleets, 30 floor samples (200 full).
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { podReady } from '../src/coordinator/orchestrator/backend.js';
import { FleetController, type FleetNodeSource, type ReplicaHealthFn } from '../src/coordinator/orchestrator/reconciler.js';
import { FLEET_REF, type FleetBackend, LABEL_FLEET, LABEL_REVISION, type ModelFleet, RAYCLUSTER_REF } from '../src/coordinator/orchestrator/types.js';
import { createKubeClient } from '../src/kube/kube-client.js';
import type { KubeObject } from '../src/kube/types.js';
import { type BenchCluster, NS, REAL_CRDS, presence, startBenchCluster } from './orchestrator/cluster.js';
import { benchArgs, median, percentile, row, target, writeReport, type Row, type Target } from './lib/report.js';

const args = benchArgs();
const FLEETS = 100;
const REPLICAS = 4;
/** Fleets that get the scale and image events (all of them get the create). */
const CHANGED = args.quick ? 5 : FLEETS;
/** Create round trips timed per run for the floors. */
const FLOOR_SAMPLES = args.quick ? 30 : 200;
const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;

const nodes: FleetNodeSource = { maxGpusPerNode: () => 8, avoidNodes: () => [], onChange: () => () => undefined };
/** Readiness from the pods alone (the Ray dashboard and engine probes are not part of this bench). */
const health: ReplicaHealthFn = async ({ pods, groupSize }) => {
  const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
  const reasons: string[] = [];
  if (live.length < groupSize) reasons.push(`${live.length} of ${groupSize} pods`);
  const notReady = live.filter((p) => !podReady(p)).length;
  if (notReady > 0) reasons.push(`${notReady} pods not ready`);
  return { ready: reasons.length === 0, failed: false, reasons };
};

function spec(backend: FleetBackend, image = 'vllm/vllm-openai:v0.8.5'): ModelFleet['spec'] {
  return { model: 'meta-llama/Llama-3.1-405B-Instruct', image, tensorParallelSize: 8, pipelineParallelSize: 2, gpusPerNode: 8, nodesPerReplica: 2, replicas: REPLICAS, backend };
}

interface Controller {
  readonly controller: FleetController;
  dispose(): Promise<void>;
}

function newController(cluster: BenchCluster): Controller {
  const kube = createKubeClient({ kubeconfigText: cluster.server.kubeconfig() });
  const controller = new FleetController({ kube, namespace: NS, log, nodes, backends: presence, health });
  return {
    controller,
    async dispose() {
      await controller.dispose();
      await kube.dispose();
    },
  };
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const revisionOf = (o: KubeObject): string => o.metadata?.labels?.[LABEL_REVISION] ?? '';
const lwsReplicas = (o: KubeObject | undefined): number | undefined => (o as { spec?: { replicas?: number } } | undefined)?.spec?.replicas;

interface RunResult {
  readonly byEvent: Record<EventKind, number[]>;
  readonly floor: number[];
  /** The same create over a kept-alive connection without the client library. */
  readonly rawFloor: number[];
  readonly inPlaceMs: number;
  readonly inPlaceWrites: number;
  readonly scratchMs: number;
  readonly listMs: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly controllerHeapMiB: number;
}

/**
 * A new controller (a restarted coordinator) over everything in place: the time of its first pass,
 * the writes it made, and the process memory (after a GC) while it holds its caches. Its own scope,
 * so nothing keeps the controller once it is disposed.
 */
async function restartInPlace(cluster: BenchCluster): Promise<{ ms: number; writes: number; rss: number; heap: number }> {
  const writesBefore = cluster.backendWrites;
  const t0 = performance.now();
  const c = newController(cluster);
  try {
    await c.controller.start();
    await c.controller.whenIdle();
    const ms = performance.now() - t0;
    const writes = cluster.backendWrites - writesBefore;
    gc();
    const mem = process.memoryUsage();
    return { ms, writes, rss: mem.rss, heap: mem.heapUsed };
  } finally {
    await c.dispose();
  }
}

type EventKind = 'create' | 'scale-up' | 'scale-down' | 'image';
const EVENT_KINDS: readonly EventKind[] = ['create', 'scale-up', 'scale-down', 'image'];

async function run(backend: FleetBackend, fleets: number, changed: number): Promise<RunResult> {
  const cluster = await startBenchCluster();
  let ctl: Controller | undefined = newController(cluster);
  try {
    await ctl.controller.start();
    const api = cluster.user.customObjects<ModelFleet>(FLEET_REF);
    const names = Array.from({ length: fleets }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
    const objs = (name: string) => cluster.objects(backend, name);
    const byEvent: Record<EventKind, number[]> = { create: [], 'scale-up': [], 'scale-down': [], image: [] };
    const wantCount = (name: string, n: number) => () => (backend === 'ray' ? objs(name).length === n : lwsReplicas(objs(name)[0]) === n);

    // (a) one change at a time, each timed from the stored fleet write to the stored result.
    for (const name of names) {
      const done = cluster.expect(name, 1, wantCount(name, REPLICAS));
      await api.create({ apiVersion: 'brixlet.io/v1alpha1', kind: 'ModelFleet', metadata: { name, namespace: NS }, spec: spec(backend) }, NS);
      byEvent.create.push(await done);
    }
    const change = async (kind: EventKind, name: string, generation: number, patch: Partial<ModelFleet['spec']>, check: () => boolean): Promise<void> => {
      const done = cluster.expect(name, generation, check);
      await api.mergePatch(name, { spec: patch }, NS);
      byEvent[kind].push(await done);
    };
    for (const name of names.slice(0, changed)) await change('scale-up', name, 2, { replicas: REPLICAS + 2 }, wantCount(name, REPLICAS + 2));
    for (const name of names.slice(0, changed)) await change('scale-down', name, 3, { replicas: REPLICAS }, wantCount(name, REPLICAS));
    const oldRevision = revisionOf(objs(names[0] as string)[0] as KubeObject);
    for (const name of names.slice(0, changed)) {
      await change('image', name, 4, { image: 'vllm/vllm-openai:v0.8.6' }, () => objs(name).some((o) => revisionOf(o) !== oldRevision));
    }

    // The floor: one create round trip to the same server, objects no informer selects.
    const floorApi = cluster.user.customObjects<KubeObject>(RAYCLUSTER_REF);
    const floor: number[] = [];
    const rawFloor: number[] = [];
    for (let i = 0; i < FLOOR_SAMPLES; i++) {
      const t0 = performance.now();
      await floorApi.create({ apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name: `floor-${i}` }, spec: {} } as KubeObject, 'bench-floor');
      floor.push(performance.now() - t0);
      rawFloor.push(await cluster.rawCreate('bench-floor', `raw-${i}`));
    }

    // Every rollout finished: each fleet has its replicas, all of the new revision, with pods.
    const settled = (): boolean =>
      names.every((name, i) => {
        const o = objs(name);
        const rolled = i < changed;
        if (backend === 'lws') return o.length === 1 && lwsReplicas(o[0]) === REPLICAS && (!rolled || revisionOf(o[0] as KubeObject) !== oldRevision);
        return o.length === REPLICAS && (!rolled || o.every((x) => revisionOf(x) !== oldRevision));
      });
    await cluster.when(settled, 120_000);
    await ctl.controller.whenIdle();

    // The floor of a resync: list what the informers list (median of 3).
    const lists: number[] = [];
    const backendApi = cluster.user.customObjects<KubeObject>(backend === 'ray' ? RAYCLUSTER_REF : { group: 'leaderworkerset.x-k8s.io', version: 'v1', plural: 'leaderworkersets', namespaced: true });
    const core = cluster.user.kubeConfig.makeApiClient(CoreV1Api);
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await Promise.all([api.list({ namespace: NS }), backendApi.list({ namespace: NS, labelSelector: LABEL_FLEET }), core.listNamespacedPod({ namespace: NS, labelSelector: LABEL_FLEET })]);
      lists.push(performance.now() - t0);
    }

    // (b) in place: a restarted controller's first pass over everything; (c) what it holds after.
    await ctl.dispose();
    ctl = undefined;
    const inPlace = await restartInPlace(cluster);
    // (c) the controller's share: the heap again once it is gone (its watches closed, a GC later).
    await new Promise((resolve) => setTimeout(resolve, 200));
    gc();
    const heapWithout = process.memoryUsage().heapUsed;

    // (b) from scratch: no backend objects, no pods; until every desired object exists.
    cluster.wipeBackends();
    const want = backend === 'ray' ? fleets * REPLICAS : fleets;
    const t1 = performance.now();
    const fresh = newController(cluster);
    ctl = fresh;
    const allThere = cluster.when(() => cluster.objectCount(backend) === want, 60_000);
    await fresh.controller.start();
    const scratchMs = (await allThere) - t1;

    return {
      byEvent,
      floor,
      rawFloor,
      inPlaceMs: inPlace.ms,
      inPlaceWrites: inPlace.writes,
      scratchMs,
      listMs: median(lists),
      rssMiB: inPlace.rss / MiB,
      heapMiB: inPlace.heap / MiB,
      controllerHeapMiB: (inPlace.heap - heapWithout) / MiB,
    };
  } finally {
    await ctl?.dispose();
    await cluster.close();
  }
}

const rows: Row[] = [];
const targets: Target[] = [];
const started = performance.now();
console.log(`orchestrator: ${FLEETS} fleets × ${REPLICAS} replicas, ${args.runs} runs per backend; CRDs: ${REAL_CRDS ? 'the test data\'s (schemas checked on every write)' : 'minimal (test data absent: no schema checks)'}`);
// Warm-up: JIT the reconciler, the client and the server.
await run('ray', 5, 5);

for (const backend of ['ray', 'lws'] as const) {
  const results: RunResult[] = [];
  for (let i = 0; i < args.runs; i++) results.push(await run(backend, FLEETS, CHANGED));
  const all = results.map((r) => EVENT_KINDS.flatMap((k) => r.byEvent[k]));
  const floorP50 = results.map((r) => percentile(r.floor, 50));
  const floorP99 = results.map((r) => percentile(r.floor, 99));
  const rawP50 = results.map((r) => percentile(r.rawFloor, 50));
  const rawP99 = results.map((r) => percentile(r.rawFloor, 99));
  rows.push(row(`${backend}: event → objects written, p50 (all events)`, 'ms', false, all.map((xs) => percentile(xs, 50)), { 'create round trip': floorP50, 'raw keep-alive create': rawP50 }));
  const p99 = all.map((xs) => percentile(xs, 99));
  rows.push(row(`${backend}: event → objects written, p99 (all events)`, 'ms', false, p99, { 'create round trip': floorP99, 'raw keep-alive create': rawP99 }));
  for (const k of EVENT_KINDS) {
    rows.push(row(`${backend}: ${k} p50`, 'ms', false, results.map((r) => percentile(r.byEvent[k], 50))));
    rows.push(row(`${backend}: ${k} p99`, 'ms', false, results.map((r) => percentile(r.byEvent[k], 99))));
  }
  const lists = { list: results.map((r) => r.listMs) };
  const inPlace = results.map((r) => r.inPlaceMs);
  const scratch = results.map((r) => r.scratchMs);
  rows.push(row(`${backend}: resync in place (${FLEETS * REPLICAS} replicas, restart)`, 'ms', false, inPlace, lists));
  rows.push(row(`${backend}: writes during the in-place resync`, 'count', false, results.map((r) => r.inPlaceWrites)));
  rows.push(row(`${backend}: resync from scratch (all objects exist)`, 'ms', false, scratch, lists));
  rows.push(row(`${backend}: RSS after ${FLEETS} fleets reconciled (whole process)`, 'MiB', false, results.map((r) => r.rssMiB)));
  rows.push(row(`${backend}: heap after ${FLEETS} fleets reconciled (whole process)`, 'MiB', false, results.map((r) => r.heapMiB)));
  rows.push(row(`${backend}: heap held by the controller`, 'MiB', false, results.map((r) => r.controllerHeapMiB)));
  targets.push(target(`${backend}: event → objects written p99 ≤ 50 ms`, 'max', 50, median(p99)));
  targets.push(target(`${backend}: resync in place of ${FLEETS * REPLICAS} replicas < 2 s (ms)`, 'max', 2000, median(inPlace)));
  targets.push(target(`${backend}: resync from scratch of ${FLEETS * REPLICAS} replicas < 2 s (ms)`, 'max', 2000, median(scratch)));
}
console.log(`orchestrator: measured in ${((performance.now() - started) / 1000).toFixed(1)} s`);
writeReport('orchestrator', args, rows, targets);
