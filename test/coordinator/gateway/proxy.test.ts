// CompletionProxy over a hand-built engine view (crafted health and load) in front of real mock
// engines and one dead address: connect failures retried, the retry budget, the last error
// reported, end-to-end headers forwarded, and output lengths fed back to the router.
import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMockEngines, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { gpuSpeed } from '../../../src/coordinator/engines/gpu-speed.js';
import type { Candidates, EngineSetView } from '../../../src/coordinator/engines/types.js';
import { buildGatewayApp, type GatewayApp } from '../../../src/coordinator/gateway-app.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { DEFAULT_EXPECTED_OUTPUT, Router } from '../../../src/coordinator/router/router.js';
import type { EngineState } from '../../../src/coordinator/router/types.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const MODEL = 'mock-llama-3-8b';
let mocks: RunningMockEngine[];
let engines: EngineState[];
let router: Router;
let url: string;
let gateway: GatewayApp;
let metrics: ReturnType<typeof testMetrics>;
/** The model the view reports as a LoRA adapter ('' for none). */
let adapter = '';

function state(name: string, engineUrl: string, inFlight: number): EngineState {
  return { uid: engineUrl, name, url: engineUrl, models: [MODEL], speed: gpuSpeed('h100'), healthy: true, load: { inFlight, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 } };
}

/** Every engine is routable, the dead one included: it died between two probes. */
const view: EngineSetView = {
  all: () => engines,
  get: (uid) => engines.find((e) => e.uid === uid),
  candidates(model, exclude): Candidates {
    const left = engines.filter((e) => e.models.includes(model) && !exclude?.has(e.uid));
    return left.length > 0 ? { engines: left } : { engines: [], reason: 'all tried' };
  },
  models: () => [MODEL],
  knowsModel: (m) => m === MODEL,
  isLoraAdapter: (m) => m === adapter,
};

async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

async function start(retries: number): Promise<void> {
  metrics = testMetrics();
  gateway = await buildGatewayApp({ log: silentLog, metrics, version: 't', engines: view, router, settings: { bodyLimit: 65536, connectTimeout: 1000, firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 1 << 20, retries, maxInFlight: 0 } });
  url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  mocks = await startMockEngines(2, { timeScale: 500, apiKey: 'sk-test' });
  router = new Router({ defaultPolicy: 'least-request', prefix: createPrefixIndex({ blockTokens: 16, capacity: 1024 }), random: () => 0.5 });
});
afterAll(async () => {
  await gateway.app.close();
  await Promise.all(mocks.map((m) => m.close()));
});

const chat = (headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 7 }),
  });

it('retries a refused connection on the next engine and counts it', async () => {
  // The dead engine looks idlest, so it is tried first.
  engines = [state('dead', await deadUrl(), 0), state('live-0', mocks[0]!.url, 1), state('live-1', mocks[1]!.url, 2)];
  await start(1);
  const res = await chat();
  expect(res.status).toBe(200);
  expect(res.headers.get('x-brixlet-target')).toBe('live-0');
  await res.json();
  const text = await metrics.render();
  expect(text).toContain('brixlet_router_retries_total{reason="connect"} 1');
  expect(text).toContain('brixlet_router_upstream_errors_total{engine="dead",reason="connect"} 1');
  expect(text).toContain('brixlet_router_decisions_total{policy="least-request",engine="dead"} 1');
  expect(engines.map((e) => e.load.inFlight)).toEqual([0, 1, 2]);
  await gateway.app.close();
});

it('answers 502 with the engine\'s failure when the retry budget is spent', async () => {
  engines = [state('dead-a', await deadUrl(), 0), state('dead-b', await deadUrl(), 1), state('live-0', mocks[0]!.url, 5)];
  await start(1);
  const res = await chat();
  expect(res.status).toBe(502);
  const body = (await res.json()) as { error: { code: string; message: string; type: string } };
  expect(body.error).toMatchObject({ code: 'BRX_ERR_GATEWAY_UPSTREAM', type: 'server_error', message: expect.stringMatching(/^engine dead-b failed: .*ECONNREFUSED/) });
  expect(engines.map((e) => e.load.inFlight)).toEqual([0, 1, 5]);
  await gateway.app.close();
});

it('forwards authorization and answers the engine\'s own 4xx as it is', async () => {
  engines = [state('live-0', mocks[0]!.url, 0)];
  await start(1);
  expect((await chat()).status).toBe(200);
  const denied = await chat({ authorization: 'Bearer wrong' });
  expect(denied.status).toBe(401);
  expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
});

it('feeds output lengths back to the router\'s expectation', async () => {
  await gateway.app.close();
  router = new Router({ defaultPolicy: 'least-request', prefix: createPrefixIndex({ blockTokens: 16, capacity: 1024 }) });
  await start(1);
  expect(router.expectedOutput).toBe(DEFAULT_EXPECTED_OUTPUT);
  await (await chat()).text();
  expect(router.expectedOutput).toBe(7);
});

it('hands the router the adapter name of a request to a LoRA adapter, so its blocks are keyed from the adapter seed', async () => {
  await gateway.app.close();
  const prefix = createPrefixIndex({ blockTokens: 16, capacity: 1024 });
  const blocks = prefix.blocks.bind(prefix);
  const seen: (string | undefined)[] = [];
  prefix.blocks = (prompt, lora) => {
    seen.push(lora);
    return blocks(prompt, lora);
  };
  router = new Router({ defaultPolicy: 'least-request', prefix });
  await start(1);
  await (await chat()).text();
  adapter = MODEL;
  await (await chat()).text();
  adapter = '';
  expect(seen).toEqual([undefined, MODEL]);
});
