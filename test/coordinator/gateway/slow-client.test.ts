// A client that reads slowly is not an engine that went silent: while the client's socket is full the
// idle timer waits for its drain, and the whole stream arrives (no error event, no 504 on the engine).
import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMockEngine, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { type CallOutcome, callUpstream } from '../../../src/coordinator/gateway/upstream-call.js';
import { UpstreamPools } from '../../../src/coordinator/gateway/upstream-pools.js';
import type { EngineState, RouteDecision } from '../../../src/coordinator/router/types.js';

let engine: RunningMockEngine;
let pools: UpstreamPools;
let server: Server;
let port = 0;
const outcomes: CallOutcome[] = [];

beforeAll(async () => {
  engine = await startMockEngine({ timeScale: Infinity });
  pools = new UpstreamPools({ connectTimeout: 1000 });
  const decision = { engine: { uid: engine.url, name: 'e0', url: engine.url } as EngineState, policy: 'random', reason: 't', matchedBlocks: 0, blocks: { hashes: [], blockTokens: 16 }, decisionMicros: 1, firstToken: () => undefined, release: () => undefined } as RouteDecision;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void callUpstream(
        { firstByteTimeout: 5000, idleTimeout: 150, responseLimit: 1 << 20 },
        { target: pools.target(engine.url), decision, url: '/v1/completions', headers: ['content-type', 'application/json'], body: Buffer.concat(chunks), res, extraHeaders: {} },
      ).then((o) => outcomes.push(o));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await pools.dispose();
  await engine.close();
});

it('waits for a slow reader instead of cutting the stream after the idle timeout', async () => {
  // 32k SSE events (~5.7 MB): more than the sockets buffer, so the gateway side must pause.
  const body = JSON.stringify({ model: 'mock-llama-3-8b', prompt: 'hi', max_tokens: 32_000, stream: true });
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' } }, (res) => {
      const parts: Buffer[] = [];
      res.pause();
      // Read nothing for well over the idle timeout, then everything.
      setTimeout(() => {
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
        res.resume();
      }, 800);
    });
    req.on('error', reject);
    req.end(body);
  });
  expect(text.length).toBeGreaterThan(5 << 20);
  expect(text).not.toContain('"error"');
  expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  expect(outcomes).toHaveLength(1);
  expect(outcomes[0]).toMatchObject({ kind: 'answered', status: 200 });
  expect((outcomes[0] as { failure?: string }).failure).toBeUndefined();
}, 20_000);
