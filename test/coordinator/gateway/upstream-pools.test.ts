import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UpstreamPools } from '../../../src/coordinator/gateway/upstream-pools.js';

let server: Server;
let origin: string;
const connections = new Set<unknown>();
beforeAll(async () => {
  server = createServer((req, res) => res.end(req.url));
  server.on('connection', (s) => connections.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function get(pools: UpstreamPools, engineUrl: string, path: string): Promise<string> {
  const t = pools.target(engineUrl);
  const res = await t.pool.request({ path: t.basePath + path, method: 'GET' });
  return res.body.text();
}

it('keeps one pool per origin with keep-alive, and engine base paths', async () => {
  const pools = new UpstreamPools({ connectTimeout: 1000 });
  connections.clear();
  for (let i = 0; i < 5; i++) expect(await get(pools, origin, '/v1/models')).toBe('/v1/models');
  expect(await get(pools, `${origin}/engine-a/`, '/v1/models')).toBe('/engine-a/v1/models');
  expect(pools.size).toBe(1);
  // Six requests in sequence, kept-alive connections reused (undici may open a second while the first is being released).
  expect(connections.size).toBeLessThanOrEqual(2);
  expect(pools.target(origin).hostPort).toBe(new URL(origin).host);
  await pools.dispose();
  // After shutdown no pool is made again (it would never be closed): the request gets a 503.
  expect(() => pools.target(origin)).toThrow(expect.objectContaining({ code: 'BRX_ERR_HTTP_NOT_READY', statusCode: 503 }));
  expect(pools.size).toBe(0);
});

it('closes pools left unused past the idle limit', async () => {
  const pools = new UpstreamPools({ connectTimeout: 1000, idleCloseMs: 50 });
  const first = pools.target(origin).pool;
  await get(pools, origin, '/a');
  const deadline = Date.now() + 10_000; // only a hang
  while (!first.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(first.closed).toBe(true);
  expect(pools.size).toBe(0);
  // A later request opens a new one.
  expect(await get(pools, origin, '/b')).toBe('/b');
  expect(pools.target(origin).pool).not.toBe(first);
  await pools.dispose();
});
