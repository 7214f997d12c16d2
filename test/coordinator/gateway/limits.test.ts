// The gateway's own limits in front of real mock engines: admission from the headers (in-flight
// slots, buffered body bytes) before a body byte is read, a client that stops reading losing its
// slot after the send timeout, a first-byte timeout answered without a second generation, the
// drain ending open streams with an error event, 405 on the completion paths and absolute-form
// targets forwarded in origin form.
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startMockEngines, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import type { GatewaySettings } from '../../../src/coordinator/gateway-app.js';
import { closeGatewayFixture, type GatewayFixture, startGatewayFixture } from '../../helpers/gateway-fixture.js';

const MODEL = 'mock-llama-3-8b';

type Fixture = GatewayFixture;

let current: Fixture | undefined;
const sockets: Socket[] = [];

async function fixture(mocks: RunningMockEngine[], settings: Partial<GatewaySettings>): Promise<Fixture> {
  current = await startGatewayFixture(mocks, 'least-request', {
    bodyLimit: 4 << 20,
    connectTimeout: 1000,
    firstByteTimeout: 5000,
    idleTimeout: 5000,
    responseLimit: 1 << 20,
    retries: 1,
    maxInFlight: 0,
    ...settings,
  });
  return current;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  const f = current;
  current = undefined;
  await closeGatewayFixture(f);
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function metricValue(f: Fixture, series: string): Promise<number> {
  const line = (await f.metrics.render()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

interface RawAnswer {
  readonly head: string;
  readonly body: string;
}

/** Opens a connection, writes `text`, and resolves with what comes back once the server closes it or a full answer with a length is in. */
function rawExchange(f: Fixture, text: string): { sock: Socket; answer: Promise<RawAnswer> } {
  const sock = connect(f.port, '127.0.0.1');
  sockets.push(sock);
  const answer = new Promise<RawAnswer>((resolve) => {
    let buf = '';
    const done = (): void => {
      const at = buf.indexOf('\r\n\r\n');
      resolve({ head: buf.slice(0, at), body: buf.slice(at + 4) });
    };
    sock.on('data', (d) => {
      buf += d.toString();
      const at = buf.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(buf.slice(0, at));
      if (at !== -1 && len !== null && buf.length - at - 4 >= Number(len[1])) done();
    });
    sock.on('close', done);
    sock.on('error', () => undefined);
  });
  sock.write(text);
  return { sock, answer };
}

const completion = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 3, ...extra });

function head(path: string, length: number): string {
  return `POST ${path} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
}

it('refuses an upload over the buffered-bytes bound with 503 and Retry-After before reading its body', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), { maxBufferedBody: 1 << 20 });
  // A 900 KB upload that sends its first bytes and stalls: its declared length is held.
  const first = rawExchange(f, `${head('/v1/completions', 900_000)}{"model":`);
  await until(() => f.gateway.proxy.bufferedBytes === 900_000);
  // The second sends only its headers: the answer cannot depend on its body.
  const second = await rawExchange(f, head('/v1/completions', 900_000)).answer;
  expect(second.head.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
  expect(second.head).toMatch(/retry-after: 1/i);
  expect(JSON.parse(second.body)).toMatchObject({ error: { code: 'BRX_ERR_GATEWAY_BUFFER_FULL', type: 'server_error' } });
  // A small body still fits beside the stalled one.
  const small = await fetch(`${f.url}/v1/completions`, { method: 'POST', body: completion() });
  expect(small.status).toBe(200);
  await small.text();
  // The stalled upload going away frees its bytes and its slot.
  first.sock.destroy();
  await until(() => f.gateway.proxy.bufferedBytes === 0 && f.gateway.proxy.active === 0);
});

it('counts a chunked upload as it grows and refuses it once it passes the bound', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), { maxBufferedBody: 64 * 1024 });
  const stalled = rawExchange(f, `${head('/v1/completions', 60_000)}{`);
  await until(() => f.gateway.proxy.bufferedBytes === 60_000);
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${f.url}/v1/completions`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write('x'.repeat(2048));
    req.write('x'.repeat(4096));
    req.write('x'.repeat(4096));
  });
  expect(status).toBe(503);
  stalled.sock.destroy();
  await until(() => f.gateway.proxy.bufferedBytes === 0 && f.gateway.proxy.active === 0);
});

it('answers 429 with Retry-After over max-in-flight before reading the body, counting uploads in progress', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), { maxInFlight: 1 });
  const body = completion();
  const first = rawExchange(f, `${head('/v1/completions', body.length)}${body.slice(0, 5)}`);
  await until(() => f.gateway.proxy.active === 1);
  const busy = await rawExchange(f, head('/v1/completions', body.length)).answer;
  expect(busy.head.split('\r\n')[0]).toBe('HTTP/1.1 429 Too Many Requests');
  expect(busy.head).toMatch(/retry-after: 1/i);
  expect(JSON.parse(busy.body)).toMatchObject({ error: { code: 'BRX_ERR_GATEWAY_OVERLOADED' } });
  // The first finishes its upload and is answered.
  first.sock.write(body.slice(5));
  const answered = await first.answer;
  expect(answered.head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  await until(() => f.gateway.proxy.active === 0);
});

it('frees the slot of a client that stops reading once the send timeout passes, and aborts the engine request', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), { maxInFlight: 1, sendTimeout: 300, bodyLimit: 1 << 20 });
  // ~5.7 MB of SSE: far more than the sockets buffer, so the gateway has bytes the client never takes.
  const body = completion({ max_tokens: 32_000, stream: true });
  const paused = rawExchange(f, `${head('/v1/completions', body.length)}${body}`);
  paused.sock.pause();
  await until(() => f.gateway.proxy.active === 1);
  await until(() => f.gateway.proxy.active === 0);
  expect(await metricValue(f, 'brixlet_router_client_timeouts_total{kind="send"}')).toBe(1);
  expect(await metricValue(f, `brixlet_router_requests_total{model="${MODEL}",policy="least-request",engine="${f.set.all()[0]!.name}",code="499"}`)).toBe(1);
  // The slot is free: the next request is served, not refused.
  const next = await fetch(`${f.url}/v1/completions`, { method: 'POST', body: completion() });
  expect(next.status).toBe(200);
  await next.text();
  await until(() => paused.sock.destroyed || paused.sock.readableEnded || f.mocks[0]!.stats().active === 0);
});

it('answers 504 on a first-byte timeout without sending the request to a second engine', async () => {
  // Model time 50× slower than wall time: a long prompt's prefill takes seconds.
  const f = await fixture(await startMockEngines(2, { timeScale: 0.02 }), { firstByteTimeout: 300, retries: 1 });
  const res = await fetch(`${f.url}/v1/completions`, { method: 'POST', body: completion({ prompt: 'p'.repeat(12_000) }) });
  expect(res.status).toBe(504);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_GATEWAY_TIMEOUT');
  expect(f.mocks.map((m) => m.stats().requests).reduce((a, b) => a + b)).toBe(1);
  await until(() => f.mocks.every((m) => m.stats().active === 0));
});

it('ends a stream still open when the drain time is nearly up with an error event and [DONE], then closes', async () => {
  // A stream that would run for minutes at this time scale.
  const f = await fixture(await startMockEngines(1, { timeScale: 0.2 }), { drainTimeout: 600 });
  const res = await fetch(`${f.url}/v1/completions`, { method: 'POST', body: completion({ max_tokens: 5000, stream: true }) });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  const closed = f.gateway.app.close();
  let text = new TextDecoder().decode(first.value);
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
  const events = text.split('\n\n').filter(Boolean);
  expect(events.at(-1)).toBe('data: [DONE]');
  const error = JSON.parse((events.at(-2) as string).slice('data: '.length)) as { error: { code: string } };
  expect(error.error.code).toBe('BRX_ERR_GATEWAY_SHUTTING_DOWN');
  await closed;
  await until(() => f.mocks[0]!.stats().active === 0);
});

it('answers another method on the completion paths with 405 and Allow, on the listener and through inject', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), {});
  const get = await fetch(`${f.url}/v1/chat/completions`);
  expect(get.status).toBe(405);
  expect(get.headers.get('allow')).toBe('POST');
  expect(((await get.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_HTTP_METHOD_NOT_ALLOWED');
  const injected = await f.gateway.app.inject({ method: 'GET', url: '/v1/completions' });
  expect(injected.statusCode).toBe(405);
  expect(injected.headers.allow).toBe('POST');
  expect(injected.json()).toMatchObject({ error: { code: 'BRX_ERR_HTTP_METHOD_NOT_ALLOWED' } });
});

it('routes an absolute-form target and forwards it to the engine in origin form', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), {});
  const body = completion();
  const abs = await rawExchange(f, `POST http://gw.example${'/v1/completions'}?x=1#frag HTTP/1.1\r\nhost: gw.example\r\ncontent-length: ${body.length}\r\n\r\n${body}`).answer;
  expect(abs.head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  expect(JSON.parse(abs.body)).toMatchObject({ usage: { completion_tokens: 3 } });
});

it('hands a large body on whole (read into one buffer as it arrives)', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), {});
  // 100 000 characters at 4 per token: the engine counts 25 000 prompt tokens only if every byte arrived in order.
  const prompt = Array.from({ length: 100_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  const res = await fetch(`${f.url}/v1/completions`, { method: 'POST', body: completion({ prompt, max_tokens: 1 }) });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens).toBe(25_000);
  expect(f.gateway.proxy.bufferedBytes).toBe(0);
});

it('admits requests through inject too, and frees the admission whatever answers them', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), { bodyLimit: 1024, maxInFlight: 1 });
  const ok = await f.gateway.app.inject({ method: 'POST', url: '/v1/completions', payload: completion() });
  expect(ok.statusCode).toBe(200);
  const bad = await f.gateway.app.inject({ method: 'POST', url: '/v1/completions', payload: 'not json' });
  expect(bad.statusCode).toBe(400);
  const chunkedOver = await f.gateway.app.inject({ method: 'POST', url: '/v1/completions', headers: { 'content-type': 'application/json' }, payload: `{"model":"${MODEL}","prompt":"${'x'.repeat(2000)}"}` });
  expect(chunkedOver.statusCode).toBe(413);
  await until(() => f.gateway.proxy.active === 0 && f.gateway.proxy.bufferedBytes === 0);
  // Still one slot: a held admission refuses the next with 429 and Retry-After before the body.
  const held = f.gateway.proxy.admit(0);
  const busy = await f.gateway.app.inject({ method: 'POST', url: '/v1/completions', payload: completion() });
  held.release();
  expect(busy.statusCode).toBe(429);
  expect(busy.headers['retry-after']).toBe('1');
  expect(busy.json()).toMatchObject({ error: { code: 'BRX_ERR_GATEWAY_OVERLOADED' } });
});

it('turns on Node\'s request timeout (fastify leaves it off) from the body timeout', async () => {
  const f = await fixture(await startMockEngines(1, { timeScale: Infinity }), { bodyTimeout: 1234 });
  expect(f.gateway.app.server.requestTimeout).toBe(f.gateway.app.server.headersTimeout + 1234);
  expect(f.gateway.app.server.headersTimeout).toBeGreaterThan(0);
});
