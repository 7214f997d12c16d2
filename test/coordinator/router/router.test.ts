import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import type { KvEvent } from '../../../src/common/kv-events/types.js';
import { createLogger } from '../../../src/common/logger.js';
import { tokensToText } from '../../../src/coordinator/gateway/engine-tokenizer.js';
import { HybridPrefixIndex } from '../../../src/coordinator/router/hybrid-prefix-index.js';
import { createKvEventIndex } from '../../../src/coordinator/router/kv-event-index.js';
import { POLICIES } from '../../../src/coordinator/router/policies/index.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { DEFAULT_EXPECTED_OUTPUT, Router } from '../../../src/coordinator/router/router.js';
import type { EngineState, RoutingPolicy } from '../../../src/coordinator/router/types.js';
import { engine, fleet, index, request, seeded, text } from './fixtures.js';

function router(policy: Parameters<typeof Router.prototype.policy>[0] = 'least-request', seed = 1, blockTokens = 4): Router {
  return new Router({ defaultPolicy: policy, prefix: index(blockTokens), random: seeded(seed) });
}

function noEngine(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isBrixletError(err, 'BRX_ERR_GATEWAY_NO_ENGINE')) return err.message;
    throw err;
  }
  return undefined;
}

describe('route', () => {
  it('counts the request on the chosen engine before returning and inserts its blocks', () => {
    const r = router('least-request');
    const engines = fleet(2);
    const prompt = 'abcdefghij'; // 2 blocks of 4, tail of 2
    const d = r.route(request(prompt, { maxTokens: 30 }), engines);
    expect(d.policy).toBe('least-request');
    expect(d.engine.load).toEqual({ inFlight: 1, prefillTokens: 10, decoding: 0, decodeTokens: 30, total: 1 });
    expect(r.prefix.matchLength(d.engine.uid, d.blocks)).toBe(2);
    expect(d.matchedBlocks).toBe(0);
    expect(d.decisionMicros).toBeGreaterThan(0);
    // The second request goes to the other engine (least-request); a third, under prefix-cache,
    // to the idle one of the two now holding both blocks: only its last block is uncached.
    const d2 = r.route(request(prompt), engines);
    expect(d2.engine).not.toBe(d.engine);
    d2.release();
    const d3 = r.route(request(`${prompt}xy`, { policy: 'prefix-cache' }), engines);
    expect(d3.policy).toBe('prefix-cache');
    expect(d3.engine).toBe(d2.engine);
    expect(d3.matchedBlocks).toBe(2);
    expect(d3.engine.load.prefillTokens).toBe(12 - 8);
  });

  it('uses the running average of observed outputs when max_tokens is absent', () => {
    const r = router();
    const e = engine('e1');
    const d = r.route(request('p'), [e]);
    expect(e.load.decodeTokens).toBe(DEFAULT_EXPECTED_OUTPUT);
    d.release(40);
    expect(r.expectedOutput).toBe(40);
    r.route(request('p'), [e]).release(60);
    expect(r.expectedOutput).toBe(50);
    r.route(request('p'), [e]);
    expect(e.load.decodeTokens).toBe(50);
  });

  it('throws BRX_ERR_GATEWAY_NO_ENGINE on no candidates or when all were tried', () => {
    const r = router();
    expect(noEngine(() => r.route(request('p'), []))).toMatch(/no healthy engine serves m: no candidate engine/);
    const engines = fleet(2);
    const exclude = new Set(engines.map((e) => e.uid));
    expect(noEngine(() => r.route(request('p', { exclude }), engines))).toMatch(/all 2 engine\(s\) already tried/);
    const d = r.route(request('p', { exclude: new Set([engines[0]!.uid]) }), engines);
    expect(d.engine).toBe(engines[1]);
    expect(engines[0]!.load.total).toBe(0);
  });

  it('runs a policy object passed to route() and replacements given to the constructor', () => {
    const last: RoutingPolicy = { name: 'random', choose: (_q, _b, c) => ({ engine: c[c.length - 1] as EngineState, reason: 'last', matchedBlocks: 0 }) };
    const engines = fleet(3);
    expect(router().route(request('p'), engines, last).engine).toBe(engines[2]);
    const r = new Router({ defaultPolicy: 'random', prefix: index(), policies: { random: last } });
    expect(r.route(request('p'), engines).reason).toBe('last');
  });

  it('logs the decision at debug only when debug is enabled', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ level: 'info', format: 'json', stream });
    const r = new Router({ defaultPolicy: 'least-request', prefix: index(), log });
    r.route(request('p'), fleet(1));
    expect(lines).toEqual([]);
    log.level = 'debug';
    r.route(request('p'), fleet(1));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: 'routed', policy: 'least-request', engine: 'e0', reason: expect.stringContaining('least-request') });
  });
});

describe('in-flight accounting', () => {
  it('returns to exactly zero after 1,000 concurrent requests and never goes negative', async () => {
    const rand = seeded(7);
    const engines = fleet(8);
    const r = new Router({ defaultPolicy: 'prefix-cache', prefix: index(4), random: rand });
    const prompts = Array.from({ length: 50 }, () => text(8 + Math.floor(rand() * 40), rand));
    let negative = false;
    let maxInFlight = 0;
    const check = (): void => {
      let sum = 0;
      for (const e of engines) {
        const l = e.load;
        if (l.inFlight < 0 || l.prefillTokens < 0 || l.decoding < 0 || l.decodeTokens < 0) negative = true;
        sum += l.inFlight;
      }
      maxInFlight = Math.max(maxInFlight, sum);
    };
    const one = async (i: number): Promise<void> => {
      const policy = POLICIES[i % POLICIES.length];
      const d = r.route(request(prompts[i % prompts.length] as string, { policy, ...(i % 2 ? { maxTokens: i % 97 } : {}) }), engines);
      check();
      await new Promise((res) => setTimeout(res, Math.floor(rand() * 5)));
      if (i % 3 !== 0) d.firstToken();
      await new Promise((res) => setTimeout(res, Math.floor(rand() * 3)));
      d.release(i % 200);
      if (i % 5 === 0) d.release(1); // a duplicate release from an error path
      check();
    };
    await Promise.all(Array.from({ length: 1000 }, (_, i) => one(i)));
    expect(negative).toBe(false);
    expect(maxInFlight).toBeGreaterThan(100);
    for (const e of engines) expect(e.load).toMatchObject({ inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0 });
    expect(engines.reduce((s, e) => s + e.load.total, 0)).toBe(1000);
  });

  it('spreads a burst of 64 routes issued in one tick one per engine under least-request', () => {
    const engines = fleet(64);
    const r = router('least-request', 3);
    const decisions = Array.from({ length: 64 }, () => r.route(request('same prompt for everyone'), engines));
    expect(new Set(decisions.map((d) => d.engine.uid)).size).toBe(64);
    for (const e of engines) expect(e.load.inFlight).toBe(1);
  });
});

describe('decision time', () => {
  it('stays well under a generous bound at 64 engines for every policy (the bench measures the real p99)', () => {
    const rand = seeded(11);
    const systems = Array.from({ length: 8 }, () => text(256 + Math.floor(rand() * 2000), rand));
    const prompts = Array.from({ length: 256 }, () => (systems[Math.floor(rand() * 8)] as string) + text(500 + Math.floor(rand() * 3000), rand));
    for (const policy of POLICIES) {
      const engines = fleet(64, { metrics: { running: 1, gpuCacheUsage: 0.5, busyTimeRatio: 0.2 }, kv: { capacityBytes: 100, usedBytes: 10, hitRatio: 0.5 } });
      const r = new Router({ defaultPolicy: policy, prefix: index(128, 200_000), random: rand });
      const times: number[] = [];
      const live = [];
      for (let i = 0; i < 1500; i++) {
        const d = r.route(request(prompts[i % prompts.length] as string, { maxTokens: 64 }), engines);
        times.push(d.decisionMicros);
        live.push(d);
        if (live.length > 128) live.shift()?.release(10);
      }
      times.splice(0, 300);
      times.sort((a, b) => a - b);
      const p99 = times[Math.floor(times.length * 0.99)] as number;
      expect(p99, policy).toBeLessThan(500);
    }
  });
});

describe('Router with LoRA requests', () => {
  const BS = 4;
  const tokens = Array.from({ length: 16 }, (_, i) => 700 + i);
  const prompt = tokensToText(tokens);
  const stored = (lora: string | null): KvEvent => ({ type: 'BlockStored', blockHashes: ['1', '2', '3', '4'], parentBlockHash: null, tokenIds: tokens, blockSize: BS, loraId: null, medium: null, loraName: lora });

  it('routes an adapter request on the blocks its adapter stored and a base request on the base blocks', () => {
    const exact = createKvEventIndex({ capacity: 1000, staleMs: 5000 });
    const hybrid = new HybridPrefixIndex(createPrefixIndex({ blockTokens: BS, capacity: 1000 }), exact);
    const base = engine('base');
    const sql = engine('sql');
    exact.ingest(base.uid, { topic: '', seq: 0n, batch: { ts: 0, events: [stored(null)], dataParallelRank: null } }, 0);
    exact.ingest(sql.uid, { topic: '', seq: 0n, batch: { ts: 0, events: [stored('sql')], dataParallelRank: null } }, 0);
    for (const policy of ['prefix-cache', 'cost'] as const) {
      const r = new Router({ defaultPolicy: policy, prefix: hybrid, random: seeded(1), now: () => 0 });
      const toSql = r.route(request(prompt, { promptTokens: 16, lora: 'sql' }), [base, sql]);
      expect([toSql.engine.name, toSql.matchedBlocks]).toEqual(['sql', 4]);
      const toBase = r.route(request(prompt, { promptTokens: 16 }), [sql, base]);
      expect([toBase.engine.name, toBase.matchedBlocks]).toEqual(['base', 4]);
      toSql.release();
      toBase.release();
    }
  });
});
