// The gateway routes through fastify's inject(): the same proxy as the listener's fast path, the
// model list, the OpenAPI document and the JSON 404.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMockEngines, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { createEngineSet, type EngineSet } from '../../../src/coordinator/engines/engine-set.js';
import { parseEngineList } from '../../../src/coordinator/engines/static-engines.js';
import { buildGatewayApp, type GatewayApp } from '../../../src/coordinator/gateway-app.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { Router } from '../../../src/coordinator/router/router.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

let mocks: RunningMockEngine[];
let set: EngineSet;
let gw: GatewayApp;

beforeAll(async () => {
  mocks = await startMockEngines(2, { timeScale: 500, servedModelNames: ['b-model', 'a-model'] });
  set = createEngineSet({ specs: parseEngineList(mocks.map((m) => m.url).join(',')), log: silentLog, probeInterval: 60_000 });
  await set.probeNow();
  const router = new Router({ defaultPolicy: 'random', prefix: createPrefixIndex({ blockTokens: 16, capacity: 1024 }) });
  gw = await buildGatewayApp({
    log: silentLog,
    metrics: testMetrics(),
    version: 't',
    engines: set,
    router,
    settings: { bodyLimit: 4096, connectTimeout: 1000, firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 1 << 20, retries: 1, maxInFlight: 0 },
    startedAt: new Date(1_700_000_000_000),
  });
});
afterAll(async () => {
  await gw.app.close();
  await set.dispose();
  await Promise.all(mocks.map((m) => m.close()));
});

it('lists the union of the healthy engines\' models in the OpenAI format', async () => {
  expect((await gw.app.inject('/v1/models')).json()).toEqual({
    object: 'list',
    data: [
      { id: 'a-model', object: 'model', created: 1_700_000_000, owned_by: 'brixlet' },
      { id: 'b-model', object: 'model', created: 1_700_000_000, owned_by: 'brixlet' },
    ],
  });
  mocks[0]!.setHealthy(false);
  mocks[1]!.setHealthy(false);
  await set.probeNow();
  expect((await gw.app.inject('/v1/models')).json()).toEqual({ object: 'list', data: [] });
  for (const m of mocks) m.setHealthy(true);
  await set.probeNow();
});

it('proxies completions through inject with the same headers and errors as the listener', async () => {
  const res = await gw.app.inject({ method: 'POST', url: '/v1/completions', payload: { model: 'a-model', prompt: 'hi', max_tokens: 2 } });
  expect(res.statusCode).toBe(200);
  expect(res.headers['x-brixlet-policy']).toBe('random');
  expect(res.headers['x-request-id']).toMatch(/^gateway-/);
  expect(res.json()).toMatchObject({ object: 'text_completion', usage: { completion_tokens: 2 } });
  const stream = await gw.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'b-model', messages: [{ role: 'user', content: 'x' }], max_tokens: 2, stream: true } });
  expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
  expect(stream.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  const bad = await gw.app.inject({ method: 'POST', url: '/v1/completions', payload: '{"model":' , headers: { 'content-type': 'application/json' } });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().error.code).toBe('BRX_ERR_GATEWAY_BAD_REQUEST');
  const big = await gw.app.inject({ method: 'POST', url: '/v1/completions', payload: { model: 'a-model', prompt: 'x'.repeat(5000) } });
  expect(big.statusCode).toBe(413);
  expect(big.json().error.code).toBe('BRX_ERR_HTTP_BODY_TOO_LARGE');
});

it('answers unknown routes with an OpenAI-shaped 404 and documents its routes', async () => {
  const res = await gw.app.inject({ method: 'POST', url: '/v1/embeddings', payload: {} });
  expect(res.statusCode).toBe(404);
  expect(res.json().error).toMatchObject({ code: 'BRX_ERR_HTTP_NOT_FOUND', type: 'invalid_request_error' });
  expect((await gw.app.inject('/healthz')).statusCode).toBe(200);
  expect(Object.keys((await gw.app.inject('/openapi.json')).json().paths)).toEqual(expect.arrayContaining(['/v1/models', '/v1/chat/completions', '/v1/completions']));
});
