// What faces the network, fuzzed: arbitrary bytes, arbitrary JSON and near-valid OpenAI bodies sent to
// the gateway's listener (its fast path) in front of real mock engines. Every answer is a complete
// HTTP response with a 2xx or an OpenAI-shaped 4xx body, never a 5xx or a hang, nothing stays in
// flight, and a well-formed request still succeeds afterwards.
import fc from 'fast-check';
import { Pool } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMockEngines, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { createEngineSet, type EngineSet } from '../../../src/coordinator/engines/engine-set.js';
import { parseEngineList } from '../../../src/coordinator/engines/static-engines.js';
import { buildGatewayApp, type GatewayApp } from '../../../src/coordinator/gateway-app.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { Router } from '../../../src/coordinator/router/router.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const MODEL = 'fuzz-model';
let mocks: RunningMockEngine[];
let set: EngineSet;
let gw: GatewayApp;
let pool: Pool;

beforeAll(async () => {
  mocks = await startMockEngines(2, { timeScale: Infinity, servedModelNames: [MODEL] });
  set = createEngineSet({ specs: parseEngineList(mocks.map((m) => m.url).join(',')), log: silentLog, probeInterval: 60_000 });
  await set.probeNow();
  const router = new Router({ defaultPolicy: 'cost', prefix: createPrefixIndex({ blockTokens: 16, capacity: 4096 }) });
  gw = await buildGatewayApp({
    log: silentLog,
    metrics: testMetrics(),
    version: 't',
    engines: set,
    router,
    settings: { bodyLimit: 8192, connectTimeout: 1000, firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 1 << 20, retries: 1, maxInFlight: 0 },
  });
  const url = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  pool = new Pool(url, { connections: 4 });
});
afterAll(async () => {
  await pool.close();
  await gw.app.close();
  await set.dispose();
  await Promise.all(mocks.map((m) => m.close()));
});

async function post(path: string, body: Uint8Array | string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await pool.request({ method: 'POST', path, body, headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

function expectOpenAiAnswer(r: { status: number; text: string }): void {
  expect(r.status, r.text).toBeLessThan(500);
  if (r.status >= 400) {
    // The gateway's own refusals carry a BRX_ERR code; an engine's 4xx (a field only the engine
    // checks) is passed through in the engine's OpenAI format.
    const err = (JSON.parse(r.text) as { error: { code: string | null; message: string; type: string } }).error;
    expect(typeof err.message).toBe('string');
    expect(err.type).toBe('invalid_request_error');
    if (typeof err.code === 'string' && err.code.startsWith('BRX_ERR_')) expect(err.code).toMatch(/^BRX_ERR_[A-Z_]+$/);
  }
}

const PATHS = ['/v1/chat/completions', '/v1/completions'] as const;

it('answers arbitrary bytes with a 4xx and stays up', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PATHS), fc.uint8Array({ maxLength: 12_000 }), async (path, bytes) => {
      expectOpenAiAnswer(await post(path, bytes));
    }),
    { numRuns: 60 },
  );
});

it('answers arbitrary JSON values with a 4xx (or 200 when the value happens to be a valid request)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PATHS), fc.jsonValue({ maxDepth: 4 }), async (path, value) => {
      expectOpenAiAnswer(await post(path, JSON.stringify(value)));
    }),
    { numRuns: 80 },
  );
});

it('answers near-valid OpenAI bodies (wrong types, odd fields, unknown models) without a 5xx', async () => {
  const content = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.record({ type: fc.constantFrom('text', 'image_url', 'x'), text: fc.oneof(fc.string({ maxLength: 50 }), fc.integer()) }), { maxLength: 3 }),
    fc.constant(null),
    fc.integer(),
  );
  const message = fc.record({ role: fc.oneof(fc.constantFrom('system', 'user', 'assistant', ''), fc.integer()), content }, { requiredKeys: [] });
  const body = fc.record(
    {
      model: fc.oneof(fc.constant(MODEL), fc.constant('unknown-model'), fc.string({ maxLength: 20 }), fc.integer()),
      messages: fc.oneof(fc.array(message, { maxLength: 4 }), fc.string(), fc.constant(null)),
      prompt: fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.integer()),
      max_tokens: fc.oneof(fc.integer({ min: -2, max: 4 }), fc.constant('3'), fc.double()),
      stream: fc.oneof(fc.boolean(), fc.constant('yes')),
      stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }), fc.constant(7)),
    },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PATHS), body, async (path, b) => {
      expectOpenAiAnswer(await post(path, JSON.stringify(b)));
    }),
    { numRuns: 150 },
  );
  for (const e of set.all()) expect(e.load.inFlight).toBe(0);
  const ok = await post('/v1/chat/completions', JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'still there?' }], max_tokens: 2 }));
  expect(ok.status).toBe(200);
});
