// --gateway.tokenizer engine against real mock engines: /tokenize answers, the gateway counts the
// engine's tokens and the prefix index cuts blocks of tokens; any failure falls back to characters.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMockEngines, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { createEngineSet, type EngineSet } from '../../../src/coordinator/engines/engine-set.js';
import { parseEngineList } from '../../../src/coordinator/engines/static-engines.js';
import { buildGatewayApp, type GatewayApp } from '../../../src/coordinator/gateway-app.js';
import { createEngineTokenizer, tokensToText } from '../../../src/coordinator/gateway/engine-tokenizer.js';
import { UpstreamPools } from '../../../src/coordinator/gateway/upstream-pools.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { Router } from '../../../src/coordinator/router/router.js';
import type { PrefixIndex } from '../../../src/coordinator/router/types.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const MODEL = 'tok-model';
let mocks: RunningMockEngine[];
let pools: UpstreamPools;

beforeAll(async () => {
  mocks = await startMockEngines(1, { timeScale: Infinity, servedModelNames: [MODEL] });
  pools = new UpstreamPools({ connectTimeout: 1000 });
});
afterAll(async () => {
  await pools.dispose();
  await Promise.all(mocks.map((m) => m.close()));
});

it('reads token ids from an engine /tokenize, equal prefixes giving equal token text', async () => {
  const t = createEngineTokenizer(pools, { timeoutMs: 1000 });
  const a = await t.tokenize(mocks[0]!.url, MODEL, 'system: you are helpful\nuser: hello there');
  const b = await t.tokenize(mocks[0]!.url, MODEL, 'system: you are helpful\nuser: something else');
  expect(a?.count).toBe(Math.ceil('system: you are helpful\nuser: hello there'.length / 4));
  expect(a?.text.length).toBe(a?.count);
  expect(a!.text.slice(0, 6)).toBe(b!.text.slice(0, 6));
  expect(a!.text).not.toBe(b!.text);
  // Failures are undefined, never thrown: a dead engine, and an answer that is not a token list.
  expect(await t.tokenize('http://127.0.0.1:1', MODEL, 'x')).toBeUndefined();
  const bad = await fetch(`${mocks[0]!.url}/tokenize`, { method: 'POST', body: '{"prompt": 5}' });
  expect(bad.status).toBe(400);
});

it('tokensToText keeps one code unit per token across slices', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 100_000);
  const text = tokensToText(ids);
  expect(text.length).toBe(ids.length);
  expect(text.charCodeAt(12_345)).toBe((ids[12_345] as number) & 0xffff);
});

async function gateway(tokenizer: 'characters' | 'engine'): Promise<{ gw: GatewayApp; set: EngineSet; prefix: PrefixIndex }> {
  const set = createEngineSet({ specs: parseEngineList(mocks[0]!.url), log: silentLog, probeInterval: 60_000 });
  await set.probeNow();
  const prefix = createPrefixIndex({ blockTokens: 16, capacity: 4096 });
  const router = new Router({ defaultPolicy: 'cost', prefix });
  const gw = await buildGatewayApp({
    log: silentLog,
    metrics: testMetrics(),
    version: 't',
    engines: set,
    router,
    settings: { bodyLimit: 1 << 20, connectTimeout: 1000, firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 1 << 20, retries: 0, maxInFlight: 0, tokenizer },
  });
  return { gw, set, prefix };
}

it('with --gateway.tokenizer engine the prefix index holds blocks of tokens, with characters blocks of characters', async () => {
  const prompt = 'abcd'.repeat(160); // 640 characters = 160 mock tokens
  for (const [mode, blocks] of [['characters', 640 / 16], ['engine', 160 / 16]] as const) {
    const { gw, set, prefix } = await gateway(mode);
    try {
      const res = await gw.app.inject({ method: 'POST', url: '/v1/completions', payload: { model: MODEL, prompt, max_tokens: 1 } });
      expect(res.statusCode).toBe(200);
      expect(prefix.size).toBe(blocks);
    } finally {
      await gw.app.close();
      await set.dispose();
    }
  }
});
