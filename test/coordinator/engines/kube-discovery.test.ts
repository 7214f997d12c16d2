import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer, type StoredObject } from '../../../mocks/kube-apiserver/index.js';
import { createEngineSet, type EngineSet } from '../../../src/coordinator/engines/engine-set.js';
import { kubeEngineSource, type Pod, podToEngine } from '../../../src/coordinator/engines/kube-discovery.js';
import { fleetDefaults } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import { renderLeaderWorkerSet } from '../../../src/coordinator/orchestrator/render-lws.js';
import type { ProbeFetch } from '../../../src/coordinator/engines/probe-http.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { silentLog } from '../../helpers/apps.js';

const NS = 'serving';

interface PodInput {
  labels?: Record<string, string>;
  ip?: string;
  phase?: string;
  ready?: boolean;
  httpPort?: number;
  node?: string;
  finalizers?: string[];
}

function podBody(name: string, p: PodInput): Pod & StoredObject {
  return {
    metadata: { name, labels: { app: 'vllm', ...p.labels }, ...(p.finalizers && { finalizers: p.finalizers }) },
    spec: {
      nodeName: p.node ?? 'gpu-node-1',
      containers: [{ name: 'vllm', ports: [{ name: 'metrics', containerPort: 9000 }, ...(p.httpPort ? [{ name: 'http', containerPort: p.httpPort }] : [])] }],
    },
  };
}

function podStatus(p: PodInput): Pod['status'] {
  return {
    phase: p.phase ?? 'Running',
    ...(p.ip !== undefined && { podIP: p.ip }),
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: p.ready === false ? 'False' : 'True' },
    ],
  };
}

let server: FakeApiServer;
let client: KubeClient;
let set: EngineSet;

/** Creates a pod as the API server would hold it (status set through the status subresource). */
function createPod(name: string, p: PodInput, ns = NS): string {
  const created = server.store.create('pods', ns, podBody(name, p));
  server.store.update('pods', ns, name, { ...created, status: podStatus(p) }, 'status');
  return created.metadata.uid!;
}

function setStatus(name: string, p: PodInput): void {
  const existing = server.store.get('pods', NS, name)!;
  server.store.update('pods', NS, name, { ...existing, status: podStatus(p) }, 'status');
}

const neverProbed: ProbeFetch = async () => {
  throw new Error('not probed in these tests');
};

beforeEach(async () => {
  server = await startFakeApiServer({ resources: [{ version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, status: true }], namespace: NS });
  client = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  set = createEngineSet({ log: silentLog, probeInterval: 60_000, fetch: neverProbed });
});
afterEach(async () => {
  await set.dispose();
  await client.dispose();
  await server.close();
});

const source = () => kubeEngineSource(client, { selector: 'app=vllm', port: 8000, log: silentLog, backoff: { initialMs: 5, maxMs: 40 }, minWatchMs: 0 });
const engines = () => set.all().map((e) => `${e.name} ${e.url}`);

describe('kubeEngineSource', () => {
  it('turns Running, Ready pods with an IP into engines: pod uid, http port, node, model and GPU labels', async () => {
    const uid = createPod('llama-0', { ip: '10.1.0.5', httpPort: 8080, node: 'gpu-a', labels: { 'model.aibrix.ai/name': 'llama-3-8b', 'brixlet.io/gpu-type': 'a100' } });
    createPod('llama-1', { ip: '10.1.0.6' });
    createPod('pending', { phase: 'Pending' });
    createPod('no-ip', {});
    createPod('unready', { ip: '10.1.0.7', ready: false });
    createPod('other-app', { ip: '10.1.0.8', labels: { app: 'web' } });
    createPod('other-ns', { ip: '10.1.0.9' }, 'prod');
    await set.addSource(source());
    expect(engines()).toEqual(['llama-0 http://10.1.0.5:8080', 'llama-1 http://10.1.0.6:8000']);
    expect(set.spec(uid)).toEqual({ uid, name: 'llama-0', url: 'http://10.1.0.5:8080', source: 'kube', models: ['llama-3-8b'], node: 'gpu-a', gpuType: 'a100' });
    expect(set.get(uid)).toMatchObject({ models: ['llama-3-8b'], node: 'gpu-a', speed: { gpuType: 'a100' } });
  });

  it('follows pods becoming ready, losing readiness, terminating and being deleted', async () => {
    createPod('a', { ip: '10.1.0.1' });
    createPod('b', { ip: '10.1.0.2', ready: false });
    createPod('c', { ip: '10.1.0.3', finalizers: ['brixlet.io/test'] });
    await set.addSource(source());
    expect(engines()).toEqual(['a http://10.1.0.1:8000', 'c http://10.1.0.3:8000']);
    setStatus('b', { ip: '10.1.0.2' });
    await expect.poll(engines).toEqual(['a http://10.1.0.1:8000', 'b http://10.1.0.2:8000', 'c http://10.1.0.3:8000']);
    setStatus('a', { ip: '10.1.0.1', ready: false });
    server.store.remove('pods', NS, 'c'); // finalizer: only a deletionTimestamp for now
    await expect.poll(engines).toEqual(['b http://10.1.0.2:8000']);
    server.store.remove('pods', NS, 'b');
    await expect.poll(engines).toEqual([]);
  });

  it('takes only the head of a multi-node (KubeRay) replica', async () => {
    createPod('fleet-head', { ip: '10.2.0.1', labels: { 'ray.io/node-type': 'head' } });
    createPod('fleet-worker-1', { ip: '10.2.0.2', labels: { 'ray.io/node-type': 'worker' } });
    createPod('fleet-worker-2', { ip: '10.2.0.3', labels: { 'ray.io/node-type': 'worker' } });
    await set.addSource(source());
    expect(engines()).toEqual(['fleet-head http://10.2.0.1:8000']);
  });

  it('makes a pod recreated under the same name a new engine with fresh counters', async () => {
    const first = createPod('llama-0', { ip: '10.1.0.5' });
    await set.addSource(source());
    set.get(first)!.load.inFlight = 4;
    server.store.remove('pods', NS, 'llama-0');
    const second = createPod('llama-0', { ip: '10.1.0.9' });
    await expect.poll(() => set.get(second)?.url).toBe('http://10.1.0.9:8000');
    expect(set.get(first)).toBeUndefined();
    expect(set.get(second)?.load.inFlight).toBe(0);
    expect(set.size).toBe(1);
  });

  it('keeps following after the watch is dropped, and catches up on what changed meanwhile', async () => {
    createPod('a', { ip: '10.1.0.1' });
    await set.addSource(source());
    await expect.poll(() => server.openWatches).toBe(1);
    server.dropWatches('destroy');
    createPod('b', { ip: '10.1.0.2' });
    server.store.remove('pods', NS, 'a');
    await expect.poll(engines).toEqual(['b http://10.1.0.2:8000']);
    await expect.poll(() => server.openWatches).toBe(1);
    server.store.compact(); // the next re-watch gets 410: relist, diffed
    server.dropWatches('end');
    createPod('c', { ip: '10.1.0.3' });
    await expect.poll(engines).toEqual(['b http://10.1.0.2:8000', 'c http://10.1.0.3:8000']);
    const lists = server.requests.filter((r) => r.path === `/api/v1/namespaces/${NS}/pods` && !r.query.includes('watch=true'));
    expect(lists.length).toBeGreaterThanOrEqual(2);
    expect(new URLSearchParams(lists[0]!.query).get('labelSelector')).toBe('app=vllm');
  });

  it('releases its watch on dispose, and a start that never synced returns on dispose', async () => {
    const src = source();
    await set.addSource(src);
    await expect.poll(() => server.openWatches).toBe(1);
    await src.dispose();
    await expect.poll(() => server.openWatches).toBe(0);

    server.failNext({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods`, status: 500, times: 1000 });
    const stuck = source();
    const started = set.addSource(stuck);
    await new Promise((r) => setTimeout(r, 50));
    await stuck.dispose();
    await expect(started).resolves.toBeUndefined();
  });
});

describe('podToEngine', () => {
  const ready = (extra: Partial<Pod> = {}): Pod => ({
    metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: {} },
    status: { phase: 'Running', podIP: 'fd00::5', conditions: [{ type: 'Ready', status: 'True' }] },
    ...extra,
  });

  it('brackets IPv6 addresses and says why a pod is not an engine', () => {
    expect(podToEngine(ready(), 8000)).toMatchObject({ uid: 'u-1', url: 'http://[fd00::5]:8000' });
    expect(podToEngine({ ...ready(), status: { phase: 'Running', podIP: '1.2.3.4' } }, 8000)).toBe('not ready');
    expect(podToEngine({ ...ready(), status: { phase: 'Succeeded' } }, 8000)).toBe('phase Succeeded');
    expect(podToEngine({ metadata: { name: 'p', labels: { 'ray.io/node-type': 'worker' } } }, 8000)).toBe('ray worker pod (only heads serve)');
    expect(podToEngine({ ...ready(), metadata: { name: 'p', deletionTimestamp: '2026-01-01T00:00:00Z' } }, 8000)).toBe('terminating');
  });
  it('takes a ModelFleet\'s serving pod (with its model label) and never its worker pods', () => {
    // The labels the orchestrator renders on an lws group's pods (render-lws.ts).
    const spec = fleetDefaults({ model: 'meta-llama/Llama-3.1-405B-Instruct', image: 'vllm/vllm-openai:v0.8.5', tensorParallelSize: 8, pipelineParallelSize: 2, gpusPerNode: 8, nodesPerReplica: 2 });
    const lws = renderLeaderWorkerSet({ name: 'llama', namespace: 'ns' }, spec, { revision: 'rev0000001' }) as { spec: { leaderWorkerTemplate: Record<'leaderTemplate' | 'workerTemplate', { metadata: { labels: Record<string, string> } }> } };
    const { leaderTemplate, workerTemplate } = lws.spec.leaderWorkerTemplate;
    const pod = (labels: Record<string, string>) => ready({ metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels } });
    expect(podToEngine(pod(leaderTemplate.metadata.labels), 8000)).toMatchObject({ models: ['llama-3.1-405b-instruct'] });
    expect(podToEngine(pod(workerTemplate.metadata.labels), 8000)).toBe('fleet worker pod (only the serving pod serves)');
  });

  it('reads the KV events endpoint from container ports named kv-events and kv-replay', () => {
    const ports = (names: [string, number][]) => ({ spec: { containers: [{ name: 'vllm', ports: names.map(([name, containerPort]) => ({ name, containerPort })) }] } });
    expect(podToEngine(ready(ports([['kv-events', 5557], ['kv-replay', 5558]])), 8000)).toMatchObject({ kvEvents: { endpoint: 'tcp://[fd00::5]:5557', replayEndpoint: 'tcp://[fd00::5]:5558' } });
    expect(podToEngine(ready(ports([['kv-events', 6000]])), 8000)).toMatchObject({ kvEvents: { endpoint: 'tcp://[fd00::5]:6000' } });
    expect(podToEngine(ready(ports([['http', 8000]])), 8000)).not.toHaveProperty('kvEvents');
  });
});
