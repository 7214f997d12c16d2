// The coordinator with --gateway.kv-events: a static mock engine whose KV events come from a
// publisher named in --gateway.kv-events-endpoints; the gateway routes on them, /metrics shows the
// feed, and the setting is refused with an explicit characters tokenizer.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { KvEventPublisher } from '../../src/common/kv-events/publisher.js';
import { DisposableStore } from '../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import { type RunningCoordinator, startCoordinator } from '../../src/coordinator/main.js';
import { startMockEngines, type RunningMockEngine } from '../../src/mock-engine/index.js';
import { silentLog } from '../helpers/apps.js';

const MODEL = 'mock-llama-3-8b';
let mocks: RunningMockEngine[];
let pub: KvEventPublisher;
let store: DisposableStore;
let c: RunningCoordinator;

function config(extra: Record<string, string>) {
  return loadConfig({
    flags: {
      'gateway.host': '127.0.0.1',
      'gateway.port': '0',
      'control.host': '127.0.0.1',
      'control.port': '0',
      'gateway.engines': mocks.map((m) => m.url).join(','),
      'gateway.probeInterval': '60s',
      'gateway.kvEvents': 'true',
      ...extra,
    },
    env: {},
  }).config;
}

beforeAll(async () => {
  mocks = await startMockEngines(2, { timeScale: 500 });
  pub = new KvEventPublisher({ endpoint: 'tcp://127.0.0.1:0' });
  await pub.start();
  const name = new URL(mocks[1]!.url).host;
  store = new DisposableStore('test');
  c = await startCoordinator({
    config: config({ 'gateway.tokenizer': 'engine', 'gateway.kvEventsEndpoints': `${name}=${pub.endpoint}` }),
    log: silentLog,
    processRegistry: createProcessRegistry(),
    store,
    version: 'test',
  });
  // Ready once both engines were probed (a first probe's health change must not touch the events' index).
  const deadline = Date.now() + 5000;
  while ((await fetch(`${c.controlUrl}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterAll(async () => {
  await store?.dispose();
  await pub?.close();
  await Promise.all((mocks ?? []).map((m) => m.close()));
});

it('refuses --gateway.kv-events with an explicit --gateway.tokenizer characters, naming the fix', async () => {
  const s = new DisposableStore('refused');
  await expect(
    startCoordinator({ config: config({ 'gateway.tokenizer': 'characters' }), log: silentLog, processRegistry: createProcessRegistry(), store: s, version: 'test' }),
  ).rejects.toMatchObject({ code: 'BRX_ERR_ENGINE_CONFIG', message: expect.stringMatching(/drop --gateway\.tokenizer characters/) });
  await s.dispose();
});

it("routes on the engine's published blocks and exports brixlet_router_kv_events_*", async () => {
  const prompt = 'Translate the question into SQL over the orders table. '.repeat(20);
  const tok = (await (await fetch(`${mocks[0]!.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt }) })).json()) as { tokens: number[] };
  const blocks = Math.floor(tok.tokens.length / 16);
  const deadline = Date.now() + 10_000;
  while (pub.stats().subscriptions === 0) {
    if (Date.now() > deadline) throw new Error('the gateway never subscribed');
    await new Promise((r) => setTimeout(r, 20));
  }
  pub.publish({
    ts: Date.now() / 1000,
    dataParallelRank: null,
    events: [{ type: 'BlockStored', blockHashes: Array.from({ length: blocks }, (_, i) => String(i + 1)), parentBlockHash: null, tokenIds: tok.tokens.slice(0, blocks * 16), blockSize: 16, loraId: null, medium: null, loraName: null }],
  });
  const name = new URL(mocks[1]!.url).host;
  let metrics = '';
  while (!metrics.includes(`brixlet_router_kv_events_live{engine="${name}"} 1`)) {
    if (Date.now() > deadline) throw new Error(`events never applied:\n${metrics}`);
    await new Promise((r) => setTimeout(r, 20));
    metrics = await (await fetch(`${c.controlUrl}/metrics`)).text();
  }
  expect(metrics).toContain(`brixlet_router_kv_events_batches_total{engine="${name}"} 1`);
  expect(metrics).toContain(`brixlet_router_kv_events_engine_blocks{engine="${name}"} ${blocks}`);
  const res = await fetch(`${c.gatewayUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt, max_tokens: 2 }) });
  await res.text();
  expect(res.status).toBe(200);
  expect(res.headers.get('x-brixlet-target')).toBe(name);
  expect(res.headers.get('x-brixlet-policy')).toBe('cost; prefix=kv-events');
});
