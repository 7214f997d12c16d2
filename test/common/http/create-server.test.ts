import { Type } from '@sinclair/typebox';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrixletError } from '../../../src/common/errors.js';
import { type BrixletServer, clientErrorOf, createServer } from '../../../src/common/http/create-server.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';
import { rawExchange } from '../../helpers/raw-http.js';

let app: BrixletServer;
const metrics = testMetrics();

beforeAll(async () => {
  app = await createServer({ name: 'test', title: 't', version: '0.0.0', log: silentLog, bodyLimit: 1024, metrics });
  app.post(
    '/echo',
    { schema: { body: Type.Object({ n: Type.Integer({ minimum: 0 }), s: Type.String({ maxLength: 8 }) }, { additionalProperties: false }) } },
    async (req) => req.body,
  );
  app.get('/boom', async () => {
    throw new Error('secret internal detail');
  });
  app.get('/busy', async () => {
    throw new BrixletError('BRX_ERR_HTTP_NOT_READY', { server: 'test', reason: 'warming up' });
  });
  await app.ready();
});
afterAll(() => app.close());

describe('createServer error mapping', () => {
  it('answers unknown routes with a 404 JSON body carrying a code', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'BRX_ERR_HTTP_NOT_FOUND', message: 'no route GET /nope?x=1', type: 'invalid_request_error' } });
  });

  it('answers a malformed URL with 400 in the same shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/%ff' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BRX_ERR_HTTP_BAD_REQUEST');
  });

  it('rejects bodies over the limit with 413', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', payload: { n: 1, s: 'x'.repeat(2000) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'BRX_ERR_HTTP_BODY_TOO_LARGE', message: 'request body exceeds the limit of 1024 bytes' });
  });

  it('rejects schema violations with 400, listing each', async () => {
    const res = await app.inject({ method: 'POST', url: '/echo', payload: { n: -1, s: 'too long string', extra: true } });
    expect(res.statusCode).toBe(400);
    const body = res.json().error;
    expect(body.code).toBe('BRX_ERR_HTTP_BAD_REQUEST');
    expect(body.details.length).toBeGreaterThanOrEqual(2);
    expect(body.message).toMatch(/body\/n must be >= 0/);
  });

  it('rejects malformed JSON with 400 and unknown content types with 415', async () => {
    const bad = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"n":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BRX_ERR_HTTP_BAD_REQUEST');
    const media = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/x-thing' }, payload: 'x' });
    expect(media.statusCode).toBe(415);
    expect(media.json().error.code).toBe('BRX_ERR_HTTP_MEDIA_TYPE');
  });

  it('hides internal error details behind a 500 with a code', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toEqual({ code: 'BRX_ERR_HTTP_INTERNAL', message: 'internal error handling GET /boom', type: 'server_error' });
    expect(res.body).not.toContain('secret internal detail');
  });

  it('passes brixlet errors through with their status', async () => {
    const res = await app.inject({ method: 'GET', url: '/busy' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('BRX_ERR_HTTP_NOT_READY');
  });

  it('echoes or assigns a request id', async () => {
    const given = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'abc-1' } });
    expect(given.headers['x-request-id']).toBe('abc-1');
    const assigned = await app.inject({ method: 'GET', url: '/nope' });
    expect(assigned.headers['x-request-id']).toMatch(/^test-/);
  });

  it('counts requests by route template, not by raw URL', async () => {
    await app.inject({ method: 'GET', url: '/nope/123' });
    const text = await metrics.render();
    expect(text).toMatch(/brixlet_http_requests_total\{server="test",route="unmatched",method="GET",status="404"\} \d+/);
    expect(text).toMatch(/brixlet_http_requests_total\{server="test",route="\/echo",method="POST",status="413"\} 1/);
    expect(text).not.toContain('/nope/123');
  });

  it('shares one set of HTTP metrics between listeners on the same registry', async () => {
    const second = await createServer({ name: 'second', title: 't', version: '0', log: silentLog, bodyLimit: 1024, metrics });
    await second.inject({ method: 'GET', url: '/x' });
    expect(await metrics.render()).toMatch(/server="second"/);
    await second.close();
  });
});

describe('fuzz: nothing a client sends yields a 5xx or a non-JSON error', () => {
  it('holds for random methods, paths, content types and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.constantFrom('/echo', '/nope', '/', '/echo/', '/%ff', '/echo?n=1'),
        fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=utf-8'),
        fc.oneof(fc.json(), fc.string(), fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a))),
        async (method, url, contentType, payload) => {
          const res = await app.inject({ method, url, headers: { 'content-type': contentType }, payload: method === 'GET' ? undefined : payload });
          expect(res.statusCode, `${method} ${url} ${contentType}`).toBeLessThan(500);
          if (res.statusCode >= 400) expect(res.json().error.code).toMatch(/^BRX_ERR_HTTP_/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('errors of Node\'s HTTP parser', () => {
  /** Writes raw bytes to a listening server and returns what it answered before closing the connection. */
  async function rawAnswer(text: string): Promise<string> {
    const server = await createServer({ name: 'raw', title: 't', version: '0.0.0', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      return await rawExchange(Number(new URL(url).port), text);
    } finally {
      await server.close();
    }
  }

  const bodyOf = (answer: string): unknown => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

  it('answers a malformed request with 400 in the documented error shape and closes', async () => {
    const out = await rawAnswer('GARBAGE\r\n\r\n');
    expect(out.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(out).toMatch(/content-type: application\/json/i);
    expect(bodyOf(out)).toEqual({ error: { code: 'BRX_ERR_HTTP_BAD_REQUEST', message: expect.stringMatching(/^invalid request: malformed HTTP request \(HPE_/), type: 'invalid_request_error' } });
  });

  it('answers headers over Node\'s limit with 431 in the same shape', async () => {
    const out = await rawAnswer(`GET /x HTTP/1.1\r\nhost: a\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(out.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(bodyOf(out)).toEqual({ error: { code: 'BRX_ERR_HTTP_HEADERS_TOO_LARGE', message: 'request headers are too large', type: 'invalid_request_error' } });
  });

  it('times out a request that trickles in: Node\'s request timeout is on for every listener (30 s unless given)', async () => {
    const plain = await createServer({ name: 'a', title: 't', version: '0.0.0', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
    const given = await createServer({ name: 'b', title: 't', version: '0.0.0', log: silentLog, bodyLimit: 1024, metrics: testMetrics(), requestTimeout: 5000 });
    try {
      expect(plain.server.requestTimeout).toBe(30_000);
      expect(given.server.requestTimeout).toBe(5000);
      // The headers must arrive within the request timeout too.
      expect(plain.server.headersTimeout).toBeLessThanOrEqual(30_000);
    } finally {
      await plain.close();
      await given.close();
    }
  });

  it('maps Node\'s request timeout to 408', () => {
    expect(clientErrorOf(Object.assign(new Error('t'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), 90_000)).toMatchObject({ code: 'BRX_ERR_HTTP_REQUEST_TIMEOUT', statusCode: 408 });
  });
});
