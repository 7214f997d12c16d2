// `brixlet fleet status`: against the orchestrator running on the fake API server (a FleetController
// reconciling real fleets, with stand-ins for KubeRay's pods) behind the real GET
// /v1/orchestrator/fleets route on a brixlet HTTP server; against a real coordinator without the
// orchestrator; against nothing; and with --kubeconfig straight from the API server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/common/config/load-config.js';
import { createServer, type BrixletServer } from '../../../src/common/http/create-server.js';
import { DisposableStore } from '../../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../../src/common/metrics.js';
import { startCoordinator } from '../../../src/coordinator/main.js';
import { registerOrchestratorRoutes } from '../../../src/coordinator/orchestrator/routes.js';
import { type RunningOrchestrator, startOrchestrator } from '../../../src/coordinator/orchestrator/setup.js';
import { registryNodeSource } from '../../../src/coordinator/orchestrator/fleet-nodes.js';
import { OrchestratorFleetsView } from '../../../src/coordinator/orchestrator/routes.js';
import { Value } from '@sinclair/typebox/value';
import { silentLog, testMetrics } from '../../helpers/apps.js';
import { cli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/ports.js';
import { type FleetWorld, NS, startFleetWorld } from '../../coordinator/orchestrator/fleet-world.js';
import type { BackendPresence, ReplicaHealthFn } from '../../../src/coordinator/orchestrator/reconciler.js';

let world: FleetWorld;
let orchestrator: RunningOrchestrator;
let app: BrixletServer;
let control: string;
let dir: string;

// Both CRDs installed (the world installs them), no schema checks: this file tests the CLI.
const presence: BackendPresence = { installed: () => true, validator: () => undefined, onChange: () => () => undefined };
// Readiness from the pods alone, one reason line per failing check, as the coordinator's health reports them.
const podHealth: ReplicaHealthFn = async ({ pods, groupSize }) => {
  const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
  const reasons: string[] = [];
  if (live.length < groupSize) reasons.push(`${live.length} of ${groupSize} pods`);
  const notReady = live.filter((p) => !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).length;
  if (notReady > 0) reasons.push(`${notReady} pods not ready`);
  return { ready: reasons.length === 0, failed: false, reasons };
};
const raySpec = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'meta-llama/Llama-3.1-405B-Instruct',
  image: 'vllm/vllm-openai:v0.8.5',
  tensorParallelSize: 8,
  pipelineParallelSize: 2,
  gpusPerNode: 8,
  nodesPerReplica: 2,
  replicas: 2,
  ...over,
});

type Status = { readyReplicas?: number; replicaStatuses?: { name: string; ready: boolean }[] };
const status = (name: string): Status => (world.fleet(name)?.status ?? {}) as Status;

beforeAll(async () => {
  world = await startFleetWorld();
  world.createFleet('llama', raySpec({ replicas: 2 }));
  world.createFleet('qwen', raySpec({ model: 'Qwen/Qwen2.5-72B-Instruct', tensorParallelSize: 8, pipelineParallelSize: 1, nodesPerReplica: 1, replicas: 1 }));
  orchestrator = startOrchestrator({
    config: { enabled: true, namespace: NS, leaderElection: 'off', resync: 60_000, probeInterval: 200 },
    namespace: NS,
    kube: world.kube,
    nodes: registryNodeSource(world.registry),
    backends: presence,
    health: podHealth,
    log: silentLog,
    identity: 'coordinator-test',
    controller: { backoff: { initialMs: 20, maxMs: 200 }, minWatchMs: 0, retryMs: 20, maxRetryMs: 200 },
  });
  await world.until(() => status('llama').readyReplicas === 2 && status('qwen').readyReplicas === 1, 60_000, 'both fleets ready');
  app = await createServer({ name: 'control', title: 'test', version: 'test', log: silentLog, bodyLimit: 1 << 20, metrics: testMetrics() });
  registerOrchestratorRoutes(app, { view: () => orchestrator.view() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  control = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'brixlet-fleet-status-'));
}, 90_000);

afterAll(async () => {
  await app?.close();
  await orchestrator?.dispose();
  await world?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('brixlet fleet status, from the coordinator', () => {
  it('lists every fleet with its backend, replicas, revision, conditions and replicas', async () => {
    const r = await cli(['fleet', 'status', '--control', control]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`orchestrator namespace ${NS}`);
    expect(r.stdout).toContain('leader election off');
    expect(r.stdout).toMatch(/ray installed, lws installed/);
    expect(r.stdout).toContain(`${NS}/llama  backend ray`);
    expect(r.stdout).toContain(`${NS}/qwen  backend ray`);
    expect(r.stdout).toContain('replicas: 2 desired · 2 ready · 2 updated · 2 available · 2 existing');
    expect(r.stdout).toContain('replicas: 1 desired · 1 ready · 1 updated · 1 available · 1 existing');
    expect(r.stdout).toMatch(/Available\s+True\s+MinimumReplicasAvailable\s+2 of 2 replicas ready/);
    expect(r.stdout).toMatch(/Progressing\s+True\s+NewRevisionAvailable/);
    expect(r.stdout).toMatch(/ReplicaFailure\s+False/);
    // Every replica of llama: its name, revision, ready, restarts and its two nodes.
    const revision = (world.fleet('llama')?.status as { currentRevision: string }).currentRevision;
    expect(r.stdout).toContain(`revision ${revision}`);
    for (const x of status('llama').replicaStatuses ?? []) expect(r.stdout).toMatch(new RegExp(`${x.name}\\s+${revision}\\s+yes\\s+0\\s+n\\d, n\\d`));
  });

  it('shows one fleet by NAME, and each reason a replica is not ready', async () => {
    const pod = world.pods((p) => p.metadata.labels?.['brixlet.io/fleet'] === 'qwen')[0];
    expect(pod).toBeDefined();
    world.setPodReady(pod?.metadata.name ?? '', false);
    await world.until(() => status('qwen').readyReplicas === 0, 20_000, 'qwen not ready');
    const r = await cli(['fleet', 'status', 'qwen', '--control', control]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('llama');
    expect(r.stdout).toMatch(/qwen-\S+\s+\S+\s+no\s+0/);
    expect(r.stdout).toContain('· 1 pods not ready');
    expect(r.stdout).toMatch(/Available\s+False\s+MinimumReplicasUnavailable/);
    world.setPodReady(pod?.metadata.name ?? '', true);
    await world.until(() => status('qwen').readyReplicas === 1, 20_000, 'qwen ready again');
  });

  it('--json prints the route\'s answer, the fleets filtered by NAME', async () => {
    const all = await cli(['fleet', 'status', '--control', control, '--json']);
    expect(all.code).toBe(0);
    const body = JSON.parse(all.stdout) as { fleets: { name: string }[]; identity: string };
    expect(Value.Check(OrchestratorFleetsView, body)).toBe(true);
    expect(body.identity).toBe('coordinator-test');
    expect(body.fleets.map((f) => f.name)).toEqual(['llama', 'qwen']);
    const one = JSON.parse((await cli(['fleet', 'status', 'llama', '--control', control, '--json'])).stdout) as { fleets: { name: string; status: Status }[] };
    expect(one.fleets.map((f) => f.name)).toEqual(['llama']);
    expect(one.fleets[0]?.status.readyReplicas).toBe(2);
  });

  it('an unknown NAME or namespace names the fleets there', async () => {
    const r = await cli(['fleet', 'status', 'mistral', '--control', control]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BRX_ERR_FLEET_NOT_FOUND');
    expect(r.stderr).toContain(`${NS}/llama, ${NS}/qwen`);
    const ns = await cli(['fleet', 'status', 'llama', '--namespace', 'other', '--control', control]);
    expect(ns.code).toBe(1);
    expect(ns.stderr).toContain('namespace other');
  });
});

describe('brixlet fleet status, from a coordinator started with --orchestrator.enabled', () => {
  it('shows the fleets its orchestrator reconciles, with the reasons its health checks give', async () => {
    const own = await startFleetWorld();
    const store = new DisposableStore('test');
    try {
      own.createFleet('mistral', raySpec({ model: 'mistralai/Mistral-Large-Instruct-2411', tensorParallelSize: 8, pipelineParallelSize: 1, nodesPerReplica: 1, replicas: 2 }));
      const c = await startCoordinator(
        {
          config: loadConfig({
            flags: {
              'gateway.host': '127.0.0.1',
              'gateway.port': '0',
              'control.host': '127.0.0.1',
              'control.port': '0',
              'orchestrator.enabled': 'true',
              'orchestrator.leaderElection': 'off',
              'orchestrator.namespace': NS,
            },
            env: {},
          }).config,
          log: silentLog,
          processRegistry: createProcessRegistry(),
          store,
          version: 'test',
        },
        { kube: own.kube },
      );
      // The coordinator's controller creates the RayClusters; the stand-in KubeRay gives them pods.
      await own.until(() => ((own.fleet('mistral')?.status ?? {}) as Status).replicaStatuses?.length === 2, 60_000, 'two replicas in the status');
      const r = await cli(['fleet', 'status', '--control', c.controlUrl]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`orchestrator namespace ${NS}`);
      expect(r.stdout).toContain(`${NS}/mistral  backend ray`);
      expect(r.stdout).toMatch(/replicas: 2 desired · \d ready · 2 updated/);
      const body = JSON.parse((await cli(['fleet', 'status', 'mistral', '--control', c.controlUrl, '--json'])).stdout) as { fleets: { status: { replicaStatuses: { name: string; ready: boolean; reasons?: string[] }[] } }[] };
      // Every replica the coordinator reports is printed; one not ready prints each of its reasons
      // (here the Ray dashboard and engine probes find nothing on the pods' address).
      expect(body.fleets[0]?.status.replicaStatuses.some((x) => !x.ready && (x.reasons ?? []).length > 0)).toBe(true);
      for (const x of body.fleets[0]?.status.replicaStatuses ?? []) {
        expect(r.stdout).toContain(x.name);
        for (const reason of x.ready ? [] : (x.reasons ?? [])) expect(r.stdout).toContain(`· ${reason}`);
      }
    } finally {
      await store.dispose();
      await own.close();
    }
  }, 90_000);
});

describe('brixlet fleet status, errors that name the fix', () => {
  it('a coordinator without the orchestrator: --orchestrator.enabled', async () => {
    const store = new DisposableStore('test');
    try {
      const c = await startCoordinator({
        config: loadConfig({ flags: { 'gateway.host': '127.0.0.1', 'gateway.port': '0', 'control.host': '127.0.0.1', 'control.port': '0' }, env: {} }).config,
        log: silentLog,
        processRegistry: createProcessRegistry(),
        store,
        version: 'test',
      });
      const r = await cli(['fleet', 'status', '--control', c.controlUrl]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('BRX_ERR_FLEET_ORCHESTRATOR_OFF');
      expect(r.stderr).toContain('--orchestrator.enabled');
    } finally {
      await store.dispose();
    }
  });

  it('nothing listening: the control port and --kubeconfig', async () => {
    const port = await freePort();
    const r = await cli(['fleet', 'status', '--control', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BRX_ERR_FLEET_COORDINATOR');
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('port-forward');
    expect(r.stderr).toContain('--kubeconfig');
  });

  it('the default control URL comes from BRIXLET_CONTROL', async () => {
    const r = await cli(['fleet', 'status', 'llama'], { BRIXLET_CONTROL: control });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${NS}/llama`);
  });

  it('refuses --control with --kubeconfig, a bad URL and two names', async () => {
    expect((await cli(['fleet', 'status', '--control', control, '--kubeconfig', '/nonexistent'])).code).toBe(2);
    const bad = await cli(['fleet', 'status', '--control', 'ftp://x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--control must be an http(s) URL');
    expect((await cli(['fleet', 'status', 'a', 'b', '--control', control])).code).toBe(2);
  });
});

describe('brixlet fleet status --kubeconfig', () => {
  it('reads the fleets and the status the leader wrote from the API server', async () => {
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, world.server.kubeconfig());
    const r = await cli(['fleet', 'status', '--kubeconfig', file, '--namespace', NS]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`from the API server ${world.server.url} (namespace ${NS})`);
    expect(r.stdout).toContain('replicas: 2 desired · 2 ready · 2 updated · 2 available · 2 existing');
    expect(r.stdout).toContain(`${NS}/qwen  backend ray`);
    const json = JSON.parse((await cli(['fleet', 'status', 'llama', '--kubeconfig', file, '--namespace', NS, '--json'])).stdout) as { fleets: { name: string; desiredReplicas: number }[] };
    expect(json.fleets).toMatchObject([{ name: 'llama', desiredReplicas: 2 }]);
  });
});

describe('brixlet fleet --help', () => {
  it('teaches status: the route, the default URL, --orchestrator.enabled and --kubeconfig', async () => {
    const r = await cli(['fleet', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['fleet status [NAME]', '/v1/orchestrator/fleets', 'http://127.0.0.1:8081', '--orchestrator.enabled', '--kubeconfig', 'port-forward']) expect(r.stdout).toContain(s);
  });
});
