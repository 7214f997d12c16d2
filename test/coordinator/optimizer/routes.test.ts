import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrixletServer } from '../../../src/common/http/create-server.js';
import { Readiness } from '../../../src/common/readiness.js';
import { buildControlApp } from '../../../src/coordinator/control-app.js';
import { DecayedLoadMonitor } from '../../../src/coordinator/optimizer/load-monitor.js';
import { createOptimizerMetrics } from '../../../src/coordinator/optimizer/metrics.js';
import { Planner, type PlannerSettings, type SolveFn } from '../../../src/coordinator/optimizer/planner.js';
import { RouteSplit } from '../../../src/coordinator/optimizer/route-split.js';
import { deploymentReplicasText } from '../../../src/coordinator/optimizer/routes.js';
import { gpuSpeed } from '../../../src/coordinator/engines/gpu-speed.js';
import type { EngineState } from '../../../src/coordinator/router/types.js';
import { createControlAuth } from '../../../src/coordinator/registry/control-auth.js';
import { deriveNodeToken } from '../../../src/coordinator/registry/node-token.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const SECRET = 'optimizer-secret-0123456789';
const ADMIN = { authorization: `Bearer ${SECRET}` };
const T0 = 1_700_000_000_000;

const aibrix = (gpu: string, cost: number, tputs: number[][], indexes: number[][] = [[8, 128], [256, 2048]]) => ({ gpu, cost, tputs, indexes, created: 1_700_000_000 });
const A10 = aibrix('a10', 0.3, [[10, 2], [3, 0.5]]);
const L20 = aibrix('l20', 1, [[30, 8], [10, 2]]);

const settings: PlannerSettings = {
  model: 'split',
  intervalMs: 10_000,
  scaleDownWindowMs: 120_000,
  timeLimitMs: 5000,
  headroom: 1,
  switchingCostPercent: 0,
  available: { l20: 2 },
  minimums: {},
  namespace: 'default',
};

/** The solver seam: 3 A10s and 1 L20 whatever the load, within the caps. */
const solve: SolveFn = async (p) => {
  const counts = Object.fromEntries(p.types.map((t) => [t.name, Math.min(t.name === 'a10' ? 3 : 1, t.max ?? Infinity)]));
  return { status: 'optimal', counts, cost: p.types.reduce((a, t) => a + t.cost * (counts[t.name] ?? 0), 0), split: [{ cell: 0, shares: { a10: 0.75, l20: 0.25 } }], solveMs: 2.5 };
};

interface Fixture {
  app: BrixletServer;
  planner: Planner;
  monitor: DecayedLoadMonitor;
  now: { t: number };
  split: RouteSplit | undefined;
}

async function fixture(aibrixCompat = false, routeSplit = true): Promise<Fixture> {
  const now = { t: T0 };
  const monitor = new DecayedLoadMonitor();
  const metrics = testMetrics();
  const om = createOptimizerMetrics(metrics);
  const planner = new Planner({ settings, load: monitor, solve, now: () => now.t, onSolve: (s, ms, model) => om.solved(s, ms, model) });
  om.observe(planner, monitor);
  const split = routeSplit ? new RouteSplit({ plans: planner }) : undefined;
  monitor.setGrid('llama', { outputs: [8, 128], inputs: [256, 2048] });
  const registry = new Registry({ now: () => now.t, sweepTimer: false });
  const app = await buildControlApp({
    log: silentLog,
    metrics,
    readiness: new Readiness(),
    registry,
    version: '1',
    bodyLimit: 1024 * 1024,
    auth: createControlAuth({ secret: SECRET }),
    optimizer: { planner, load: monitor, aibrixCompat, scaleDownWindowMs: settings.scaleDownWindowMs, now: () => now.t, ...(split !== undefined && { split }) },
  });
  return { app, planner, monitor, now, split };
}

async function putProfiles(f: Fixture, body: unknown, headers: Record<string, string> = ADMIN) {
  return f.app.inject({ method: 'PUT', url: '/v1/optimizer/profiles', payload: body as object, headers });
}

async function planned(f: Fixture): Promise<void> {
  for (let k = 0; k < 50; k++) f.monitor.record('llama', 300, 10, f.now.t - k * 100);
  f.monitor.record('llama', 100_000, 10, f.now.t); // beyond the grid: clamped
  f.planner.tick(f.now.t);
  await f.planner.idle();
}

describe('optimizer routes', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });
  afterAll(() => f.app.close());

  it('takes profiles with the cluster secret only, and lists them', async () => {
    expect((await putProfiles(f, { model: 'llama', profiles: [A10] }, {})).statusCode).toBe(401);
    const nodeToken = deriveNodeToken(SECRET, 'node-a');
    const forbidden = await putProfiles(f, { model: 'llama', profiles: [A10] }, { authorization: `Bearer ${nodeToken}` });
    expect(forbidden.statusCode).toBe(401); // a node token is not known for this write (no node is named)
    const put = await putProfiles(f, { model: 'llama', profiles: [A10, L20] });
    expect(put.statusCode).toBe(200);
    const list = (await f.app.inject('/v1/optimizer/profiles')).json();
    expect(list.models).toEqual([
      {
        model: 'llama',
        profiles: [
          expect.objectContaining({ gpu: 'a10', cost: 0.3, source: 'PUT /v1/optimizer/profiles', indexes: [[8, 128], [256, 2048]], tputs: [[10, 2], [3, 0.5]], warnings: [] }),
          expect.objectContaining({ gpu: 'l20', cost: 1 }),
        ],
      },
    ]);
  });

  it('refuses a bad profile with 400 naming the field, and changes nothing', async () => {
    const negative = await putProfiles(f, { model: 'llama', profiles: [{ ...A10, cost: -1 }] });
    expect(negative.statusCode).toBe(400);
    expect(negative.json().error).toMatchObject({ code: 'BRX_ERR_OPTIMIZER_PROFILE', message: expect.stringMatching(/profiles\[0\].*cost/) });
    const rows = await putProfiles(f, { model: 'llama', profiles: [A10, { ...L20, tputs: [[1, 2]] }] });
    expect(rows.statusCode).toBe(400);
    expect(rows.json().error.message).toMatch(/profiles\[1\].*tputs has 1 rows/);
    const noModel = await putProfiles(f, { profiles: [A10] });
    expect(noModel.statusCode).toBe(400);
    expect(noModel.json().error.message).toMatch(/no model/);
    const notArray = await putProfiles(f, { model: 'llama', profiles: [] });
    expect(notArray.statusCode).toBe(400);
    expect((await f.app.inject('/v1/optimizer/profiles')).json().models[0].profiles.map((p: { cost: number }) => p.cost)).toEqual([0.3, 1]);
  });

  it('accepts a NaN cell as infeasible and names the cell in the warnings', async () => {
    const text = JSON.stringify({ model: 'llama', profiles: [{ ...L20, tputs: [[30, 8], [10, 'NAN']] }] }).replace('"NAN"', 'NaN');
    const put = await f.app.inject({ method: 'PUT', url: '/v1/optimizer/profiles', payload: text, headers: { ...ADMIN, 'content-type': 'application/json' } });
    // JSON.parse refuses bare NaN in a request body: the client is told, nothing changes.
    expect(put.statusCode).toBe(400);
    const withNull = await putProfiles(f, { model: 'llama', profiles: [{ ...L20, tputs: [[30, 8], [10, null]] }] });
    expect(withNull.statusCode).toBe(200);
    expect(withNull.json().warnings).toEqual([expect.stringMatching(/tputs cell output 128 × input 2048 is NaN or null; treated as infeasible/)]);
    await putProfiles(f, { model: 'llama', profiles: [L20] });
  });

  it('refuses a profile on another grid with a 4xx naming both profiles', async () => {
    const h100 = aibrix('h100', 2, [[1, 1, 1], [1, 1, 1]], [[8, 128], [256, 1024, 2048]]);
    const res = await putProfiles(f, { model: 'llama', profiles: [h100] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'BRX_ERR_OPTIMIZER_GRID_MISMATCH', message: expect.stringMatching(/h100 and a10|a10 and h100/) });
    expect((await f.app.inject('/v1/optimizer/profiles')).json().models[0].profiles.map((p: { gpu: string }) => p.gpu)).toEqual(['a10', 'l20']);
  });

  it('serves no replica count before the first plan (503), 404 for a deployment it does not plan', async () => {
    const before = await f.app.inject('/metrics/default/a10');
    expect(before.statusCode).toBe(503);
    expect(before.json().error.code).toBe('BRX_ERR_OPTIMIZER_NO_PLAN');
    const unknown = await f.app.inject('/metrics/default/nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('BRX_ERR_OPTIMIZER_UNKNOWN_DEPLOYMENT');
    expect((await f.app.inject('/v1/optimizer/deployments/prod/a10')).statusCode).toBe(404);
    expect((await f.app.inject('/v1/optimizer/plan')).json()).toMatchObject({ at: null, models: [] });
  });

  it('serves vllm:deployment_replicas exactly as AIBrix\'s optimizer, whole replicas by default', async () => {
    await planned(f);
    const res = await f.app.inject('/metrics/default/a10');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('# HELP vllm:deployment_replicas Number of suggested replicas.\n# TYPE vllm:deployment_replicas gauge\nvllm:deployment_replicas{model_name="llama"} 3\n');
    expect((await f.app.inject('/metrics/default/l20')).body).toContain('vllm:deployment_replicas{model_name="llama"} 1\n');
    expect(deploymentReplicasText('a"b\\c', 5)).toContain('{model_name="a\\"b\\\\c"} 5');
  });

  it('serves the KEDA metrics-api JSON per deployment', async () => {
    const res = await f.app.inject('/v1/optimizer/deployments/default/a10');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ namespace: 'default', deployment: 'a10', model: 'llama', gpu: 'a10', replicas: 3, target: 3, planAt: new Date(T0).toISOString() });
    expect((await f.app.inject('/v1/optimizer/deployments')).json().deployments.map((d: { deployment: string }) => d.deployment)).toEqual(['a10', 'l20']);
  });

  it('serves the plan: counts per type, split, cost, solve time, status, when', async () => {
    const plan = (await f.app.inject('/v1/optimizer/plan')).json();
    expect(plan.at).toBe(new Date(T0).toISOString());
    expect(plan.models).toEqual([
      { model: 'llama', status: 'optimal', rate: expect.any(Number), types: { a10: 3, l20: 1 }, cost: 1.9, solveMs: 2.5, solvedAt: new Date(T0).toISOString(), split: [{ output: 8, input: 256, shares: { a10: 0.75, l20: 0.25 } }] },
    ]);
    expect(plan.models[0].rate).toBeGreaterThan(0);
  });

  it('explains: profiles used, cells loaded and clamped, caps, binding constraints, why', async () => {
    f.monitor.record('mistral', 100, 100, f.now.t);
    const ex = (await f.app.inject('/v1/optimizer/explain')).json();
    const m = ex.models[0];
    expect(m.profiles.map((p: { gpu: string; source: string }) => [p.gpu, p.source])).toEqual([['a10', 'PUT /v1/optimizer/profiles'], ['l20', 'PUT /v1/optimizer/profiles']]);
    expect(m.grid).toEqual({ outputs: [8, 128], inputs: [256, 2048] });
    expect(m.load.cells.map((c: { output: number; input: number }) => [c.output, c.input])).toEqual([[8, 256], [8, 2048]]);
    expect(m.load.clamped).toBeCloseTo(1, 2);
    expect(m.caps).toEqual({ a10: null, l20: 2 });
    expect(m.why).toEqual(expect.arrayContaining([expect.stringMatching(/outside the profile grid/), 'default/a10: 3 replicas, as the plan asks']));
    expect(ex.unprofiled).toEqual([{ model: 'mistral', rate: expect.any(Number), why: expect.stringMatching(/no profile covers it: nothing is scaled for it/) }]);
  });

  it('explains the split per loaded cell, and how many requests the router sent by it', async () => {
    const engine = (name: string, gpu: string): EngineState => ({ uid: name, name, url: `http://${name}`, models: ['llama'], speed: gpuSpeed(gpu), healthy: true, load: { inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 } });
    const fleet = [engine('a10-0', 'a10'), engine('l20-0', 'l20')];
    for (let k = 0; k < 4; k++) f.split!.filter({ model: 'llama', prompt: 'x', promptTokens: 250, maxTokens: 8 }, fleet);
    const ex = (await f.app.inject('/v1/optimizer/explain')).json();
    const split = ex.models[0].split;
    expect(split.types).toEqual([
      { gpu: 'a10', gpus: 3, cap: null, min: 0, load: expect.any(Number), spare: expect.any(Number) },
      { gpu: 'l20', gpus: 1, cap: 2, min: 0, load: expect.any(Number), spare: expect.any(Number) },
    ]);
    expect(split.cells).toEqual([
      {
        output: 8,
        input: 256,
        rate: expect.any(Number),
        binding: 'whole GPUs',
        types: [
          { gpu: 'a10', share: 0.75, throughput: 10, costPerRps: 0.03, decision: 'cheapest', why: 'cheapest per unit of load (0.0300 per req/s)' },
          { gpu: 'l20', share: 0.25, throughput: 30, costPerRps: 0.033333, decision: 'overflow', why: expect.stringMatching(/^0\.0333 per req\/s against 0\.0300: whole GPUs: /) },
        ],
      },
    ]);
    expect(ex.routeSplit).toEqual({
      enabled: true,
      why: expect.stringMatching(/--optimizer.route-split/),
      decisions: [
        { model: 'llama', gpu: 'a10', result: 'followed', requests: 3 },
        { model: 'llama', gpu: 'l20', result: 'followed', requests: 1 },
      ],
    });
  });

  it('says why a lower count waits, and exports brixlet_optimizer_* metrics', async () => {
    (f.planner as unknown as { opts: { solve: SolveFn } }).opts.solve = async (p) => ({ status: 'optimal', counts: Object.fromEntries(p.types.map((t) => [t.name, 1])), cost: 1.3, split: [], solveMs: 1 });
    f.now.t += 10_000;
    f.planner.tick(f.now.t);
    await f.planner.idle();
    expect((await f.app.inject('/metrics/default/a10')).body).toContain('} 3\n');
    const ex = (await f.app.inject('/v1/optimizer/explain')).json();
    expect(ex.models[0].why).toContain(`default/a10: stays at 3 until ${new Date(T0 + 10_000 + 120_000).toISOString()}: 1 asked for, and a scale-down waits for the lower count to be asked for 120 s`);
    const text = (await f.app.inject('/metrics')).body;
    expect(text).toContain('brixlet_optimizer_solves_total{model="llama",status="optimal"} 2');
    expect(text).toContain('brixlet_optimizer_solve_duration_seconds_count 2');
    expect(text).toContain('brixlet_optimizer_plan_replicas{namespace="default",deployment="a10",model="llama",gpu="a10"} 3');
    expect(text).toContain(`brixlet_optimizer_plan_cost{model="llama"} ${f.planner.modelResults()[0]!.cost}\n`);
    expect(text).toContain('brixlet_optimizer_clamped_requests_total{model="llama"} 1');
  });

  it('forgets a profile on DELETE (404 for one it does not have)', async () => {
    expect((await f.app.inject({ method: 'DELETE', url: '/v1/optimizer/profiles/llama/h100', headers: ADMIN })).statusCode).toBe(404);
    const del = await f.app.inject({ method: 'DELETE', url: '/v1/optimizer/profiles/llama/l20', headers: ADMIN });
    expect(del.statusCode).toBe(200);
    expect(del.json().models[0].profiles.map((p: { gpu: string }) => p.gpu)).toEqual(['a10']);
    const spec = (await f.app.inject('/openapi.json')).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/metrics/{namespace}/{deployment}', '/v1/optimizer/plan', '/v1/optimizer/explain', '/v1/optimizer/profiles', '/v1/optimizer/deployments/{namespace}/{deployment}']),
    );
  });
});

describe('just started, no load yet', () => {
  it('answers 503 saying the minimum waits for the scale-down window', async () => {
    const f = await fixture();
    try {
      await putProfiles(f, { model: 'llama', profiles: [A10, L20] });
      f.planner.tick(f.now.t);
      await f.planner.idle();
      const res = await f.app.inject('/v1/optimizer/deployments/default/a10');
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toMatch(/no load seen since the coordinator started; its minimum \(0\) applies once --optimizer.scale-down-window has passed/);
      f.now.t += settings.scaleDownWindowMs;
      f.planner.tick(f.now.t);
      await f.planner.idle();
      expect((await f.app.inject('/metrics/default/a10')).body).toContain('vllm:deployment_replicas{model_name="llama"} 0\n');
    } finally {
      await f.app.close();
    }
  });
});

describe('aibrix-compat', () => {
  it('serves vllm:deployment_replicas in 1/100 GPU units', async () => {
    const f = await fixture(true);
    try {
      expect((await putProfiles(f, { model: 'llama', profiles: [A10, L20] })).statusCode).toBe(200);
      await planned(f);
      expect((await f.app.inject('/metrics/default/a10')).body).toContain('vllm:deployment_replicas{model_name="llama"} 300\n');
      expect((await f.app.inject('/v1/optimizer/deployments/default/a10')).json().replicas).toBe(3);
      const off = await fixture(true, false);
      try {
        expect((await off.app.inject('/v1/optimizer/explain')).json().routeSplit).toEqual({ enabled: false, why: expect.stringMatching(/routes by its policy alone/), decisions: [] });
      } finally {
        await off.app.close();
      }
    } finally {
      await f.app.close();
    }
  });
});
