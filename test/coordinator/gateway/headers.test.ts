import { expect, it } from 'vitest';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../../src/coordinator/gateway/headers.js';

it('forwards end-to-end request headers in their case and drops hop-by-hop ones', () => {
  const raw = ['Host', 'gw:8080', 'Authorization', 'Bearer k', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Content-Type', 'application/json', 'Content-Length', '12', 'Transfer-Encoding', 'chunked', 'X-Request-Id', 'client', 'routing-strategy', 'random', 'TE', 'trailers'];
  expect(upstreamRequestHeaders(raw, 'keep-alive, X-Hop', ['x-request-id', 'gateway-1'])).toEqual([
    'Authorization',
    'Bearer k',
    'Content-Type',
    'application/json',
    'routing-strategy',
    'random',
    'x-request-id',
    'gateway-1',
  ]);
});

it('passes response headers but not framing or hop-by-hop ones, and tells an event stream', () => {
  const raw = (pairs: string[]) => pairs.map((p) => Buffer.from(p, 'latin1'));
  expect(
    clientResponseHeaders(raw(['Content-Type', 'text/event-stream; charset=utf-8', 'Content-Length', '5', 'Transfer-Encoding', 'chunked', 'Connection', 'x-private', 'X-Private', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Keep-Alive', 'timeout=5'])),
  ).toEqual({ headers: { 'content-type': 'text/event-stream; charset=utf-8', 'set-cookie': ['a=1', 'b=2'] }, eventStream: true });
  expect(clientResponseHeaders(raw(['content-type', 'application/json', 'date', 'x']))).toEqual({ headers: { 'content-type': 'application/json', date: 'x' }, eventStream: false });
});
