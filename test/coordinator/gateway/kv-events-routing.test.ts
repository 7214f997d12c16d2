// The gateway with the KV-event index: token ids from the mock engine's /tokenize, a BlockStored of
// those ids on one engine, and the request routed there with x-brixlet-policy naming the index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineSet, type EngineSet } from '../../../src/coordinator/engines/engine-set.js';
import { parseEngineList } from '../../../src/coordinator/engines/static-engines.js';
import { buildGatewayApp, type GatewayApp } from '../../../src/coordinator/gateway-app.js';
import { HybridPrefixIndex } from '../../../src/coordinator/router/hybrid-prefix-index.js';
import { createKvEventIndex, type KvEventIndex } from '../../../src/coordinator/router/kv-event-index.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { Router } from '../../../src/coordinator/router/router.js';
import { startMockEngines, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const MODEL = 'mock-llama-3-8b';
const BS = 16;

describe('gateway routing on KV events', () => {
  let mocks: RunningMockEngine[];
  let set: EngineSet;
  let gateway: GatewayApp;
  let url: string;
  let exact: KvEventIndex;

  beforeAll(async () => {
    mocks = await startMockEngines(3, { timeScale: 500 });
    set = createEngineSet({ specs: parseEngineList(mocks.map((m) => m.url).join(',')), log: silentLog, probeInterval: 60_000 });
    await set.probeNow();
    exact = createKvEventIndex({ capacity: 10_000, staleMs: 60_000 });
    const prefix = new HybridPrefixIndex(createPrefixIndex({ blockTokens: 32, capacity: 4096 }), exact);
    const router = new Router({ defaultPolicy: 'prefix-cache', prefix, random: () => 0.5 });
    gateway = await buildGatewayApp({
      log: silentLog,
      metrics: testMetrics(),
      version: 'test',
      engines: set,
      router,
      settings: { bodyLimit: 1 << 20, connectTimeout: 1000, firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 1 << 20, retries: 0, maxInFlight: 0, tokenizer: 'engine' },
    });
    url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await gateway?.app.close();
    await set?.dispose();
    await Promise.all((mocks ?? []).map((m) => m.close()));
  });

  it("sends the prompt to the engine whose events hold its blocks and names the index in x-brixlet-policy", async () => {
    const prompt = 'You are a careful SQL assistant. '.repeat(40);
    const tok = (await (await fetch(`${mocks[0]!.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt }) })).json()) as { tokens: number[] };
    const blocks = Math.floor(tok.tokens.length / BS);
    expect(blocks).toBeGreaterThan(2);
    const target = set.all().find((e) => e.url === mocks[2]!.url)!;
    exact.ingest(
      target.uid,
      {
        topic: 'kv',
        seq: 0n,
        batch: {
          ts: 0,
          dataParallelRank: null,
          events: [{ type: 'BlockStored', blockHashes: Array.from({ length: blocks }, (_, i) => String(i + 1)), parentBlockHash: null, tokenIds: tok.tokens.slice(0, blocks * BS), blockSize: BS, loraId: null, medium: null, loraName: null }],
        },
      },
      Date.now(),
    );
    const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt, max_tokens: 2 }) });
    expect(res.status).toBe(200);
    await res.text();
    expect(res.headers.get('x-brixlet-target')).toBe(target.name);
    expect(res.headers.get('x-brixlet-policy')).toBe('prefix-cache; prefix=kv-events');
  });
});
