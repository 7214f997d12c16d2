// The gateway in front of real mock engines, driven by the official `openai` client and by fetch:
// routing headers, OpenAI error bodies, retries only of what never reached an engine, engines dying mid-stream,
// client disconnects, timeouts and limits, and load counters back at zero after all of it.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMockEngines, type RunningMockEngine } from '../../src/mock-engine/index.js';
import type { GatewaySettings } from '../../src/coordinator/gateway-app.js';
import type { LoadMonitor } from '../../src/coordinator/gateway/load-monitor.js';
import type { EngineState, RoutingPolicyName } from '../../src/coordinator/router/types.js';
import { closeGatewayFixture, type GatewayFixture, startGatewayFixture } from '../helpers/gateway-fixture.js';

const MODEL = 'mock-llama-3-8b';
const SLOW_MODEL = 'slow-model';

type Fixture = GatewayFixture;

function fixture(mocks: RunningMockEngine[], policy: RoutingPolicyName, settings: Partial<GatewaySettings>): Promise<Fixture> {
  return startGatewayFixture(mocks, policy, { bodyLimit: 16 * 1024, connectTimeout: 1000, firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 2048, retries: 1, maxInFlight: 0, ...settings });
}

const close = closeGatewayFixture;

function post(f: Fixture, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${f.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal !== undefined && { signal }),
  });
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: 'user' as const, content }], max_tokens: 5, ...extra });

function engineOf(f: Fixture, mock: RunningMockEngine): EngineState {
  const e = f.set.all().find((s) => s.url === mock.url);
  if (e === undefined) throw new Error(`no engine for ${mock.url}`);
  return e;
}

/** Makes `mock` the least-request choice by charging the others; returns the undo. */
function steer(f: Fixture, mock: RunningMockEngine): () => void {
  const others = f.mocks.filter((m) => m !== mock).map((m, i) => ({ e: engineOf(f, m), n: 10 * (i + 1) }));
  for (const { e, n } of others) e.load.inFlight += n;
  return () => {
    for (const { e, n } of others) e.load.inFlight -= n;
  };
}

function expectIdle(f: Fixture): void {
  for (const e of f.set.all()) expect({ engine: e.name, ...e.load, total: 0 }).toEqual({ engine: e.name, inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 });
}

async function metricValue(f: Fixture, series: string): Promise<number> {
  const text = await f.metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('gateway over three fast mock engines', () => {
  let f: Fixture;
  let client: OpenAI;
  beforeAll(async () => {
    f = await fixture(await startMockEngines(3, { timeScale: 500, gpus: ['h100', 'a100', 'l20'] }), 'least-request', {});
    client = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(() => close(f));

  it('lists the union of the healthy engines\' models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('answers chat completions (non-streaming) through the openai client and names the engine', async () => {
    const { data, response } = await client.chat.completions.create(chat('hello there')).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(typeof data.choices[0]?.message.content).toBe('string');
    expect(data.usage?.completion_tokens).toBe(5);
    const target = response.headers.get('x-brixlet-target');
    expect(f.mocks.map((m) => engineOf(f, m).name)).toContain(target);
    expect(response.headers.get('x-brixlet-policy')).toBe('least-request');
    expect(response.headers.get('target-pod')).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('streams chat and completions chunk by chunk, with the usage chunk', async () => {
    const stream = await client.chat.completions.create({ ...chat('stream me'), max_tokens: 8, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: number | undefined;
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage = c.usage.completion_tokens;
    }
    expect(chunks).toBe(9);
    expect(text.trim().split(/\s+/)).toHaveLength(8);
    expect(usage).toBe(8);

    const comp = await client.completions.create({ model: MODEL, prompt: 'once upon a time', max_tokens: 4, stream: true });
    let n = 0;
    for await (const c of comp) n += c.choices.length;
    expect(n).toBe(4);
    const plain = await client.completions.create({ model: MODEL, prompt: 'once upon a time', max_tokens: 3 });
    expect(plain.usage?.completion_tokens).toBe(3);
    expect(await metricValue(f, `brixlet_router_tokens_total{model="${MODEL}",kind="output"}`)).toBeGreaterThanOrEqual(15);
  });

  it('streams with SSE headers that tell proxies not to buffer', async () => {
    const res = await post(f, '/v1/chat/completions', chat('headers', { stream: true }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('x-brixlet-target')).toBeTruthy();
    expect(res.headers.get('x-request-id')).toMatch(/^gateway-/);
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('honours the routing-strategy header and routes least-request to the idle engine', async () => {
    const random = await post(f, '/v1/chat/completions', chat('r'), { 'routing-strategy': 'random' });
    expect(random.headers.get('x-brixlet-policy')).toBe('random');
    await random.text();
    for (const mock of f.mocks) {
      const undo = steer(f, mock);
      const res = await post(f, '/v1/chat/completions', chat('lr'), { 'routing-strategy': 'least-request' });
      undo();
      expect(res.headers.get('x-brixlet-target')).toBe(engineOf(f, mock).name);
      await res.text();
    }
  });

  it('answers bad requests with OpenAI-style error bodies and codes', async () => {
    const cases: [string, RequestInit['body'], Record<string, string>, number, string][] = [
      ['malformed JSON', '{"model":', {}, 400, 'BRX_ERR_GATEWAY_BAD_REQUEST'],
      ['missing model', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), {}, 400, 'BRX_ERR_GATEWAY_BAD_REQUEST'],
      ['missing messages', JSON.stringify({ model: MODEL }), {}, 400, 'BRX_ERR_GATEWAY_BAD_REQUEST'],
      ['unknown model', JSON.stringify(chat('x', { model: 'gpt-17' })), {}, 404, 'BRX_ERR_GATEWAY_MODEL_NOT_FOUND'],
      ['max_tokens 0', JSON.stringify(chat('x', { max_tokens: 0 })), {}, 400, 'BRX_ERR_GATEWAY_BAD_REQUEST'],
      ['max_completion_tokens -3', JSON.stringify(chat('x', { max_completion_tokens: -3 })), {}, 400, 'BRX_ERR_GATEWAY_BAD_REQUEST'],
      ['unknown routing-strategy', JSON.stringify(chat('x')), { 'routing-strategy': 'fastest' }, 400, 'BRX_ERR_GATEWAY_POLICY'],
      ['bad weight', JSON.stringify(chat('x')), { 'x-brixlet-prefill-weight': '-1' }, 400, 'BRX_ERR_GATEWAY_BAD_REQUEST'],
      ['over the body limit', JSON.stringify(chat('x'.repeat(20_000))), {}, 413, 'BRX_ERR_HTTP_BODY_TOO_LARGE'],
    ];
    for (const [name, body, headers, status, code] of cases) {
      const res = await fetch(`${f.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const json = (await res.json()) as { error: { code: string; message: string; type: string } };
      expect({ name, status: res.status, code: json.error.code, type: json.error.type }).toEqual({ name, status, code, type: 'invalid_request_error' });
      expect(json.error.message.length).toBeGreaterThan(5);
    }
    await expect(client.chat.completions.create(chat('x', { model: 'gpt-17' }))).rejects.toMatchObject({ status: 404, message: expect.stringContaining(`gpt-17 does not exist; served: ${MODEL}`) });
    await expect(client.chat.completions.create(chat('x', { max_tokens: 0 }))).rejects.toMatchObject({ status: 400, message: expect.stringContaining('max_tokens must be a positive integer') });
    // Rejections are counted, but a model no engine serves never becomes a label value.
    expect(await metricValue(f, 'brixlet_router_requests_total{model="unknown",policy="none",engine="none",code="404"}')).toBe(2);
    expect(await f.metrics.render()).not.toContain('gpt-17');
    // Any declared content type is read as JSON, as vLLM does for `curl -d`.
    const form = await fetch(`${f.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: JSON.stringify({ model: MODEL, prompt: 'p', max_tokens: 1 }) });
    expect(form.status).toBe(200);
    await form.text();
  });

  const requestsSeen = (): number[] => f.mocks.map((m) => m.stats().requests);

  it('never sends a request again after an engine had it: a reset after the request was written answers 502', async () => {
    const [bad] = f.mocks as [RunningMockEngine];
    const before = await metricValue(f, 'brixlet_router_retries_total{reason="reset"}');
    const seen = requestsSeen();
    bad.failNext({ mode: 'reset' });
    const undo = steer(f, bad);
    const res = await post(f, '/v1/chat/completions', chat('do not repeat me'));
    undo();
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_GATEWAY_UPSTREAM');
    expect(bad.stats().injectedFailures).toBe(1);
    // No other engine got it.
    expect(requestsSeen().filter((n, i) => n !== seen[i] && f.mocks[i] !== bad)).toEqual([]);
    expect(await metricValue(f, 'brixlet_router_retries_total{reason="reset"}')).toBe(before);
    expect(await metricValue(f, `brixlet_router_upstream_errors_total{engine="${engineOf(f, bad).name}",reason="reset"}`)).toBeGreaterThanOrEqual(1);
  });

  it('passes an engine\'s 5xx through instead of running the request on another engine', async () => {
    const [a] = f.mocks as [RunningMockEngine];
    const seen = requestsSeen();
    a.failNext({ mode: 'status', status: 503 });
    const undo = steer(f, a);
    const failed = await post(f, '/v1/completions', { model: MODEL, prompt: 'p', max_tokens: 2 });
    undo();
    expect(failed.status).toBe(503);
    expect(failed.headers.get('x-brixlet-target')).toBe(engineOf(f, a).name);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toBeTruthy();
    expect(requestsSeen().filter((n, i) => n !== seen[i] && f.mocks[i] !== a)).toEqual([]);
  });

  it('answers 502 for a non-streaming answer cut halfway, without a second generation', async () => {
    const [a] = f.mocks as [RunningMockEngine];
    const seen = requestsSeen();
    a.failNext({ mode: 'midstream' });
    const undo = steer(f, a);
    const res = await post(f, '/v1/chat/completions', chat('cut'));
    undo();
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_GATEWAY_UPSTREAM');
    expect(requestsSeen().filter((n, i) => n !== seen[i] && f.mocks[i] !== a)).toEqual([]);
  });

  it('ends a stream whose engine dies mid-way with an error event and [DONE], never a hang', async () => {
    const [a] = f.mocks as [RunningMockEngine];
    a.failNext({ mode: 'midstream' });
    const undo = steer(f, a);
    const res = await post(f, '/v1/chat/completions', chat('die', { stream: true, max_tokens: 50 }), {}, AbortSignal.timeout(5000));
    undo();
    expect(res.status).toBe(200);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.length).toBeGreaterThan(2);
    const error = JSON.parse((events.at(-2) as string).slice('data: '.length)) as { error: { code: string; message: string } };
    expect(error.error.code).toBe('BRX_ERR_GATEWAY_UPSTREAM');
    expect(error.error.message).toMatch(/stream broke after \d+ event/);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(await metricValue(f, `brixlet_router_upstream_errors_total{engine="${engineOf(f, a).name}",reason="midstream"}`)).toBe(1);

    // The openai client surfaces the error event as an error.
    a.failNext({ mode: 'midstream' });
    const again = steer(f, a);
    const stream = await client.chat.completions.create({ ...chat('die again'), max_tokens: 50, stream: true });
    again();
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow(/stream broke/);
  });

  it('rejects a non-streaming answer over the response limit with 502', async () => {
    const res = await post(f, '/v1/completions', { model: MODEL, prompt: 'long', max_tokens: 2000 });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_GATEWAY_RESPONSE_TOO_LARGE');
  });

  it('leaves out unhealthy engines, answers 503 with a code when none is left, and uses an engine again once it is back', async () => {
    const [a, b, c] = f.mocks as [RunningMockEngine, RunningMockEngine, RunningMockEngine];
    a.setHealthy(false);
    await f.set.probeNow();
    const undo = steer(f, a);
    for (let i = 0; i < 3; i++) {
      const res = await post(f, '/v1/chat/completions', chat(`x${i}`));
      expect(res.headers.get('x-brixlet-target')).not.toBe(engineOf(f, a).name);
      await res.text();
    }
    b.setHealthy(false);
    c.setHealthy(false);
    await f.set.probeNow();
    const none = await post(f, '/v1/chat/completions', chat('none'));
    expect(none.status).toBe(503);
    const body = (await none.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BRX_ERR_GATEWAY_NO_ENGINE');
    expect(body.error.message).toContain(MODEL);
    for (const m of f.mocks) m.setHealthy(true);
    await f.set.probeNow();
    const back = await post(f, '/v1/chat/completions', chat('back'));
    undo();
    expect(back.status).toBe(200);
    expect(back.headers.get('x-brixlet-target')).toBe(engineOf(f, a).name);
    await back.text();
  });

  it('keeps in-flight counts exact under concurrency and returns them to zero', async () => {
    const before = new Map(f.mocks.map((m) => [m.url, engineOf(f, m).load.total]));
    const monitorBefore = f.gateway.monitor.snapshot(Date.now())[0]!;
    // Each request counts as an arrival when it comes in (the optimizer's rate), beside its tokens when it finishes.
    const arrived = vi.spyOn(f.gateway.monitor as Required<LoadMonitor>, 'arrived');
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => post(f, '/v1/chat/completions', chat(`c${i}`, { stream: i % 2 === 0, max_tokens: 3 })).then(async (r) => [r.status, await r.text()] as const)),
    );
    expect(results.every(([s]) => s === 200)).toBe(true);
    const shares = f.mocks.map((m) => engineOf(f, m).load.total - (before.get(m.url) ?? 0));
    expect(shares.reduce((a, b) => a + b)).toBe(24);
    // Every request's tokens reached the load monitor: 3 output tokens each (usage, or one per streamed chunk).
    const after = f.gateway.monitor.snapshot(Date.now())[0]!;
    expect(after.requests - monitorBefore.requests).toBe(24);
    expect(after.outputTokens - monitorBefore.outputTokens).toBe(72);
    expect(arrived).toHaveBeenCalledTimes(24);
    arrived.mockRestore();
    expectIdle(f);
  });

  afterAll(() => {
    expectIdle(f);
    for (const m of f.mocks) expect(m.stats().active).toBe(0);
  });
});

describe('gateway timeouts, disconnects and limits (slow engine)', () => {
  let f: Fixture;
  let slow: RunningMockEngine;
  beforeAll(async () => {
    // Model time 50× slower than wall time: one h100 step ≈ 300 ms.
    f = await fixture(await startMockEngines(1, { timeScale: 0.02, model: SLOW_MODEL }), 'cost', { retries: 0, firstByteTimeout: 1000, idleTimeout: 100, maxInFlight: 1 });
    slow = f.mocks[0] as RunningMockEngine;
  });
  afterAll(() => close(f));

  const slowChat = (content: string, extra: Record<string, unknown> = {}) => ({ model: SLOW_MODEL, messages: [{ role: 'user', content }], max_tokens: 20, ...extra });

  it('ends a stream that goes silent with a timeout error event', async () => {
    const res = await post(f, '/v1/chat/completions', slowChat('idle', { stream: true }), {}, AbortSignal.timeout(5000));
    expect(res.status).toBe(200);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.at(-2)).toContain('BRX_ERR_GATEWAY_TIMEOUT');
    await until(() => slow.stats().active === 0);
  });

  it('aborts the engine request when the client disconnects, and answers 429 over max in flight', async () => {
    const abortedBefore = slow.stats().aborted;
    const ac = new AbortController();
    const res = await post(f, '/v1/chat/completions', slowChat('go away', { stream: true, max_tokens: 200 }), {}, ac.signal);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(slow.stats().active).toBe(1);
    expect(engineOf(f, slow).load.inFlight).toBe(1);

    const busy = await post(f, '/v1/chat/completions', slowChat('me too'));
    expect(busy.status).toBe(429);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_GATEWAY_OVERLOADED');

    ac.abort();
    await until(() => slow.stats().aborted === abortedBefore + 1 && slow.stats().active === 0);
    await until(() => engineOf(f, slow).load.inFlight === 0);
    expect(await metricValue(f, `brixlet_router_requests_total{model="${SLOW_MODEL}",policy="cost",engine="${engineOf(f, slow).name}",code="499"}`)).toBe(1);
  });

  // Last: the engine stays busy with the long prefill for a while after the abort.
  it('answers 504 when the engine sends nothing within the first-byte timeout', async () => {
    const res = await post(f, '/v1/chat/completions', slowChat('p'.repeat(12_000)));
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_GATEWAY_TIMEOUT');
    await until(() => slow.stats().active === 0);
  });

  afterAll(() => expectIdle(f));
});

it('drains on close: a stream in flight finishes whole, then the listener and its pools close', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: 0.2 }), 'cost', {});
  try {
    const res = await post(f, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 20, stream: true });
    expect(res.status).toBe(200);
    const closed = f.gateway.app.close().then(() => 'closed');
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text).not.toContain('"error"');
    expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 3000))])).toBe('closed');
    expect(f.gateway.pools.size).toBe(0);
    await expect(fetch(`${f.url}/healthz`)).rejects.toThrow();
  } finally {
    await f.set.dispose();
    await Promise.all(f.mocks.map((m) => m.close()));
  }
});
