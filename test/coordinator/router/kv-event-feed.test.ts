import { describe, expect, it } from 'vitest';
import type { KvEvent, ReceivedKvEventBatch } from '../../../src/common/kv-events/types.js';
import { renderKvEventMetrics } from '../../../src/coordinator/gateway/kv-event-metrics.js';
import { KvEventFeed, kvEventEndpointOf, parseKvEventEndpoints, type KvEventStream, type KvEventStreamFactory, type KvStreamStats } from '../../../src/coordinator/router/kv-event-feed.js';
import { createKvEventIndex } from '../../../src/coordinator/router/kv-event-index.js';

/** An in-process subscription the test drives. */
class FakeStream implements KvEventStream {
  s: { -readonly [K in keyof KvStreamStats]: KvStreamStats[K] } = { connected: true, restarts: 0, gaps: 0, replays: 0, replayed: 0, lost: 0, decodeErrors: 0, duplicates: 0 };
  started = false;
  closed = false;
  constructor(
    readonly endpoint: string,
    readonly onBatch: (b: ReceivedKvEventBatch) => void,
  ) {}
  start(): void {
    this.started = true;
  }
  stats(): KvStreamStats {
    return { ...this.s };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  send(seq: bigint, events: KvEvent[], ts = 0): void {
    this.onBatch({ topic: 't', seq, batch: { ts, events, dataParallelRank: null } });
  }
}

function setup() {
  const streams: FakeStream[] = [];
  const factory: KvEventStreamFactory = (o) => {
    const s = new FakeStream(o.endpoint, o.onBatch);
    streams.push(s);
    return s;
  };
  let now = 1000;
  const index = createKvEventIndex({ capacity: 100, staleMs: 5000 });
  const feed = new KvEventFeed({ index, factory, now: () => now });
  return { feed, index, streams, tick: (ms: number) => (now += ms) };
}

const store = (h: string, parent: string | null = null): KvEvent => ({
  type: 'BlockStored',
  blockHashes: [h],
  parentBlockHash: parent,
  tokenIds: [1, 2, 3, 4],
  blockSize: 4,
  loraId: null,
  medium: null,
  loraName: null,
});

describe('KvEventFeed', () => {
  it('feeds batches into the index and mirrors a dropped subscription and silence as not live', () => {
    const { feed, index, streams, tick } = setup();
    feed.add('u1', 'e1', { endpoint: 'tcp://h:5557' });
    const s = streams[0] as FakeStream;
    expect(s.started).toBe(true);
    s.send(0n, [store('a')]);
    expect(index.isLive('u1')).toBe(true);
    expect(index.engineBlocks('u1')).toBe(1);
    s.s.connected = false;
    feed.sweep();
    expect(index.isLive('u1')).toBe(false);
    s.s.connected = true;
    s.send(1n, []);
    expect(index.isLive('u1')).toBe(true);
    tick(6000);
    expect(feed.sweep()).toEqual(['u1']);
    expect(index.isLive('u1')).toBe(false);
  });

  it("drops an engine's blocks when its subscription reports a publisher restart", () => {
    const { feed, index, streams } = setup();
    feed.add('u1', 'e1', { endpoint: 'tcp://h:5557' });
    const s = streams[0] as FakeStream;
    s.send(7n, [store('a')]);
    s.s.restarts = 1;
    s.send(3n, [store('b')]);
    expect(index.keyOf('u1', 'a')).toBeUndefined();
    expect(index.keyOf('u1', 'b')).toBeDefined();
  });

  it('removing an engine closes its subscription and forgets its blocks; an unchanged add is a no-op', async () => {
    const { feed, index, streams } = setup();
    feed.add('u1', 'e1', { endpoint: 'tcp://h:5557' });
    feed.add('u1', 'e1', { endpoint: 'tcp://h:5557' });
    expect(streams).toHaveLength(1);
    (streams[0] as FakeStream).send(0n, [store('a')]);
    await feed.remove('u1');
    expect((streams[0] as FakeStream).closed).toBe(true);
    expect(index.size).toBe(0);
    expect(feed.has('u1')).toBe(false);
  });

  it('renders brixlet_router_kv_events_* with per-engine counters and skipped batches by reason', () => {
    const { feed, streams } = setup();
    feed.add('u1', 'e1', { endpoint: 'tcp://h:5557' });
    const s = streams[0] as FakeStream;
    s.s.gaps = 2;
    s.s.replays = 1;
    s.s.decodeErrors = 3;
    s.send(0n, [store('a')], 0.5);
    s.send(0n, [store('b')]);
    s.send(1n, [{ ...store('c'), tokenIds: [1] } as KvEvent]);
    const text = renderKvEventMetrics(feed);
    expect(text).toContain('brixlet_router_kv_events_batches_total{engine="e1"} 1');
    expect(text).toContain('brixlet_router_kv_events_events_total{engine="e1"} 1');
    expect(text).toContain('brixlet_router_kv_events_gaps_total{engine="e1"} 2');
    expect(text).toContain('brixlet_router_kv_events_replays_total{engine="e1"} 1');
    expect(text).toContain('brixlet_router_kv_events_skipped_batches_total{engine="e1",reason="undecodable"} 3');
    expect(text).toContain('brixlet_router_kv_events_skipped_batches_total{engine="e1",reason="malformed"} 1');
    expect(text).toContain('brixlet_router_kv_events_skipped_batches_total{engine="e1",reason="out-of-order"} 1');
    expect(text).toContain('brixlet_router_kv_events_live{engine="e1"} 1');
    expect(text).toContain('brixlet_router_kv_events_lag_seconds{engine="e1"} 0.5');
    expect(text).toContain('brixlet_router_kv_events_index_blocks 1');
    expect(text).toMatch(/brixlet_router_kv_events_index_bytes \d+/);
  });
});

describe('KV events endpoints', () => {
  it('takes an engine listed by name, else the endpoint its source declared, else its host on the default port', () => {
    const listed = parseKvEventEndpoints('127.0.0.1:8001=tcp://127.0.0.1:5601|tcp://127.0.0.1:5602,pod-b=tcp://10.0.0.9:5557');
    expect(kvEventEndpointOf({ name: '127.0.0.1:8001', url: 'http://127.0.0.1:8001' }, listed, 5557, 0)).toEqual({ endpoint: 'tcp://127.0.0.1:5601', replayEndpoint: 'tcp://127.0.0.1:5602' });
    expect(kvEventEndpointOf({ name: 'pod-b', url: 'http://10.0.0.9:8000' }, listed, 5557, 0)).toEqual({ endpoint: 'tcp://10.0.0.9:5557' });
    expect(kvEventEndpointOf({ name: 'x', url: 'http://10.0.0.7:8000' }, listed, 5557, 5558)).toEqual({ endpoint: 'tcp://10.0.0.7:5557', replayEndpoint: 'tcp://10.0.0.7:5558' });
    // Declared by the engine's source (a pod's kv-events port): used unless the list names the engine.
    const declared = { endpoint: 'tcp://10.0.0.7:7000' };
    expect(kvEventEndpointOf({ name: 'x', url: 'http://10.0.0.7:8000', kvEvents: declared }, listed, 5557, 5558)).toEqual(declared);
    expect(kvEventEndpointOf({ name: 'pod-b', url: 'http://10.0.0.9:8000', kvEvents: declared }, listed, 5557, 0)).toEqual({ endpoint: 'tcp://10.0.0.9:5557' });
  });
});
