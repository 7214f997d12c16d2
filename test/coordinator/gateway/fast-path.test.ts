import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Client } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type BrixletServer } from '../../../src/common/http/create-server.js';
import { mapError } from '../../../src/common/http/error-reply.js';
import { installFastPath, normaliseTarget, type RawHandler } from '../../../src/coordinator/gateway/fast-path.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';
import { rawExchange } from '../../helpers/raw-http.js';

let app: BrixletServer;
let url: string;
const seen: { body: string; reqId: string; url: string | undefined }[] = [];

beforeAll(async () => {
  app = await createServer({ name: 'gateway', title: 't', version: '1', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
  app.post('/slow', async () => ({ via: 'fastify' }));
  const echo: RawHandler = (req, res, body, reqId) => {
    seen.push({ body: body.toString(), reqId, url: req.url });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ via: 'fast', bytes: body.length }));
  };
  installFastPath(app.server, {
    routes: new Map([['/fast', echo]]),
    bodyLimit: 1024,
    sendError: (req, res, reqId, err) => {
      const m = mapError(err, { method: req.method ?? '', url: req.url ?? '' }, 1024);
      res.writeHead(m.statusCode, { 'content-type': 'application/json', 'x-request-id': reqId });
      res.end(JSON.stringify(m.body));
    },
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => app.close());

it('serves its POST routes with the body read, query strings ignored for matching', async () => {
  const r = await fetch(`${url}/fast?x=1`, { method: 'POST', body: 'hello' });
  expect(await r.json()).toEqual({ via: 'fast', bytes: 5 });
  expect(seen.at(-1)).toMatchObject({ body: 'hello', url: '/fast?x=1', reqId: expect.stringMatching(/^gateway-p[0-9a-z]+$/) });
  await (await fetch(`${url}/fast`, { method: 'POST', body: '', headers: { 'x-request-id': 'client-7' } })).text();
  expect(seen.at(-1)?.reqId).toBe('client-7');
});

it('leaves every other request to fastify', async () => {
  expect(await (await fetch(`${url}/slow`, { method: 'POST' })).json()).toEqual({ via: 'fastify' });
  const get = await fetch(`${url}/other`);
  expect(get.status).toBe(404);
  expect(((await get.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_HTTP_NOT_FOUND');
});

it('answers another method on its routes with 405 in the error shape', async () => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const r = await fetch(`${url}/fast?x=1`, { method });
    expect(r.status).toBe(405);
    expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'BRX_ERR_HTTP_METHOD_NOT_ALLOWED', message: `${method} is not allowed on /fast; allowed: POST` });
  }
});

/** Sends raw bytes on a fresh connection and returns everything the server wrote until it closed or `idleMs` passed. */
function raw(text: string, idleMs = 500): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1');
    let out = '';
    let timer = setTimeout(() => sock.destroy(), idleMs);
    sock.on('data', (d) => {
      out += d.toString();
      clearTimeout(timer);
      timer = setTimeout(() => sock.destroy(), idleMs);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    sock.on('error', reject);
    sock.write(text);
  });
}

it('routes absolute-form, fragment and dot-segment targets by their path and hands on the origin form', async () => {
  for (const target of ['http://example.com/fast?q=2', 'http://example.com:80/fast?q=2#frag', '/fast?q=2#frag', '/x/../fast?q=2']) {
    const out = await raw(`POST ${target} HTTP/1.1\r\nhost: example.com\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi`);
    expect(out.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(seen.at(-1)).toMatchObject({ body: 'hi', url: '/fast?q=2' });
  }
});

it('normalises targets without parsing plain origin-form ones', () => {
  expect(normaliseTarget('/v1/completions?a=1')).toEqual({ path: '/v1/completions', url: '/v1/completions?a=1' });
  expect(normaliseTarget('HTTPS://h/v1/completions')).toEqual({ path: '/v1/completions', url: '/v1/completions' });
  expect(normaliseTarget('//evil.example/v1/completions')).toEqual({ path: '//evil.example/v1/completions', url: '//evil.example/v1/completions' });
  expect(normaliseTarget('/v1/./completions#x')).toEqual({ path: '/v1/completions', url: '/v1/completions' });
  expect(normaliseTarget('example.com:443')).toBeUndefined();
  expect(normaliseTarget('*')).toBeUndefined();
});

it('answers 408 and closes the connection when the body is not in within the body timeout', async () => {
  const server = createHttpServer((_req, res) => res.end('fallback'));
  let handled = 0;
  let timeouts = 0;
  installFastPath(server, {
    routes: new Map<string, RawHandler>([['/fast', (_req, res) => void (handled++, res.end('ok'))]]),
    bodyLimit: 1024,
    bodyTimeout: 200,
    onBodyTimeout: () => void timeouts++,
    sendError: (req, res, reqId, err) => {
      const m = mapError(err, { method: req.method ?? '', url: req.url ?? '' }, 1024);
      res.writeHead(m.statusCode, { 'content-type': 'application/json', 'x-request-id': reqId });
      res.end(JSON.stringify(m.body));
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    // 100 bytes declared, one sent, then nothing: the connection must be answered and closed, not held.
    const out = await rawExchange(port, 'POST /fast HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nx');
    expect(out.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(out).toMatch(/connection: close/i);
    expect(JSON.parse(/\{.*\}/s.exec(out)?.[0] ?? '')).toMatchObject({ error: { code: 'BRX_ERR_HTTP_REQUEST_TIMEOUT', type: 'invalid_request_error' } });
    expect([handled, timeouts]).toEqual([0, 1]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

it('answers 413 for a body over the limit, declared or streamed', async () => {
  const declared = await fetch(`${url}/fast`, { method: 'POST', body: 'x'.repeat(2000) });
  expect(declared.status).toBe(413);
  expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_HTTP_BODY_TOO_LARGE');
  // Chunked upload without a content-length: counted as it arrives.
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${url}/fast`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    for (let i = 0; i < 4; i++) req.write('y'.repeat(400));
    req.end();
  });
  expect(status).toBe(413);
  expect(seen.every((s) => s.body.length <= 1024)).toBe(true);
});

it('answers 503 to a request that arrives on a kept-alive connection while the server closes', async () => {
  const server = createHttpServer((_req, res) => res.end('fallback'));
  // The first request is held until the server has begun closing (no timing assumed).
  let arrived!: (release: () => void) => void;
  const firstArrived = new Promise<() => void>((r) => (arrived = r));
  installFastPath(server, {
    routes: new Map<string, RawHandler>([['/fast', (_req, res) => arrived(() => res.end('ok'))]]),
    bodyLimit: 1024,
    sendError: (_req, res, _id, err) => {
      res.writeHead((err as { statusCode: number }).statusCode);
      res.end((err as { code: string }).code);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new Client(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  const first = client.request({ path: '/fast', method: 'POST', body: '' });
  const release = await firstArrived;
  const closed = new Promise<void>((r) => server.close(() => r()));
  // Queued behind the first on the same connection: it reaches the server after close() began.
  const second = client.request({ path: '/fast', method: 'POST', body: '' });
  release();
  const a = await first;
  expect(await a.body.text()).toBe('ok');
  const b = await second;
  expect([b.statusCode, await b.body.text()]).toEqual([503, 'BRX_ERR_HTTP_NOT_READY']);
  await client.close();
  server.closeAllConnections();
  await closed;
});
