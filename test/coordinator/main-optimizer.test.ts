// The coordinator with --optimizer.profiles: the gateway's requests feed the load monitor, the
// planner solves on HiGHS from the profile files, and the control port serves the plan and AIBrix's
// replica metric; a bad profile file stops the start with its code.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { DisposableStore } from '../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import { type RunningCoordinator, startCoordinator } from '../../src/coordinator/main.js';
import { silentLog } from '../helpers/apps.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-optimizer-'));
const profile = (gpu: string, cost: number, tputs: number[][]) => JSON.stringify({ gpu, cost, tputs, indexes: [[8, 128], [256, 2048]] });
writeFileSync(join(dir, 'a10.json'), profile('a10', 0.3, [[10, 2], [3, 0.5]]));
writeFileSync(join(dir, 'l20.json'), profile('l20', 1, [[30, 8], [10, 2]]));
writeFileSync(join(dir, 'bad.json'), profile('h100', -2, [[1, 1], [1, 1]]));

const start = (flags: Record<string, string>, store: DisposableStore) =>
  startCoordinator({
    config: loadConfig({ flags: { 'gateway.host': '127.0.0.1', 'gateway.port': '0', 'control.host': '127.0.0.1', 'control.port': '0', ...flags }, env: {} }).config,
    log: silentLog,
    processRegistry: createProcessRegistry(),
    store,
    version: 'test',
  });

let store: DisposableStore;
let c: RunningCoordinator;
beforeAll(async () => {
  store = new DisposableStore('test');
  c = await start({ 'optimizer.profiles': `llama=${join(dir, 'a10.json')},llama=${join(dir, 'l20.json')}`, 'optimizer.available': 'l20=1', 'optimizer.aibrixCompat': 'true' }, store);
});
afterAll(async () => {
  await store.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it('plans from the monitor\'s load on HiGHS and serves the plan and vllm:deployment_replicas', async () => {
  expect(c.planner).toBeDefined();
  const now = Date.now();
  for (let k = 0; k < 200; k++) c.monitor.record('llama', 300, 10, now - k * 50); // ≈ 20 req/s of (in 256, out 8)
  c.planner!.markDirty('load');
  const deadline = Date.now() + 20_000;
  let plan: { models: { status: string; types: Record<string, number> }[] } = { models: [] };
  while (Date.now() < deadline) {
    plan = (await (await fetch(`${c.controlUrl}/v1/optimizer/plan`)).json()) as typeof plan;
    if (plan.models[0]?.status === 'optimal' && Object.values(plan.models[0].types).some((n) => n > 0)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = plan.models[0]!;
  expect(m.status).toBe('optimal');
  expect(m.types.l20!).toBeLessThanOrEqual(1);
  const a10 = (await (await fetch(`${c.controlUrl}/v1/optimizer/deployments/default/a10`)).json()) as { replicas: number };
  expect(a10.replicas).toBe(m.types.a10);
  const text = await (await fetch(`${c.controlUrl}/metrics/default/a10`)).text();
  expect(text).toContain(`vllm:deployment_replicas{model_name="llama"} ${a10.replicas * 100}\n`);
  expect(await (await fetch(`${c.controlUrl}/metrics`)).text()).toContain('brixlet_optimizer_solves_total{model="llama",status="optimal"}');
}, 30_000);

it('refuses to start on a bad profile file, naming it', async () => {
  const s = new DisposableStore('bad');
  await expect(start({ 'optimizer.profiles': `llama=${join(dir, 'bad.json')}` }, s)).rejects.toMatchObject({ code: 'BRX_ERR_OPTIMIZER_PROFILE', message: expect.stringContaining('bad.json') });
  await s.dispose();
  const t = new DisposableStore('nomodel');
  await expect(start({ 'optimizer.profiles': join(dir, 'a10.json') }, t)).rejects.toMatchObject({ code: 'BRX_ERR_OPTIMIZER_CONFIG', message: expect.stringMatching(/names no model/) });
  await t.dispose();
});
