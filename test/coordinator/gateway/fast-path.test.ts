import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { Client } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type BrixletServer } from '../../../src/common/http/create-server.js';
import { mapError } from '../../../src/common/http/error-reply.js';
import { installFastPath, type RawHandler } from '../../../src/coordinator/gateway/fast-path.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

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
  const get = await fetch(`${url}/fast`);
  expect(get.status).toBe(404);
  expect(((await get.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_HTTP_NOT_FOUND');
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
  installFastPath(server, {
    // Answers after 100 ms: the server starts closing while the first request is in flight.
    routes: new Map<string, RawHandler>([['/fast', (_req, res) => void setTimeout(() => res.end('ok'), 100)]]),
    bodyLimit: 1024,
    sendError: (_req, res, _id, err) => {
      res.writeHead((err as { statusCode: number }).statusCode);
      res.end((err as { code: string }).code);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new Client(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  const first = client.request({ path: '/fast', method: 'POST', body: '' });
  await new Promise((r) => setTimeout(r, 30));
  const closed = new Promise<void>((r) => server.close(() => r()));
  // Queued behind the first on the same connection: it reaches the server after close() began.
  const second = client.request({ path: '/fast', method: 'POST', body: '' });
  const a = await first;
  expect(await a.body.text()).toBe('ok');
  const b = await second;
  expect([b.statusCode, await b.body.text()]).toEqual([503, 'BRX_ERR_HTTP_NOT_READY']);
  await client.close();
  server.closeAllConnections();
  await closed;
});
