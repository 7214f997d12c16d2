import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KvEventSubscriber } from '../../src/common/kv-events/subscriber.js';
import { createKvEventIndex } from '../../src/coordinator/router/kv-event-index.js';
import type { BlockRemoved, BlockStored, KvEvent, ReceivedKvEventBatch } from '../../src/common/kv-events/types.js';
import { blockHashes, endpointForRank, gpuProfile, parseKvEventsConfig, startMockEngine, type RunningMockEngine } from '../../src/mock-engine/index.js';
import { tokenIds } from '../../src/mock-engine/hash.js';
import { startTestShard } from '../helpers/test-shard.js';

const engines: RunningMockEngine[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

const complete = (e: RunningMockEngine, prompt: string) =>
  fetch(`${e.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-llama-3-8b', prompt, max_tokens: 8 }) }).then((r) => r.text());

// 16 tokens per block x 4 characters per token: 64 characters per block.
const text = (seed: string, blocks: number) => Array.from({ length: blocks * 64 }, (_, i) => String.fromCharCode(97 + ((i * 7 + seed.charCodeAt(0)) % 26))).join('');

describe('mock engine KV events', () => {
  it('publishes BlockStored (GPU, tokens, parent chain) as its prefix cache fills and BlockRemoved on eviction', async () => {
    const e = await startMockEngine({ timeScale: Infinity, gpu: { ...gpuProfile('h100')!, kvBlocks: 8 }, kvEventsEndpoint: 'tcp://127.0.0.1:0', kvEventsReplayEndpoint: 'tcp://127.0.0.1:0', kvEventsTopic: 'kv@mock@m' });
    engines.push(e);
    const got: ReceivedKvEventBatch[] = [];
    const sub = new KvEventSubscriber({ endpoint: e.kvEvents!.endpoint, replayEndpoint: e.kvEvents!.replayEndpoint, topic: 'kv@mock', onBatch: (b) => got.push(b) });
    sub.start();
    closers.push(() => sub.close());
    await until(() => e.kvEvents!.stats().subscriptions === 1, 'subscription');
    const a = text('a', 4);
    await complete(e, a);
    const events = (): KvEvent[] => got.flatMap((g) => g.batch.events);
    await until(() => events().length >= 4, 'stored events');
    const hashes = blockHashes(a, 64).map(String);
    const stored = events().filter((ev): ev is BlockStored => ev.type === 'BlockStored');
    expect(stored.map((s) => s.blockHashes[0])).toEqual(hashes);
    expect(stored.map((s) => s.parentBlockHash)).toEqual([null, ...hashes.slice(0, 3)]);
    expect(stored[1]).toMatchObject({ medium: 'GPU', blockSize: 16, tokenIds: tokenIds(a, 4).slice(16, 32) });
    expect(got[0]!.topic).toBe('kv@mock@m');

    await complete(e, text('q', 4));
    await until(() => events().some((ev) => ev.type === 'BlockRemoved'), 'an eviction');
    const removed = events().find((ev): ev is BlockRemoved => ev.type === 'BlockRemoved')!;
    expect(removed.medium).toBe('GPU');
    expect(removed.blockHashes.every((h) => hashes.includes(h))).toBe(true);
    expect(sub.stats()).toMatchObject({ gaps: 0, decodeErrors: 0 });

    const stats = (await (await fetch(`${e.url}/admin/stats`)).json()) as { kvEvents: { batches: number; events: number; subscribers: number } };
    expect(stats.kvEvents.subscribers).toBe(1);
    expect(stats.kvEvents.events).toBe(events().length);
    const metrics = await (await fetch(`${e.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^brixlet_mock_engine_kv_events_total\\{model_name="mock-llama-3-8b"\\} ${events().length}$`, 'm'));
  });

  async function subscribed(e: RunningMockEngine): Promise<KvEvent[]> {
    const got: KvEvent[] = [];
    const sub = new KvEventSubscriber({ endpoint: e.kvEvents!.endpoint, onBatch: (b) => got.push(...b.batch.events) });
    sub.start();
    closers.push(() => sub.close());
    await until(() => e.kvEvents!.stats().subscriptions === 1, 'subscription');
    return got;
  }

  it('publishes AllBlocksCleared when /reset_prefix_cache empties the cache', async () => {
    const e = await startMockEngine({ timeScale: Infinity, kvEventsEndpoint: 'tcp://127.0.0.1:0' });
    engines.push(e);
    const got = await subscribed(e);
    await complete(e, text('a', 2));
    const r = await fetch(`${e.url}/reset_prefix_cache`, { method: 'POST' });
    expect(await r.json()).toEqual({ reset: true });
    await until(() => got.some((ev) => ev.type === 'AllBlocksCleared'), 'AllBlocksCleared');
    expect(e.engine.cachedPrefixBlocks(blockHashes(text('a', 2), 64))).toBe(0);
  });

  it('publishes BlockStored with medium BRIXLET for the blocks it offloads to the node shard', async () => {
    const shard = await startTestShard({ 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB' });
    closers.push(() => shard.stop());
    const e = await startMockEngine({ timeScale: Infinity, kvSocket: shard.service.socketPath, kvEventsEndpoint: 'tcp://127.0.0.1:0' });
    engines.push(e);
    const got = await subscribed(e);
    const a = text('z', 5);
    await complete(e, a);
    const offloaded = () => got.filter((ev): ev is BlockStored => ev.type === 'BlockStored' && ev.medium === 'BRIXLET').flatMap((ev) => ev.blockHashes);
    await until(() => offloaded().length > 0 && e.stats().kv!.offloadBlocks === offloaded().length, 'offload events');
    const hashes = blockHashes(a, 64).map(String);
    expect(offloaded().every((h) => hashes.includes(h))).toBe(true);
    const ev = got.find((x): x is BlockStored => x.type === 'BlockStored' && x.medium === 'BRIXLET')!;
    expect(ev).toMatchObject({ parentBlockHash: null, tokenIds: [], blockSize: 16 });
  });

  it('publishes BlockRemoved with medium BRIXLET for announced blocks a lookup finds evicted; the gateway index drops only the pool tier', async () => {
    // 4 MiB of 32 KiB blocks: 128 pool blocks; the GPU cache holds 64.
    const shard = await startTestShard({ 'kv.capacity': '4MiB', 'kv.slabSize': '4MiB' });
    closers.push(() => shard.stop());
    const e = await startMockEngine({ timeScale: Infinity, gpu: { ...gpuProfile('h100')!, kvBlocks: 64 }, kvSocket: shard.service.socketPath, kvEventsEndpoint: 'tcp://127.0.0.1:0' });
    engines.push(e);
    const idx = createKvEventIndex({ capacity: 10_000, staleMs: 60_000 });
    const got: KvEvent[] = [];
    // The block's media in the index right after the batch carrying the BRIXLET removal.
    const afterRemoval: { seen: boolean; media?: { gpu: boolean; tier: boolean } } = { seen: false };
    let key = -1;
    const sub = new KvEventSubscriber({
      endpoint: e.kvEvents!.endpoint,
      onBatch: (b) => {
        idx.ingest('e', b, Date.now());
        got.push(...b.batch.events);
        if (!afterRemoval.seen && b.batch.events.some((ev) => ev.type === 'BlockRemoved' && ev.medium === 'BRIXLET')) {
          afterRemoval.seen = true;
          const m = idx.mediaOf('e', key);
          if (m !== undefined) afterRemoval.media = m;
        }
      },
    });
    sub.start();
    closers.push(() => sub.close());
    await until(() => e.kvEvents!.stats().subscriptions === 1, 'subscription');
    // 4 blocks and a tail, so all 4 may load from the pool.
    const a = text('a', 4) + 'tail';
    const hashes = blockHashes(a, 64).map(String);
    const inPool = () => new Set(got.flatMap((ev) => (ev.type === 'BlockStored' && ev.medium === 'BRIXLET' ? ev.blockHashes : [])));
    await complete(e, a);
    await until(() => hashes.every((h) => inPool().has(h)), 'pool BlockStored of the prompt');
    key = idx.keyOf('e', hashes[0]!)!;
    expect(idx.mediaOf('e', key)).toEqual({ gpu: true, tier: true });
    // 160 other blocks: the shard evicts the prompt's (never read again), the GPU cache too.
    const offloaded = e.stats().kv!.offloadBlocks;
    for (let i = 0; i < 10; i++) await complete(e, text(String.fromCharCode(98 + i), 16) + String(i).repeat(64 * 16));
    await until(() => e.stats().kv!.offloadBlocks >= offloaded + 150, 'fill offloads');
    expect(e.engine.cachedPrefixBlocks(blockHashes(a, 64))).toBe(0);
    expect(idx.mediaOf('e', key)).toEqual({ gpu: false, tier: true });
    await complete(e, a);
    await until(() => afterRemoval.seen, 'BlockRemoved BRIXLET');
    const removed = got.filter((ev): ev is BlockRemoved => ev.type === 'BlockRemoved' && ev.medium === 'BRIXLET').flatMap((ev) => ev.blockHashes);
    expect(removed).toEqual(hashes);
    // The pool tier is gone from the index (the block again on the GPU when the prefill's store came in the same batch).
    expect(afterRemoval.media?.tier ?? false).toBe(false);
  });

  it('reads vLLM\'s --kv-events-config JSON and gives engine i port + i', () => {
    expect(parseKvEventsConfig('{"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://*:5557","replay_endpoint":"tcp://*:5558","topic":"kv@1@m","buffer_steps":5,"hwm":1}')).toEqual({
      kvEventsEndpoint: 'tcp://*:5557',
      kvEventsReplayEndpoint: 'tcp://*:5558',
      kvEventsTopic: 'kv@1@m',
      kvEventsBufferSteps: 5,
    });
    expect(parseKvEventsConfig('{"enable_kv_cache_events":true}')).toEqual({ kvEventsEndpoint: 'tcp://*:5557', kvEventsTopic: '' });
    expect(parseKvEventsConfig('{"enable_kv_cache_events":false,"endpoint":"tcp://*:1"}')).toEqual({});
    for (const bad of ['[', '[]', '{"enable_kv_cache_events":true,"publisher":"nats"}', '{"bogus":1}', '{"enable_kv_cache_events":true,"buffer_steps":0}']) expect(typeof parseKvEventsConfig(bad)).toBe('string');
    expect(endpointForRank('tcp://*:5557', 2)).toBe('tcp://*:5559');
    expect(endpointForRank('ipc:///tmp/ev', 1)).toBe('ipc:///tmp/ev_dp1');
    expect(endpointForRank('tcp://*:0', 3)).toBe('tcp://*:0');
  });

  it('refuses an endpoint it cannot serve', async () => {
    await expect(startMockEngine({ kvEventsEndpoint: 'inproc://x' })).rejects.toMatchObject({ code: 'BRX_ERR_MOCK_ENGINE' });
  });

  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import zmq, msgpack'], { stdio: 'ignore' }).status === 0);
  it.skipIf(python === undefined)('serves vLLM\'s documented subscriber over libzmq (skipped without python3-zmq)', async () => {
    const e = await startMockEngine({ timeScale: Infinity, kvEventsEndpoint: 'tcp://127.0.0.1:0', kvEventsReplayEndpoint: 'tcp://127.0.0.1:0', kvEventsTopic: 'kv@mock@m' });
    engines.push(e);
    const script = fileURLToPath(new URL('../common/kv-events/fixtures/libzmq_peer.py', import.meta.url));
    const child = spawn(python!, [script, 'subscriber', e.kvEvents!.endpoint, e.kvEvents!.replayEndpoint!, 'kv@mock', '2']);
    closers.push(() => Promise.resolve(void child.kill()));
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    await until(() => e.kvEvents!.stats().subscriptions === 1, 'the libzmq SUBSCRIBE');
    await complete(e, text('a', 3));
    await complete(e, text('b', 3));
    await until(() => lines.some((l) => l['replay'] === -1), 'the replay end marker');
    const live = lines.filter((l) => 'seq' in l);
    expect(live.map((l) => l['seq'])).toEqual([0, 1]);
    const first = live[0]!['batch'] as [number, unknown[][]];
    expect(first[1][0]!.slice(0, 2)).toEqual(['BlockStored', [blockHashes(text('a', 3), 64)[0]]]);
    expect(lines.filter((l) => 'replay' in l).map((l) => l['replay'])).toEqual([1, -1]);
  });
});
