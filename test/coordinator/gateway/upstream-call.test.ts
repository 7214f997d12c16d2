// One attempt on one engine, called from a real HTTP handler in front of a real mock engine: what
// reaches the client and what the attempt reports back for each kind of engine answer.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startMockEngine, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { type CallOptions, type CallOutcome, callUpstream, watchSend } from '../../../src/coordinator/gateway/upstream-call.js';
import { UpstreamPools } from '../../../src/coordinator/gateway/upstream-pools.js';
import type { EngineState, RouteDecision } from '../../../src/coordinator/router/types.js';

let engine: RunningMockEngine;
let pools: UpstreamPools;
let server: Server;
let url: string;
let opts: CallOptions = { firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 64 * 1024 };
let outcomes: CallOutcome[] = [];
const marks = { firstToken: 0, released: 0 };

function decision(): RouteDecision {
  const state = { uid: engine.url, name: 'e0', url: engine.url } as EngineState;
  return {
    engine: state,
    policy: 'random',
    reason: 'test',
    matchedBlocks: 0,
    blocks: { hashes: [], blockTokens: 16 },
    decisionMicros: 1,
    firstToken: () => void marks.firstToken++,
    release: () => void marks.released++,
  };
}

beforeAll(async () => {
  engine = await startMockEngine({ timeScale: 100 });
  pools = new UpstreamPools({ connectTimeout: 1000 });
  server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void callUpstream(opts, {
        target: pools.target(engine.url),
        decision: decision(),
        url: req.url ?? '/',
        headers: ['content-type', 'application/json'],
        body: Buffer.concat(chunks),
        res,
        extraHeaders: { 'x-brixlet-target': 'e0' },
      }).then((out) => {
        outcomes.push(out);
        // What proxy.ts does with a failure nothing was sent for.
        if (out.kind === 'failed' && !res.headersSent) {
          res.writeHead(599, { 'x-outcome': `${out.reason}:${out.error.code}` });
          res.end();
        }
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await pools.dispose();
  await engine.close();
});

function post(body: unknown): Promise<Response> {
  outcomes = [];
  return fetch(`${url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) });
}

const small = { model: 'mock-llama-3-8b', prompt: 'hi', max_tokens: 3 };

it('passes a JSON answer through with its headers, marks the first token, and reads the usage', async () => {
  const res = await post(small);
  expect(res.status).toBe(200);
  expect(res.headers.get('x-brixlet-target')).toBe('e0');
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(3);
  expect(outcomes).toMatchObject([{ kind: 'answered', status: 200 }]);
  const out = outcomes[0] as Extract<CallOutcome, { kind: 'answered' }>;
  expect([out.usage.promptTokens, out.usage.outputTokens()]).toEqual([1, 3]);
  expect(marks.firstToken).toBeGreaterThan(0);
});

it('streams an event stream with x-accel-buffering: no', async () => {
  const res = await post({ ...small, stream: true });
  expect(res.headers.get('x-accel-buffering')).toBe('no');
  expect((await res.text()).split('\n\n').filter(Boolean)).toHaveLength(4);
  expect(outcomes[0]).toMatchObject({ kind: 'answered', status: 200 });
  expect((outcomes[0] as Extract<CallOutcome, { kind: 'answered' }>).usage.outputTokens()).toBe(3);
});

it('passes an engine\'s 5xx through: the engine had the request, so it is never retried', async () => {
  engine.failNext({ mode: 'status', status: 503 });
  const passed = await post(small);
  expect(passed.status).toBe(503);
  expect(outcomes[0]).toMatchObject({ kind: 'answered', status: 503 });
  expect((await post(small)).status).toBe(200);
});

it('reports a reset after the request was written as final (it may be generating), and a body over the limit as final', async () => {
  engine.failNext({ mode: 'reset' });
  expect((await post(small)).headers.get('x-outcome')).toBe('reset:BRX_ERR_GATEWAY_UPSTREAM');
  expect(outcomes[0]).toMatchObject({ kind: 'failed', reason: 'reset', retry: false });
  opts = { ...opts, responseLimit: 1024 };
  const big = await post({ ...small, max_tokens: 500 });
  opts = { ...opts, responseLimit: 64 * 1024 };
  expect(big.headers.get('x-outcome')).toBe('too-large:BRX_ERR_GATEWAY_RESPONSE_TOO_LARGE');
  expect(outcomes[0]).toMatchObject({ kind: 'failed', retry: false });
});

it('times out before the first byte (final: the request was sent) and ends a silent stream with an error event', async () => {
  opts = { firstByteTimeout: 5, idleTimeout: 5000, responseLimit: 64 * 1024 };
  // 30 000 prompt tokens: about 20 ms of prefill at this time scale, past the 5 ms limit.
  const slow = await post({ ...small, prompt: 'p'.repeat(120_000), max_tokens: 1 });
  expect(slow.headers.get('x-outcome')).toBe('timeout:BRX_ERR_GATEWAY_TIMEOUT');
  expect(outcomes[0]).toMatchObject({ kind: 'failed', retry: false });
  opts = { firstByteTimeout: 5000, idleTimeout: 5000, responseLimit: 64 * 1024 };
  engine.failNext({ mode: 'midstream' });
  const broken = await post({ ...small, max_tokens: 40, stream: true });
  const events = (await broken.text()).split('\n\n').filter(Boolean);
  expect(events.at(-2)).toContain('"code":"BRX_ERR_GATEWAY_UPSTREAM"');
  expect(events.at(-1)).toBe('data: [DONE]');
  expect(outcomes[0]).toMatchObject({ kind: 'answered', status: 502, failure: 'midstream' });
});

it('reports a refused connection as a connect failure', async () => {
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as { port: number }).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const out = await new Promise<CallOutcome>((resolve) => {
    const s = createServer((_req, res) => {
      void callUpstream(opts, { target: pools.target(`http://127.0.0.1:${port}`), decision: decision(), url: '/v1/completions', headers: [], body: Buffer.from('{}'), res, extraHeaders: {} }).then((o) => {
        res.end();
        resolve(o);
      });
    });
    s.listen(0, '127.0.0.1', () => {
      void fetch(`http://127.0.0.1:${(s.address() as { port: number }).port}/`).then((r) => r.text()).finally(() => s.close());
    });
  });
  expect(out).toMatchObject({ kind: 'failed', reason: 'connect', retry: true, error: { code: 'BRX_ERR_GATEWAY_UPSTREAM', message: expect.stringContaining('ECONNREFUSED') } });
});

it('closes a finished answer the client stops taking after the send timeout, and not one it is still taking', () => {
  vi.useFakeTimers();
  try {
    const fake = (queued: number) => {
      const res = Object.assign(new EventEmitter(), { writableLength: queued, writableFinished: false, destroyed: false, destroy: () => ((res.destroyed = true), res) });
      return res;
    };
    let cut = 0;
    const stuck = fake(5 << 20);
    watchSend(stuck as never, 1000, () => void cut++);
    const slow = fake(5 << 20);
    watchSend(slow as never, 1000, () => void cut++);
    vi.advanceTimersByTime(999);
    slow.writableLength -= 1 << 20;
    expect([stuck.destroyed, slow.destroyed, cut]).toEqual([false, false, 0]);
    vi.advanceTimersByTime(1);
    expect([stuck.destroyed, slow.destroyed, cut]).toEqual([true, false, 1]);
    // The slow reader took nothing in the next period: cut too.
    vi.advanceTimersByTime(1000);
    expect([slow.destroyed, cut]).toEqual([true, 2]);
    const done = fake(100);
    watchSend(done as never, 1000, () => void cut++);
    done.writableFinished = true;
    done.emit('finish');
    vi.advanceTimersByTime(5000);
    expect([done.destroyed, cut]).toEqual([false, 2]);
  } finally {
    vi.useRealTimers();
  }
});
