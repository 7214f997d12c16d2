// Deployments labelled model.aibrix.ai/name, read through the fake API server, become the planner's
// deployments beside the configured ones; their spec.replicas is the count running when first seen.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type FakeApiServer, startFakeApiServer } from '../../../mocks/kube-apiserver/index.js';
import type { Disposable } from '../../../src/common/lifecycle.js';
import { DecayedLoadMonitor } from '../../../src/coordinator/optimizer/load-monitor.js';
import { followKubeDeployments } from '../../../src/coordinator/optimizer/kube-deployments.js';
import { Planner, type SolveFn } from '../../../src/coordinator/optimizer/planner.js';
import type { PlanProblem } from '../../../src/coordinator/optimizer/types.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { silentLog } from '../../helpers/apps.js';

const NS = 'llm';
const grid = { outputs: [8, 128], inputs: [256, 2048] };
const profile = (gpu: string, cost: number) => ({ profile: { gpu, model: 'llama', cost, grid, tputs: Float64Array.of(10, 2, 3, 0.5) }, warnings: [], source: `${gpu}.json` });

let server: FakeApiServer;
let kube: KubeClient;
let follow: Disposable | undefined;

beforeEach(async () => {
  server = await startFakeApiServer({ namespace: NS, resources: [{ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, status: true }] });
  kube = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
});
afterEach(async () => {
  await follow?.dispose();
  await kube.dispose();
  await server.close();
});

const create = (name: string, labels: Record<string, string>, replicas: number) =>
  server.store.create('deployments.apps', NS, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS, labels }, spec: { replicas } });

it('plans the labelled Deployments with the configured ones, their floors and running replicas', async () => {
  create('llama-a10', { 'model.aibrix.ai/name': 'llama', 'brixlet.io/gpu-type': 'a10', 'model.aibrix.ai/min_replicas': '1' }, 3);
  create('l20', { 'model.aibrix.ai/name': 'llama' }, 2);
  create('web', { app: 'web' }, 5);
  const problems: PlanProblem[] = [];
  const solve: SolveFn = async (p) => {
    problems.push(p);
    return { status: 'optimal', counts: Object.fromEntries(p.types.map((t) => [t.name, Math.max(t.min ?? 0, 1)])), cost: 1, split: [], solveMs: 1 };
  };
  let now = 1_700_000_000_000;
  const monitor = new DecayedLoadMonitor();
  const planner = new Planner({
    settings: { model: 'split', intervalMs: 10_000, scaleDownWindowMs: 120_000, timeLimitMs: 1000, headroom: 1, switchingCostPercent: 0, available: {}, minimums: {}, namespace: NS },
    load: monitor,
    solve,
    now: () => now,
  });
  planner.setProfiles('llama', [profile('a10', 0.3), profile('l20', 1)]);
  let published = 0;
  follow = followKubeDeployments(kube, {
    selector: 'model.aibrix.ai/name',
    configured: [{ namespace: NS, name: 'llama-h100', model: 'llama', gpu: 'h100', replicas: 1 }],
    onChange: (d) => {
      published++;
      planner.setDeployments(d);
    },
    log: silentLog,
    backoff: { initialMs: 5, maxMs: 40 },
    minWatchMs: 0,
  });
  const names = () => planner.deployments().map((d) => `${d.name}:${d.gpu}:${d.replicas ?? '-'}`);
  await expect.poll(names).toEqual(['l20:l20:2', 'llama-a10:a10:3', 'llama-h100:h100:1']);
  // Planned with the label's floor; running counts kept until the window lets them down.
  for (let k = 0; k < 20; k++) monitor.record('llama', 300, 10, now - k * 100);
  now += 1000;
  planner.tick(now);
  await planner.idle();
  expect(problems.at(-1)!.types.map((t) => [t.name, t.min, t.current])).toEqual([['l20', undefined, 2], ['a10', 1, 3]]);
  expect(names()).toEqual(['l20:l20:2', 'llama-a10:a10:3', 'llama-h100:h100:1']);
  // A replica change alone (the scaler's, or anyone's) is not republished; a new or removed Deployment is.
  const before = published;
  const a10 = server.store.get('deployments.apps', NS, 'llama-a10')!;
  server.store.update('deployments.apps', NS, 'llama-a10', { ...a10, spec: { replicas: 7 } });
  create('llama-a100', { 'model.aibrix.ai/name': 'llama', 'brixlet.io/gpu-type': 'a100' }, 1);
  await expect.poll(names).toContain('llama-a100:a100:1');
  expect(published).toBe(before + 1);
  expect(names()).toContain('llama-a10:a10:3');
  server.store.remove('deployments.apps', NS, 'l20');
  await expect.poll(() => names().some((n) => n.startsWith('l20:'))).toBe(false);
  planner.dispose();
});
