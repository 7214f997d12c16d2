// The coordinator with --optimizer.profiles over mock engines of two GPU types: once HiGHS has planned
// from the load, the gateway sends each request shape to the GPU types in the plan's shares
// (x-brixlet-policy: cost; split=a10, brixlet_router_split_decisions_total), then lets the policy pick
// within the type; --no-optimizer.route-split routes by the policy alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { DisposableStore } from '../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import { type RunningCoordinator, startCoordinator } from '../../src/coordinator/main.js';
import { startMockEngines, type RunningMockEngine } from '../../src/mock-engine/index.js';
import { silentLog } from '../helpers/apps.js';

const MODEL = 'mock-llama-3-8b';
const dir = mkdtempSync(join(tmpdir(), 'brixlet-route-split-'));
const profile = (gpu: string, cost: number, tputs: number[][]) => JSON.stringify({ gpu, model: MODEL, cost, tputs, indexes: [[8, 128], [256, 2048]] });
// a10 is the cheaper per request on short prompts and cannot serve long ones.
writeFileSync(join(dir, 'a10.json'), profile('a10', 0.3, [[10, 0], [3, 0]]));
writeFileSync(join(dir, 'l20.json'), profile('l20', 1, [[12, 8], [10, 2]]));

let mocks: RunningMockEngine[];
const stores: DisposableStore[] = [];

async function start(extra: Record<string, string> = {}): Promise<RunningCoordinator> {
  const store = new DisposableStore('test');
  stores.push(store);
  const config = loadConfig({
    flags: {
      'gateway.host': '127.0.0.1',
      'gateway.port': '0',
      'control.host': '127.0.0.1',
      'control.port': '0',
      'gateway.engines': mocks.map((m) => `${m.url}#${m.profile.name}`).join(','),
      'gateway.probeInterval': '60s',
      'optimizer.profiles': `${join(dir, 'a10.json')},${join(dir, 'l20.json')}`,
      ...extra,
    },
    env: {},
  }).config;
  const c = await startCoordinator({ config, log: silentLog, processRegistry: createProcessRegistry(), store, version: 'test' });
  const deadline = Date.now() + 10_000;
  while ((await fetch(`${c.controlUrl}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
  return c;
}

interface Explain {
  models: { split: { cells: { output: number; input: number; types: { gpu: string; share: number; throughput: number; decision: string }[] }[] } }[];
  routeSplit: { enabled: boolean; decisions: { model: string; gpu: string; result: string; requests: number }[] };
}

interface Plan {
  models: { status: string; split: { output: number; input: number; shares: Record<string, number> }[] }[];
}

/** Feeds the monitor half short, half long prompts (≈ 40 req/s) and waits for HiGHS's plan with a split. */
async function planned(c: RunningCoordinator): Promise<Plan['models'][number]> {
  const now = Date.now();
  // Arrivals too: the test's own requests then barely move the rate, and no re-plan starts midway.
  for (let k = 0; k < 400; k++) {
    c.monitor.arrived?.(MODEL, now - k * 25);
    c.monitor.record(MODEL, k % 2 === 0 ? 256 : 2048, 8, now - k * 25);
  }
  c.planner!.markDirty('load');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const plan = (await (await fetch(`${c.controlUrl}/v1/optimizer/plan`)).json()) as Plan;
    const m = plan.models[0];
    if (m !== undefined && m.status === 'optimal' && m.split.length > 0) return m;
    if (Date.now() > deadline) throw new Error(`no plan with a split: ${JSON.stringify(plan)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function complete(c: RunningCoordinator, promptChars: number): Promise<{ policy: string | null; gpu: string | undefined }> {
  const res = await fetch(`${c.gatewayUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'x'.repeat(promptChars), max_tokens: 8 }),
  });
  await res.text();
  expect(res.status).toBe(200);
  const target = res.headers.get('x-brixlet-target');
  return { policy: res.headers.get('x-brixlet-policy'), gpu: mocks.find((m) => new URL(m.url).host === target)?.profile.name };
}

beforeAll(async () => {
  mocks = await startMockEngines(4, { gpus: ['l20', 'a10'], model: MODEL, timeScale: 500 });
});
afterAll(async () => {
  for (const s of stores) await s.dispose();
  await Promise.all((mocks ?? []).map((m) => m.close()));
  rmSync(dir, { recursive: true, force: true });
});

it('sends each request shape to the GPU types in the shares HiGHS planned, and counts it', async () => {
  const c = await start();
  const m = await planned(c);
  const short = m.split.find((s) => s.input === 256 && s.output === 8);
  expect(short).toBeDefined();
  const taken: Record<string, number> = {};
  for (let k = 0; k < 20; k++) {
    const { policy, gpu } = await complete(c, 300);
    const type = /^cost; split=([a-z0-9]+)$/.exec(policy ?? '')?.[1];
    expect(type, policy ?? '').toBeDefined();
    expect(gpu).toBe(type);
    taken[type!] = (taken[type!] ?? 0) + 1;
  }
  for (const [type, share] of Object.entries(short!.shares)) expect(Math.abs((taken[type] ?? 0) - 20 * share)).toBeLessThanOrEqual(1);
  // Long prompts: only l20 serves them.
  expect(await complete(c, 1800)).toEqual({ policy: 'cost; split=l20', gpu: 'l20' });
  const metrics = await (await fetch(`${c.controlUrl}/metrics`)).text();
  expect(metrics).toMatch(new RegExp(`brixlet_router_split_decisions_total\\{model="${MODEL}",type="l20",result="followed"\\} ${(taken.l20 ?? 0) + 1}\\n`));
  // explain says the router follows the split, with the same counts, and why a10 takes no long prompt.
  const ex = (await (await fetch(`${c.controlUrl}/v1/optimizer/explain`)).json()) as Explain;
  expect(ex.routeSplit.enabled).toBe(true);
  expect(ex.routeSplit.decisions).toContainEqual({ model: MODEL, gpu: 'l20', result: 'followed', requests: (taken.l20 ?? 0) + 1 });
  const long = ex.models[0]?.split.cells.find((x) => x.output === 8 && x.input === 2048);
  expect(long?.types.find((t) => t.gpu === 'a10')).toMatchObject({ share: 0, throughput: 0, decision: 'infeasible' });
  expect(long?.types.find((t) => t.gpu === 'l20')).toMatchObject({ share: 1, decision: 'cheapest' });
}, 60_000);

it('routes by the policy alone with --no-optimizer.route-split', async () => {
  const c = await start({ 'optimizer.routeSplit': 'false' });
  await planned(c);
  expect((await complete(c, 300)).policy).toBe('cost');
  expect(((await (await fetch(`${c.controlUrl}/v1/optimizer/explain`)).json()) as Explain).routeSplit).toMatchObject({ enabled: false, decisions: [] });
  expect(await (await fetch(`${c.controlUrl}/metrics`)).text()).not.toContain('brixlet_router_split_decisions_total{');
}, 60_000);
