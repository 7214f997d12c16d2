import { describe, expect, it } from 'vitest';
import { createEngineModel } from '../../src/mock-engine/model.js';
import type { EngineModel, GpuProfile, ModelEvent, ModelRequest } from '../../src/mock-engine/types.js';

const P: GpuProfile = {
  name: 'test',
  stepOverheadMs: 1,
  prefillMsPerToken: 0.1,
  decodeMsPerSeq: 0.5,
  maxBatchedTokens: 64,
  maxRunning: 4,
  kvBlocks: 16,
  blockTokens: 4,
  speed: { prefill: 1, decode: 1 },
  costPerHour: 0,
};

function req(id: string, promptTokens: number, outputTokens: number, blockHashes: readonly number[] = []): ModelRequest {
  return { id, promptTokens, outputTokens, blockHashes };
}

/** Runs the model until idle, returning every event. */
function drain(m: EngineModel): ModelEvent[] {
  const out: ModelEvent[] = [];
  for (let t = m.nextEventAt(); t !== undefined; t = m.nextEventAt()) out.push(...m.advance(t));
  return out;
}

const hashes = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => hashOf(`${prefix}${i}`));
function hashOf(s: string): number {
  let h = 7;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 2 ** 40;
  return h;
}

const firstTokenAt = (ev: ModelEvent[], id: string) => ev.find((e) => e.type === 'first-token' && e.id === id);

describe('createEngineModel', () => {
  it('loads loadableBlocks past the prefix-cache hit at loadMsPerBlock instead of prefilling them, and caches them', () => {
    const m = createEngineModel(P, { loadMsPerBlock: 0.05 });
    // 20 tokens = 5 blocks of 4; at most 4 blocks can match (one token is always computed).
    m.submit({ ...req('a', 20, 1, hashes('p', 5)), loadableBlocks: 5 }, 0);
    const ev = drain(m);
    // 1 ms overhead + 4 computed tokens × 0.1 + 4 loaded blocks × 0.05.
    expect(firstTokenAt(ev, 'a')).toEqual({ type: 'first-token', id: 'a', at: 1 + 0.4 + 0.2, cachedTokens: 0, admittedAt: 0, loadedTokens: 16, loadMs: 0.2 });
    expect(m.cachedPrefixBlocks(hashes('p', 5))).toBe(5);
    // Now the prefix cache holds them: nothing is loaded again.
    m.submit({ ...req('b', 20, 1, hashes('p', 5)), loadableBlocks: 5 }, 10);
    expect(firstTokenAt(drain(m), 'b')).toEqual({ type: 'first-token', id: 'b', at: 10 + 1 + 0.4, cachedTokens: 16, admittedAt: 10 });
  });

  it('times one request by the step formula: prefill step, then one decode step per token', () => {
    const m = createEngineModel(P);
    m.submit(req('a', 10, 3), 0);
    expect(m.nextEventAt()).toBeCloseTo(2); // 1 + 10 × 0.1
    expect(drain(m)).toEqual([
      { type: 'first-token', id: 'a', at: 2, cachedTokens: 0, admittedAt: 0 },
      { type: 'token', id: 'a', at: 3.5, index: 1 },
      { type: 'token', id: 'a', at: 5, index: 2 },
      { type: 'finish', id: 'a', at: 5, outputTokens: 3 },
    ]);
    expect(m.nextEventAt()).toBeUndefined();
  });

  it('batches requests submitted at the same time and charges decode per running sequence', () => {
    const m = createEngineModel(P);
    m.submit(req('a', 10, 3), 0);
    m.submit(req('b', 20, 2), 0);
    const ev = drain(m);
    expect(ev.filter((e) => e.type === 'first-token').map((e) => e.at)).toEqual([4, 4]); // 1 + 30 × 0.1
    expect(ev.find((e) => e.type === 'finish' && e.id === 'b')?.at).toBeCloseTo(6); // + 1 + 2 × 0.5
    expect(ev.find((e) => e.type === 'finish' && e.id === 'a')?.at).toBeCloseTo(7.5); // + 1 + 1 × 0.5
  });

  it('a request arriving mid-step waits for the next step', () => {
    const m = createEngineModel(P);
    m.submit(req('a', 10, 5), 0);
    expect(m.nextEventAt()).toBeCloseTo(2);
    m.submit(req('b', 10, 1), 1);
    const ev = drain(m);
    // Step 2 starts at 2: a decodes (0.5), b prefills 10 tokens (1.0).
    expect(firstTokenAt(ev, 'b')?.at).toBeCloseTo(2 + 1 + 1 + 0.5);
    expect(firstTokenAt(ev, 'b')).toMatchObject({ admittedAt: 2 });
  });

  it('splits a long prompt into chunks of maxBatchedTokens and shares the budget with decodes', () => {
    const big = { ...P, kvBlocks: 64 };
    const m = createEngineModel(big);
    m.submit(req('long', 100, 1), 0);
    const ev = drain(m);
    expect(firstTokenAt(ev, 'long')?.at).toBeCloseTo(1 + 6.4 + 1 + 3.6);

    const mixed = createEngineModel(big);
    mixed.submit(req('a', 4, 10), 0);
    expect(drain_until(mixed, 'first-token', 'a')).toBeCloseTo(1.4);
    mixed.submit(req('b', 100, 1), 1.4);
    const ev2 = drain(mixed);
    // Steps: [a decode + 63 prefill] = 1 + 0.5 + 6.3, [a decode + 37 prefill] = 1 + 0.5 + 3.7.
    expect(firstTokenAt(ev2, 'b')?.at).toBeCloseTo(1.4 + 7.8 + 5.2);
  });

  it('reuses cached prefix blocks: cachedTokens = matched blocks × blockTokens, never the whole prompt', () => {
    const m = createEngineModel(P);
    const h = hashes('p', 10);
    m.submit(req('a', 40, 1, h), 0);
    const a = drain(m);
    expect(firstTokenAt(a, 'a')).toMatchObject({ at: 5, cachedTokens: 0 });
    expect(m.cachedPrefixBlocks(h)).toBe(10);

    m.submit(req('same', 40, 1, h), 10);
    const same = firstTokenAt(drain(m), 'same');
    expect(same).toMatchObject({ cachedTokens: 36 }); // 9 of 10 blocks: the last token is computed
    expect((same?.at ?? 0) - 10).toBeCloseTo(1 + 4 * 0.1);

    m.submit(req('half', 42, 1, [...h.slice(0, 5), ...hashes('q', 5)]), 20);
    const half = firstTokenAt(drain(m), 'half');
    expect(half).toMatchObject({ cachedTokens: 20 });
    expect((half?.at ?? 0) - 20).toBeCloseTo(1 + 22 * 0.1);
    const mt = m.metrics(30);
    expect(mt.promptTokensTotal).toBe(122);
    expect(mt.cachedPromptTokensTotal).toBe(56);
  });

  it('evicts unreferenced cached blocks in LRU order, tail blocks of a prompt first', () => {
    const m = createEngineModel(P); // 16 blocks of 4 tokens
    const [a, b, c, d, e, f] = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => hashes(x, 4)) as [number[], number[], number[], number[], number[], number[]];
    let t = 0;
    const run = (id: string, h: number[]) => {
      m.submit(req(`${id}${t}`, 16, 1, h), t);
      drain(m);
      t += 10;
    };
    for (const [id, h] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) run(id, h);
    expect(m.metrics(t).cachedBlocks).toBe(16);
    expect([a, b, c, d].map((h) => m.cachedPrefixBlocks(h))).toEqual([4, 4, 4, 4]);
    run('e', e); // evicts a (least recently used)
    expect([a, b, c, d, e].map((h) => m.cachedPrefixBlocks(h))).toEqual([0, 4, 4, 4, 4]);
    run('b', b); // touches b: b is now most recently used
    run('f', f); // evicts c
    expect([b, c, d, e, f].map((h) => m.cachedPrefixBlocks(h))).toEqual([4, 0, 4, 4, 4]);
    expect(m.metrics(t).cachedBlocks).toBe(16);
  });

  it('preempts the most recently admitted sequence when KV is full and recomputes it later', () => {
    const m = createEngineModel({ ...P, kvBlocks: 8 });
    m.submit(req('a', 12, 20), 0);
    m.submit(req('b', 12, 20), 0);
    const ev = drain(m);
    const mt = m.metrics(1e6);
    expect(mt.preemptionsTotal).toBeGreaterThanOrEqual(1);
    expect(mt.finishedTotal).toBe(2);
    expect(mt.kvUsage).toBe(0);
    for (const id of ['a', 'b']) {
      const mine = ev.filter((e) => e.id === id);
      expect(mine.filter((e) => e.type === 'first-token')).toHaveLength(1);
      expect(mine.filter((e) => e.type === 'token').map((e) => (e.type === 'token' ? e.index : -1))).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
      expect(mine.at(-1)).toMatchObject({ type: 'finish', outputTokens: 20 });
    }
    // a kept running; b (admitted last) was preempted and finished after a.
    const finishA = ev.find((e) => e.type === 'finish' && e.id === 'a')?.at ?? 0;
    const finishB = ev.find((e) => e.type === 'finish' && e.id === 'b')?.at ?? 0;
    expect(finishB).toBeGreaterThan(finishA);
  });

  it('admits at most maxRunning sequences and reports running and waiting', () => {
    const m = createEngineModel(P);
    for (let i = 0; i < 6; i++) m.submit(req(`r${i}`, 4, 3), 0);
    m.nextEventAt();
    expect(m.metrics(0)).toMatchObject({ running: 4, waiting: 2 });
    drain(m);
    expect(m.metrics(100)).toMatchObject({ running: 0, waiting: 0, finishedTotal: 6, generationTokensTotal: 18 });
  });

  it('aborts a running or waiting request: blocks freed, an aborted event, nothing after it', () => {
    const m = createEngineModel({ ...P, maxRunning: 1 });
    m.submit(req('a', 20, 100), 0);
    m.submit(req('w', 8, 5), 0);
    m.advance(m.nextEventAt() as number);
    m.advance(m.nextEventAt() as number);
    const before = m.metrics(5);
    expect(before.kvUsage).toBeCloseTo(6 / 16); // ceil(21 / 4) blocks
    expect(before).toMatchObject({ running: 1, waiting: 1 });
    m.abort('w', 5);
    m.abort('a', 5);
    expect(m.metrics(5)).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
    const ev = drain(m);
    expect(ev.filter((e) => e.type === 'aborted').map((e) => e.id).sort()).toEqual(['a', 'w']);
    expect(ev.filter((e) => e.type !== 'aborted')).toEqual([]);
    m.abort('unknown', 6); // no-op
  });

  it('drops a prompt that can never fit the KV cache with an aborted event', () => {
    const m = createEngineModel(P);
    m.submit(req('huge', 16 * 4 + 1, 1), 0);
    m.submit(req('ok', 4, 1), 0);
    const ev = drain(m);
    expect(ev.find((e) => e.id === 'huge')).toMatchObject({ type: 'aborted' });
    expect(ev.find((e) => e.id === 'ok' && e.type === 'finish')).toBeDefined();
  });

  it('is deterministic: the same calls and seed give the same events; jitter follows the seed', () => {
    const runOnce = (seed: number) => {
      const m = createEngineModel({ ...P, kvBlocks: 64 }, { seed, jitter: 0.2 });
      let x = 12345;
      const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const out: ModelEvent[] = [];
      let t = 0;
      for (let i = 0; i < 200; i++) {
        t += rnd() * 3;
        out.push(...m.advance(t));
        m.submit(req(`r${i}`, 1 + Math.floor(rnd() * 60), 1 + Math.floor(rnd() * 20), hashes(`g${i % 5}`, Math.floor(rnd() * 10))), t);
      }
      return [...out, ...drain(m)];
    };
    const a = runOnce(1);
    expect(runOnce(1)).toEqual(a);
    expect(runOnce(2)).not.toEqual(a);
    expect(a.filter((e) => e.type === 'finish')).toHaveLength(200);
  });

  it('reports token throughputs and the busy ratio over the last 10 s of model time', () => {
    const m = createEngineModel(P);
    m.submit(req('a', 10, 3), 0);
    drain(m); // busy 0 → 5 ms, 10 prompt tokens, 3 generated
    const mt = m.metrics(5);
    expect(mt.promptThroughput).toBeCloseTo(1); // 10 tokens / 10 s
    expect(mt.generationThroughput).toBeCloseTo(0.3);
    expect(mt.busyRatio).toBeCloseTo(5 / 10_000);
    expect(m.metrics(20_000)).toMatchObject({ promptThroughput: 0, generationThroughput: 0, busyRatio: 0 });
  });

  it('can leave out per-token events', () => {
    const m = createEngineModel(P, { tokenEvents: false });
    m.submit(req('a', 10, 5), 0);
    expect(drain(m).map((e) => e.type)).toEqual(['first-token', 'finish']);
  });
});

function drain_until(m: EngineModel, type: ModelEvent['type'], id: string): number | undefined {
  for (let t = m.nextEventAt(); t !== undefined; t = m.nextEventAt()) {
    const hit = m.advance(t).find((e) => e.type === type && e.id === id);
    if (hit !== undefined) return hit.at;
  }
  return undefined;
}
