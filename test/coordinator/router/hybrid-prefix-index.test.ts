import { describe, expect, it } from 'vitest';
import type { KvEvent, ReceivedKvEventBatch } from '../../../src/common/kv-events/types.js';
import { tokensToText } from '../../../src/coordinator/gateway/engine-tokenizer.js';
import { HybridPrefixIndex } from '../../../src/coordinator/router/hybrid-prefix-index.js';
import { createKvEventIndex } from '../../../src/coordinator/router/kv-event-index.js';
import { createPolicy } from '../../../src/coordinator/router/policies/index.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { Router } from '../../../src/coordinator/router/router.js';
import type { RoutingPolicyName } from '../../../src/coordinator/router/types.js';
import { engine, request, seeded } from './fixtures.js';

const BS = 4;
const tokens = Array.from({ length: 16 }, (_, i) => 500 + i);
const prompt = tokensToText(tokens);

function stored(hashes: string[], ids: number[]): KvEvent {
  return { type: 'BlockStored', blockHashes: hashes, parentBlockHash: null, tokenIds: ids, blockSize: BS, loraId: null, medium: null, loraName: null };
}

function batch(seq: bigint, events: KvEvent[]): ReceivedKvEventBatch {
  return { topic: 'kv-events', seq, batch: { ts: 0, events, dataParallelRank: null } };
}

/** e0 is believed (routing history) to hold the prompt; e1's events say it holds it. */
function setup() {
  const approx = createPrefixIndex({ blockTokens: BS, capacity: 1000 });
  const exact = createKvEventIndex({ capacity: 1000, staleMs: 5000 });
  const hybrid = new HybridPrefixIndex(approx, exact);
  const e0 = engine('e0');
  const e1 = engine('e1');
  approx.insert(e0.uid, approx.blocks(prompt));
  exact.ingest(e1.uid, batch(0n, [stored(['1', '2', '3', '4'], tokens)]), 1000);
  return { approx, exact, hybrid, e0, e1 };
}

describe('HybridPrefixIndex', () => {
  it('answers from the KV events for a live engine and from routing history for the others', () => {
    const { hybrid, e0, e1 } = setup();
    const blocks = hybrid.blocks(prompt);
    const m = hybrid.matches(blocks);
    expect(m.get(e1.uid)).toBe(4);
    expect(m.get(e0.uid)).toBe(4);
    expect(hybrid.source(e1.uid)).toBe('kv-events');
    expect(hybrid.source(e0.uid)).toBe('approximate');
    expect(hybrid.matchLength(e1.uid, blocks)).toBe(4);
  });

  it('removeEngine forgets the routing history, never what the events report', () => {
    const { hybrid, approx, e0, e1 } = setup();
    hybrid.removeEngine(e0.uid);
    hybrid.removeEngine(e1.uid);
    expect(approx.engineBlocks(e0.uid)).toBe(0);
    expect(hybrid.matches(hybrid.blocks(prompt)).get(e1.uid)).toBe(4);
  });

  it('ignores the routing history of a live engine (its events say what it holds)', () => {
    const { hybrid, exact, e1 } = setup();
    hybrid.insert(e1.uid, hybrid.blocks(prompt));
    exact.ingest(e1.uid, batch(1n, [{ type: 'AllBlocksCleared' }]), 1001);
    expect(hybrid.matches(hybrid.blocks(prompt)).get(e1.uid)).toBeUndefined();
    // Stale: the history (the insert above) answers again.
    exact.sweep(10_000);
    expect(hybrid.matches(hybrid.blocks(prompt)).get(e1.uid)).toBe(4);
    expect(hybrid.source(e1.uid)).toBe('approximate');
  });
});

describe('policies on the hybrid index', () => {
  for (const name of ['cost', 'prefix-cache', 'kv-aware'] as RoutingPolicyName[]) {
    it(`${name} follows the KV events of a live engine and falls back when they go stale`, () => {
      const { hybrid, exact, e1 } = setup();
      const e2 = engine('e2');
      // Without events the engine the history names wins; with e1's events live, e1 wins on its
      // 4 exact blocks against e2's none (e0 excluded: only e1 and e2 are candidates).
      const router = new Router({ defaultPolicy: name, prefix: hybrid, random: seeded(1), now: () => 0 });
      const d = router.route(request(prompt, { promptTokens: 16 }), [e2, e1]);
      expect(d.engine.name).toBe('e1');
      expect(d.prefixSource).toBe('kv-events');
      expect(d.matchedBlocks).toBe(4);
      expect(d.reason).toContain('(kv-events)');
      d.release();
      // Events stop: e1's match now comes from history — the router's own insert above.
      exact.sweep(60_000);
      const policy = createPolicy(name);
      const c = policy.choose(request(prompt, { promptTokens: 16 }), hybrid.blocks(prompt), [e2, e1], { prefix: hybrid, random: seeded(2), now: 0 });
      expect(c.engine.name).toBe('e1');
      expect(c.reason).toContain('(approximate)');
      const again = router.route(request(prompt, { promptTokens: 16 }), [e2, e1]);
      expect(again.prefixSource).toBe('approximate');
    });
  }

  it('a stale engine with no history loses to the engine the history names', () => {
    const { hybrid, exact, e0, e1 } = setup();
    const policy = createPolicy('prefix-cache');
    const ctx = { prefix: hybrid, random: seeded(3), now: 0 };
    exact.ingest(e1.uid, batch(1n, [stored(['1', '2', '3', '4'], tokens)]), 1000);
    const live = policy.choose(request(prompt), hybrid.blocks(prompt), [e0, e1], ctx);
    // Both hold 4 blocks: a tie, broken at random; after e1 goes stale only e0 matches.
    expect(['e0', 'e1']).toContain(live.engine.name);
    exact.setConnected(e1.uid, false, 2000);
    expect(policy.choose(request(prompt), hybrid.blocks(prompt), [e0, e1], ctx).engine.name).toBe('e0');
  });
});

describe('blocks in flight on a live engine', () => {
  /** e0 and e1 both live (an event each), neither holding the prompt; a settable clock. */
  function live() {
    let now = 1000;
    const approx = createPrefixIndex({ blockTokens: BS, capacity: 1000 });
    const exact = createKvEventIndex({ capacity: 1000, staleMs: 60_000 });
    const hybrid = new HybridPrefixIndex(approx, exact, { now: () => now, graceMs: 500, maxInFlightMs: 10_000 });
    const e0 = engine('e0');
    const e1 = engine('e1');
    const other = tokensToText(Array.from({ length: 4 }, (_, i) => 900 + i));
    exact.ingest(e0.uid, batch(0n, [stored(['a'], [900, 901, 902, 903])]), now);
    exact.ingest(e1.uid, batch(0n, [stored(['b'], [900, 901, 902, 903])]), now);
    return { hybrid, exact, e0, e1, other, clock: { set: (t: number) => (now = t) } };
  }

  it('counts a routed prompt as held while it prefills and for the grace after, then asks the events again', () => {
    const { hybrid, e0, clock } = live();
    const blocks = hybrid.blocks(prompt);
    expect(hybrid.matches(blocks).get(e0.uid)).toBeUndefined();
    const settle = hybrid.routed(e0.uid, blocks, 1000);
    expect(settle).toBeDefined();
    expect(hybrid.matches(blocks).get(e0.uid)).toBe(4);
    expect(hybrid.matchLength(e0.uid, blocks)).toBe(4);
    // A prompt sharing the first two blocks matches two.
    const half = hybrid.blocks(tokensToText([...tokens.slice(0, 8), 7, 7, 7, 7, 7, 7, 7, 7]));
    expect(hybrid.matches(half).get(e0.uid)).toBe(2);
    clock.set(5000);
    (settle as (now: number) => void)(5000);
    clock.set(5499);
    expect(hybrid.matches(blocks).get(e0.uid)).toBe(4);
    clock.set(5500);
    expect(hybrid.matches(blocks).get(e0.uid)).toBeUndefined();
    expect(hybrid.matchLength(e0.uid, blocks)).toBe(0);
  });

  it('forgets a request that never settles after maxInFlightMs, and an engine that left', () => {
    const { hybrid, e0, e1, clock } = live();
    const blocks = hybrid.blocks(prompt);
    hybrid.routed(e0.uid, blocks, 1000);
    hybrid.routed(e1.uid, blocks, 1000);
    hybrid.removeEngine(e1.uid);
    expect(hybrid.matches(blocks).get(e1.uid)).toBeUndefined();
    clock.set(10_999);
    expect(hybrid.matches(blocks).get(e0.uid)).toBe(4);
    clock.set(11_000);
    expect(hybrid.matches(blocks).get(e0.uid)).toBeUndefined();
  });

  it('two requests in flight with one prefix: the blocks count until both have settled', () => {
    const { hybrid, e0, clock } = live();
    const blocks = hybrid.blocks(prompt);
    const a = hybrid.routed(e0.uid, blocks, 1000) as (now: number) => void;
    const b = hybrid.routed(e0.uid, blocks, 1000) as (now: number) => void;
    a(1000);
    a(1000);
    clock.set(2000);
    expect(hybrid.matches(blocks).get(e0.uid)).toBe(4);
    b(2000);
    clock.set(2500);
    expect(hybrid.matches(blocks).get(e0.uid)).toBeUndefined();
  });

  it('leaves an engine without live events to the routing history', () => {
    const { hybrid } = live();
    expect(hybrid.routed(engine('e9').uid, hybrid.blocks(prompt), 1000)).toBeUndefined();
  });

  it('cost sends a second request with the prefix where the first is still prefilling, before any event', () => {
    const { hybrid, e0, e1, clock } = live();
    const router = new Router({ defaultPolicy: 'cost', prefix: hybrid, random: seeded(4), now: () => 1000 });
    const first = router.route(request(prompt, { promptTokens: 16 }), [e0, e1]);
    const busy = first.engine;
    // The first request's engine is now the busier one: without its blocks in flight the second
    // request would go to the idle engine, whose cache does not hold the prefix either.
    const second = router.route(request(prompt, { promptTokens: 16 }), [e0, e1]);
    expect(second.engine.uid).toBe(busy.uid);
    expect(second.matchedBlocks).toBe(4);
    // Both prefills end and the grace passes with no event: the blocks are not believed held.
    first.firstToken();
    second.release();
    clock.set(1000 + 500);
    expect(hybrid.matches(hybrid.blocks(prompt)).size).toBe(0);
  });
});

