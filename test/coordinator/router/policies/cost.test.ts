import { describe, expect, it } from 'vitest';
import { busyLoad, costPolicy, engineCost } from '../../../../src/coordinator/router/policies/cost.js';
import { Router } from '../../../../src/coordinator/router/router.js';
import type { EngineState } from '../../../../src/coordinator/router/types.js';
import { choose, context, engine, index, seeded, tally } from '../fixtures.js';

// Blocks of 4 characters (the fixtures' index); P is 4 blocks = 16 tokens.
const P = 'AAAABBBBCCCCDDDD';
const policy = costPolicy();

function holding(ctx: ReturnType<typeof context>, e: EngineState, prompt: string): EngineState {
  ctx.prefix.insert(e.uid, ctx.prefix.blocks(prompt));
  return e;
}

function withSpeed(e: EngineState, prefill: number, decode: number): EngineState {
  return { ...e, speed: { gpuType: 'slow', prefill, decode } };
}

describe('cost terms', () => {
  it('sends the request where its prefill is cached when both engines are idle', () => {
    const ctx = context();
    const a = engine('a');
    const b = holding(ctx, engine('b'), P);
    const c = choose(policy, [a, b], P, ctx);
    expect(c.engine.name).toBe('b');
    expect(c.matchedBlocks).toBe(4);
    // b: 2·0 + 0 = 0; a: 2·16 = 32.
    expect(c.reason).toBe(
      'cost: b 0 (uncached 0, 4/4 blocks cached, queued 0, decoding 0); runner-up a 32 (uncached 16, 0/4 blocks cached, queued 0, decoding 0)',
    );
  });

  it('counts a partial match: only the uncached tail is prefill', () => {
    const ctx = context();
    const a = holding(ctx, engine('a'), 'AAAABBBB');
    const b = holding(ctx, engine('b'), 'AAAA');
    const c = choose(policy, [a, b], P, ctx);
    expect(c.engine.name).toBe('a');
    expect(c.reason).toContain('a 16 (uncached 8, 2/4 blocks cached');
    expect(c.reason).toContain('runner-up b 24 (uncached 12, 1/4 blocks cached');
  });

  it('lets an idle engine win when the holder queue outweighs the prefix', () => {
    const ctx = context();
    const idle = engine('idle');
    // Cost of the idle engine: α·16 = 32. The holder costs its queue.
    const busyHolder = holding(ctx, engine('holder', { load: { prefillTokens: 33, inFlight: 1 } }), P);
    expect(choose(policy, [idle, busyHolder], P, ctx).engine.name).toBe('idle');
    const lighterHolder = holding(ctx, engine('holder2', { load: { prefillTokens: 31, inFlight: 1 } }), P);
    expect(choose(policy, [idle, lighterHolder], P, ctx).engine.name).toBe('holder2');
  });

  it('weighs decoding requests at K = 32 prefill tokens each', () => {
    const ctx = context();
    const decoding = engine('decoding', { load: { decoding: 2, inFlight: 2 } }); // 64
    const queued = engine('queued', { load: { prefillTokens: 63, inFlight: 1 } }); // 63
    expect(choose(policy, [decoding, queued], 'xyz', ctx).engine.name).toBe('queued');
    const queued2 = engine('queued2', { load: { prefillTokens: 65, inFlight: 1 } });
    expect(choose(policy, [decoding, queued2], 'xyz', ctx).engine.name).toBe('decoding');
  });

  it('divides the prefill terms by prefill speed and the decode term by decode speed', () => {
    const ctx = context();
    // No match anywhere: fast costs (2·16 + queue)/1, half-speed costs 2·16/0.5 = 64.
    const slow = withSpeed(engine('slow'), 0.5, 0.5);
    expect(choose(policy, [slow, engine('fast', { load: { prefillTokens: 31 } })], P, ctx).engine.name).toBe('fast');
    expect(choose(policy, [slow, engine('fast', { load: { prefillTokens: 33 } })], P, ctx).engine.name).toBe('slow');
    // The same prefix on both: a slow prefiller still wins when it holds more of it.
    const ctx2 = context();
    const slowHolder = holding(ctx2, withSpeed(engine('slow'), 0.5, 1), P);
    const fastPartial = holding(ctx2, engine('fast'), 'AAAA');
    expect(choose(policy, [slowHolder, fastPartial], P, ctx2).engine.name).toBe('slow');
    // Decode speed: 1 decoding request on a quarter-speed decoder = 128, on the reference = 32·3 = 96.
    const e1 = withSpeed(engine('q', { load: { decoding: 1, inFlight: 1 } }), 1, 0.25);
    const e2 = engine('r', { load: { decoding: 3, inFlight: 3 } });
    expect(engineCost(e1, 0, 2, 1, 32)).toBe(128);
    expect(engineCost(e2, 0, 2, 1, 32)).toBe(96);
    expect(choose(policy, [e1, e2], 'xyz', ctx).engine.name).toBe('r');
  });
});

describe('imbalance guard', () => {
  it('leaves out a holder more than 16 requests above the least loaded (and 1.5× it)', () => {
    const ctx = context();
    const hot = holding(ctx, engine('hot', { inFlight: 17 }), P);
    const c = choose(policy, [hot, engine('a', { inFlight: 0 }), engine('b', { inFlight: 1 })], P, ctx);
    expect(c.engine.name).toBe('a');
    expect(c.reason).toMatch(/; 1 engine\(s\) over the load limit 16 left out$/);
    // At exactly the limit it stays in and its cached prefix wins.
    const ok = holding(ctx, engine('ok', { inFlight: 16 }), P);
    expect(choose(policy, [ok, engine('a', { inFlight: 0 })], P, ctx).engine.name).toBe('ok');
  });

  it('needs both thresholds: 20 above a minimum of 40 is not 1.5× it', () => {
    const ctx = context();
    const holder = holding(ctx, engine('holder', { inFlight: 60 }), P);
    const c = choose(policy, [holder, engine('a', { inFlight: 40 })], P, ctx);
    expect(c.engine.name).toBe('holder');
    expect(c.reason).not.toContain('left out');
    const over = holding(ctx, engine('over', { inFlight: 61 }), P);
    expect(choose(policy, [over, engine('a', { inFlight: 40 })], P, ctx).engine.name).toBe('a');
  });

  it('counts requests on a slow decoder as more load', () => {
    const slow = withSpeed(engine('slow', { inFlight: 5 }), 1, 0.25);
    expect(busyLoad(slow)).toBe(20);
    const ctx = context();
    holding(ctx, slow, P);
    // 20 > 0 + 16: the slow holder is left out although the prefix is cached there.
    expect(choose(policy, [slow, engine('a')], P, ctx).engine.name).toBe('a');
  });

  it('follows the abs and rel options', () => {
    const ctx = context();
    const loose = costPolicy({ imbalanceAbs: 100 });
    const hot = holding(ctx, engine('hot', { inFlight: 50 }), P);
    expect(choose(loose, [hot, engine('a')], P, ctx).engine.name).toBe('hot');
    const strictRel = costPolicy({ imbalanceAbs: 0, imbalanceRel: 1 });
    expect(choose(strictRel, [holding(ctx, engine('h', { inFlight: 1 }), P), engine('a')], P, ctx).engine.name).toBe('a');
  });
});

describe('weights', () => {
  it('takes α and β per request over the options', () => {
    const ctx = context();
    const holder = holding(ctx, engine('holder', { load: { prefillTokens: 40, inFlight: 1 } }), P);
    const idle = engine('idle');
    // Default α = 2: idle 32 < holder 40.
    expect(choose(policy, [holder, idle], P, ctx).engine.name).toBe('idle');
    // α = 3: idle 48 > holder 40.
    expect(choose(policy, [holder, idle], P, ctx, { prefillWeight: 3 }).engine.name).toBe('holder');
    expect(choose(costPolicy({ prefillWeight: 3 }), [holder, idle], P, ctx).engine.name).toBe('holder');
    // A request weight beats the option.
    expect(choose(costPolicy({ prefillWeight: 3 }), [holder, idle], P, ctx, { prefillWeight: 1 }).engine.name).toBe('idle');

    const decoding = engine('decoding', { load: { decoding: 10, inFlight: 10 } }); // β·320
    const queued = engine('queued', { load: { prefillTokens: 200, inFlight: 1 } });
    expect(choose(policy, [decoding, queued], 'xyz', ctx).engine.name).toBe('queued');
    expect(choose(policy, [decoding, queued], 'xyz', ctx, { decodeWeight: 0 }).engine.name).toBe('decoding');
    expect(choose(costPolicy({ decodeTokens: 10 }), [decoding, queued], 'xyz', ctx).engine.name).toBe('decoding');
  });

  it('ignores weights that are negative or not finite', () => {
    const ctx = context();
    const holder = holding(ctx, engine('holder', { load: { prefillTokens: 40, inFlight: 1 } }), P);
    const idle = engine('idle');
    expect(choose(policy, [holder, idle], P, ctx, { prefillWeight: -5 }).engine.name).toBe('idle');
    expect(choose(policy, [holder, idle], P, ctx, { prefillWeight: Number.NaN }).engine.name).toBe('idle');
  });
});

describe('cold engines and ties', () => {
  it('never reads metrics: an engine never scraped competes as idle', () => {
    const ctx = context();
    const scraped = engine('scraped', { metrics: { running: 0, waiting: 0, gpuCacheUsage: 0 }, load: { decoding: 1, inFlight: 1 } });
    const cold = engine('cold');
    expect(cold.metrics).toBeUndefined();
    expect(choose(policy, [scraped, cold], P, ctx).engine.name).toBe('cold');
    // Metrics that look busy change nothing when the router's own counts are equal.
    const busyLooking = engine('busy', { metrics: { running: 200, waiting: 50, gpuCacheUsage: 0.99 } });
    const counts = tally(1000, () => choose(policy, [busyLooking, engine('cold')], P, ctx).engine);
    expect(counts.busy).toBeGreaterThan(400);
    expect(counts.cold).toBeGreaterThan(400);
  });

  it('breaks exact ties at random with the context generator', () => {
    const ctx = context(index(), 9);
    const engines = [engine('a'), engine('b'), engine('c')];
    const counts = tally(3000, () => choose(policy, engines, P, ctx).engine);
    for (const n of ['a', 'b', 'c']) expect(counts[n]).toBeGreaterThan(850);
    expect(choose(policy, engines, P, ctx).reason).toMatch(/, random among 3 tied$/);
  });
});

describe('through the router', () => {
  it('spreads a burst for one hot prefix once the guard trips, counting load inside each decision', () => {
    const engines = [engine('a'), engine('b'), engine('c')];
    const router = new Router({ defaultPolicy: 'cost', prefix: index(), random: seeded(4) });
    const prompt = P.repeat(8); // 32 blocks
    const chosen = Array.from({ length: 60 }, () => router.route({ model: 'm', prompt, promptTokens: prompt.length, maxTokens: 16 }, engines));
    // The first request pays the prefill; later ones follow the prefix until the holder is 16 above the rest.
    expect(chosen[1]?.engine).toBe(chosen[0]?.engine);
    const loads = engines.map((e) => e.load.inFlight).sort((x, y) => x - y);
    expect(loads.reduce((s, x) => s + x, 0)).toBe(60);
    expect((loads[2] as number) - (loads[0] as number)).toBeLessThanOrEqual(17);
    expect(loads[0]).toBeGreaterThan(0);
    // Finishing requests hands the load back.
    for (const d of chosen) {
      d.firstToken();
      d.release(16);
    }
    expect(engines.map((e) => [e.load.inFlight, e.load.prefillTokens, e.load.decoding])).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });
});
