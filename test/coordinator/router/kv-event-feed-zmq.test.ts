// The feed on the real ZMQ subscriber against the common publisher over loopback TCP: an engine's
// BlockStored reaches the exact index and routing; a publisher that goes away falls back.
import { afterEach, describe, expect, it } from 'vitest';
import { KvEventPublisher } from '../../../src/common/kv-events/publisher.js';
import { KvEventSubscriber } from '../../../src/common/kv-events/subscriber.js';
import { tokensToText } from '../../../src/coordinator/gateway/engine-tokenizer.js';
import { HybridPrefixIndex } from '../../../src/coordinator/router/hybrid-prefix-index.js';
import { KvEventFeed } from '../../../src/coordinator/router/kv-event-feed.js';
import { createKvEventIndex } from '../../../src/coordinator/router/kv-event-index.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { Router } from '../../../src/coordinator/router/router.js';
import { engine, request, seeded } from './fixtures.js';

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('KvEventFeed over ZMQ', () => {
  it('routes on the events an engine publishes and falls back when its publisher closes', async () => {
    const pub = new KvEventPublisher({ endpoint: 'tcp://127.0.0.1:0' });
    await pub.start();
    let pubOpen = true;
    cleanups.push(async () => {
      if (pubOpen) await pub.close();
    });
    const index = createKvEventIndex({ capacity: 1000, staleMs: 60_000 });
    const feed = new KvEventFeed({ index, factory: (o) => new KvEventSubscriber(o) });
    cleanups.push(() => feed.close());
    const hot = engine('hot');
    const cold = engine('cold');
    feed.add(hot.uid, hot.name, { endpoint: pub.endpoint });
    await until(() => pub.stats().subscriptions > 0, 'the subscription');

    const tokens = Array.from({ length: 32 }, (_, i) => 4000 + i);
    const hashes = Array.from({ length: 8 }, (_, i) => String(9_000_000 + i));
    pub.publish({ ts: Date.now() / 1000, dataParallelRank: null, events: [{ type: 'BlockStored', blockHashes: hashes, parentBlockHash: null, tokenIds: tokens, blockSize: 4, loraId: null, medium: 'GPU', loraName: null }] });
    await until(() => index.engineBlocks(hot.uid) === 8, 'the stored blocks');

    // The prefix index cuts 8-token blocks, the engine 4: matching rehashes at the engine's size.
    const prefix = new HybridPrefixIndex(createPrefixIndex({ blockTokens: 8, capacity: 1000 }), index);
    const router = new Router({ defaultPolicy: 'cost', prefix, random: seeded(1) });
    const prompt = tokensToText(tokens);
    const d = router.route(request(prompt), [cold, hot]);
    expect(d.engine.name).toBe('hot');
    expect(d.prefixSource).toBe('kv-events');
    expect(d.matchedBlocks).toBe(4);
    d.release();

    await pub.close();
    pubOpen = false;
    await until(() => {
      feed.sweep();
      return !index.isLive(hot.uid);
    }, 'the fallback after the publisher closed');
    expect(prefix.source(hot.uid)).toBe('approximate');
  });
});
