// Direct scaling against the in-process fake API server: the scale subresource of apps/v1
// Deployments read and patched through the real Kubernetes client, bounds, cooldowns on an
// injected clock, no write when unchanged, 404 and 409 handled without throwing.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeApiServer, startFakeApiServer } from '../../../mocks/kube-apiserver/index.js';
import { createLogger } from '../../../src/common/logger.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { createScaler, kubeScaleApi, type ScaleApi } from '../../../src/coordinator/optimizer/scaler.js';
import { createOptimizerMetrics } from '../../../src/coordinator/optimizer/metrics.js';
import { testMetrics } from '../../helpers/apps.js';

const NS = 'serving';
const DEPLOYMENTS = 'deployments.apps';

let server: FakeApiServer;
let kube: KubeClient;

beforeAll(async () => {
  server = await startFakeApiServer({
    namespace: NS,
    resources: [
      {
        group: 'apps',
        version: 'v1',
        kind: 'Deployment',
        plural: 'deployments',
        namespaced: true,
        status: true,
        scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
      },
    ],
  });
  kube = createKubeClient({ kubeconfigText: server.kubeconfig() });
});

afterAll(async () => {
  await kube.dispose();
  await server.close();
});

function deployment(name: string, replicas: number) {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS }, spec: { replicas, selector: { matchLabels: { app: name } } } };
}

function replicasOf(name: string): number {
  return (server.store.get(DEPLOYMENTS, NS, name)?.spec as { replicas: number }).replicas;
}

function scaleWrites(name: string): number {
  return server.requests.filter((r) => r.method === 'PATCH' && r.path === `/apis/apps/v1/namespaces/${NS}/deployments/${name}/scale`).length;
}

function logSink(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', format: 'json', stream }), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('direct scaling through deployments/scale', () => {
  let clock: number;
  beforeEach(() => {
    clock = 1_000_000;
    for (const o of server.store.list(DEPLOYMENTS, NS)) server.store.remove(DEPLOYMENTS, NS, o.metadata.name as string);
  });

  it('scales up at once through GET and PATCH of the scale subresource, and writes nothing when unchanged', async () => {
    server.store.create(DEPLOYMENTS, NS, deployment('llama-l20', 1));
    const scaler = createScaler({ api: kubeScaleApi(kube), log: logSink().log, now: () => clock });
    const [first] = await scaler.apply([{ namespace: NS, name: 'llama-l20', replicas: 3 }]);
    expect(first).toMatchObject({ outcome: 'scaled', from: 1, desired: 3 });
    expect(replicasOf('llama-l20')).toBe(3);
    const patch = server.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/llama-l20/scale'));
    expect(patch?.contentType).toContain('application/merge-patch+json');

    const [again] = await scaler.apply([{ namespace: NS, name: 'llama-l20', replicas: 3 }]);
    expect(again?.outcome).toBe('unchanged');
    expect(scaleWrites('llama-l20')).toBe(1);
    expect(scaler.stats()).toMatchObject({ writes: 1, unchanged: 1, errors: 0 });
  });

  it('clamps to the per-deployment min and max', async () => {
    server.store.create(DEPLOYMENTS, NS, deployment('llama-a10', 2));
    const scaler = createScaler({ api: kubeScaleApi(kube), log: logSink().log, now: () => clock, bounds: { [`${NS}/llama-a10`]: { min: 1, max: 4 } }, downCooldownMs: 0 });
    expect((await scaler.apply([{ namespace: NS, name: 'llama-a10', replicas: 9 }]))[0]).toMatchObject({ outcome: 'scaled', desired: 4 });
    expect(replicasOf('llama-a10')).toBe(4);
    expect((await scaler.apply([{ namespace: NS, name: 'llama-a10', replicas: 0 }]))[0]).toMatchObject({ outcome: 'scaled', desired: 1 });
    expect(replicasOf('llama-a10')).toBe(1);
  });

  it('holds a scale-down until the down cooldown has passed since the start and since the last change; scale-up waits its own', async () => {
    server.store.create(DEPLOYMENTS, NS, deployment('llama-h100', 4));
    const scaler = createScaler({ api: kubeScaleApi(kube), log: logSink().log, now: () => clock, upCooldownMs: 10_000, downCooldownMs: 60_000 });
    const key = { namespace: NS, name: 'llama-h100' };

    // A fresh scaler has seen too little to remove GPUs.
    expect((await scaler.apply([{ ...key, replicas: 2 }]))[0]).toMatchObject({ outcome: 'cooldown', from: 4, desired: 2, until: 1_060_000 });
    expect(replicasOf('llama-h100')).toBe(4);
    clock += 60_000;
    expect((await scaler.apply([{ ...key, replicas: 2 }]))[0]?.outcome).toBe('scaled');
    expect(replicasOf('llama-h100')).toBe(2);

    // Up again: within the up cooldown of that change it waits, then goes.
    clock += 5_000;
    expect((await scaler.apply([{ ...key, replicas: 5 }]))[0]?.outcome).toBe('cooldown');
    clock += 5_000;
    expect((await scaler.apply([{ ...key, replicas: 5 }]))[0]?.outcome).toBe('scaled');
    expect(replicasOf('llama-h100')).toBe(5);

    // Down right after the scale-up is held for the full down cooldown.
    clock += 59_999;
    expect((await scaler.apply([{ ...key, replicas: 1 }]))[0]?.outcome).toBe('cooldown');
    clock += 1;
    expect((await scaler.apply([{ ...key, replicas: 1 }]))[0]?.outcome).toBe('scaled');
    expect(replicasOf('llama-h100')).toBe(1);
    expect(scaler.stats()).toMatchObject({ writes: 3, cooldowns: 3 });
  });

  it('counts and logs a missing Deployment (404) once per streak, goes on with the others, and never throws', async () => {
    server.store.create(DEPLOYMENTS, NS, deployment('present', 1));
    const sink = logSink();
    const scaler = createScaler({ api: kubeScaleApi(kube), log: sink.log, now: () => clock });
    const plan = [
      { namespace: NS, name: 'missing', replicas: 2 },
      { namespace: NS, name: 'present', replicas: 2 },
    ];
    const results = await scaler.apply(plan);
    expect(results.map((r) => r.outcome)).toEqual(['error', 'scaled']);
    expect(results[0]?.code).toBe('BRX_ERR_KUBE_NOT_FOUND');
    await scaler.apply(plan);
    expect(scaler.stats().errors).toBe(2);
    const warns = sink.lines().filter((l) => l.level === 40 && l.deployment === `${NS}/missing`);
    expect(warns).toHaveLength(1);
    expect(String(warns[0]?.hint)).toContain('--optimizer.deployments');

    server.store.create(DEPLOYMENTS, NS, deployment('missing', 1));
    expect((await scaler.apply(plan))[0]?.outcome).toBe('scaled');
    expect(sink.lines().some((l) => l.msg === 'scaling the deployment works again')).toBe(true);
  });

  it('re-reads and retries once on a 409 conflict, and reports a second conflict as an error', async () => {
    server.store.create(DEPLOYMENTS, NS, deployment('contended', 1));
    const scaler = createScaler({ api: kubeScaleApi(kube), log: logSink().log, now: () => clock });
    const scalePath = `/apis/apps/v1/namespaces/${NS}/deployments/contended/scale`;
    server.failNext({ method: 'PATCH', path: scalePath, status: 409, reason: 'Conflict', message: 'the object has been modified' });
    expect((await scaler.apply([{ namespace: NS, name: 'contended', replicas: 3 }]))[0]?.outcome).toBe('scaled');
    expect(replicasOf('contended')).toBe(3);
    expect(scaler.stats().conflicts).toBe(1);

    server.failNext({ method: 'PATCH', path: scalePath, status: 409, reason: 'Conflict', message: 'the object has been modified', times: 2 });
    const [r] = await scaler.apply([{ namespace: NS, name: 'contended', replicas: 6 }]);
    expect(r).toMatchObject({ outcome: 'error', code: 'BRX_ERR_KUBE_CONFLICT', from: 3 });
    expect(replicasOf('contended')).toBe(3);
  });

  it('sends the resourceVersion it read, so a change by another writer in between is a conflict, not overwritten', async () => {
    server.store.create(DEPLOYMENTS, NS, deployment('raced', 1));
    const real = kubeScaleApi(kube);
    let raced = false;
    const api: ScaleApi = {
      read: (ns, name) => real.read(ns, name),
      async write(ns, name, replicas, rv) {
        if (!raced) {
          raced = true;
          const cur = server.store.get(DEPLOYMENTS, NS, 'raced');
          server.store.update(DEPLOYMENTS, NS, 'raced', { ...cur, spec: { ...(cur?.spec as object), replicas: 7 } } as never, 'main');
        }
        return real.write(ns, name, replicas, rv);
      },
    };
    const scaler = createScaler({ api, log: logSink().log, now: () => clock });
    // Read 1, someone sets 7, our write with the old resourceVersion conflicts; the re-read sees 7 < 8 and scales up.
    expect((await scaler.apply([{ namespace: NS, name: 'raced', replicas: 8 }]))[0]).toMatchObject({ outcome: 'scaled', from: 7 });
    expect(replicasOf('raced')).toBe(8);
    expect(scaler.stats().conflicts).toBe(1);
  });

  it('exports its requests, errors and conflicts per Deployment as brixlet_optimizer_scale_* metrics', async () => {
    server.store.create(DEPLOYMENTS, NS, deployment('metered', 1));
    const metrics = testMetrics();
    const om = createOptimizerMetrics(metrics);
    const scaler = createScaler({ api: kubeScaleApi(kube), log: logSink().log, now: () => clock, downCooldownMs: 60_000, onResult: (r) => om.scaled(r) });
    const one = (name: string, replicas: number) => scaler.apply([{ namespace: NS, name, replicas }]);
    await one('metered', 3); // up, scaled
    await one('metered', 3); // none, unchanged
    await one('metered', 2); // down, held by the cooldown
    await one('absent', 2); // not read: 404
    server.failNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/metered/scale`, status: 409, reason: 'Conflict', message: 'the object has been modified' });
    await one('metered', 4); // a conflict, read again, scaled
    const text = await metrics.render();
    const series = (labels: string, n: number) => expect(text).toContain(`${labels} ${n}\n`);
    series(`brixlet_optimizer_scale_requests_total{namespace="${NS}",deployment="metered",direction="up",result="scaled"}`, 2);
    series(`brixlet_optimizer_scale_requests_total{namespace="${NS}",deployment="metered",direction="none",result="unchanged"}`, 1);
    series(`brixlet_optimizer_scale_requests_total{namespace="${NS}",deployment="metered",direction="down",result="cooldown"}`, 1);
    series(`brixlet_optimizer_scale_requests_total{namespace="${NS}",deployment="absent",direction="unknown",result="error"}`, 1);
    series(`brixlet_optimizer_scale_errors_total{namespace="${NS}",deployment="absent",code="BRX_ERR_KUBE_NOT_FOUND"}`, 1);
    series(`brixlet_optimizer_scale_conflicts_total{namespace="${NS}",deployment="metered"}`, 1);
    expect(text).not.toContain('brixlet_optimizer_scale_errors_total{namespace="serving",deployment="metered"');
    expect(replicasOf('metered')).toBe(4);
  });
});
