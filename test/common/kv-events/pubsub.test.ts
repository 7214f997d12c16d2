import { afterEach, describe, expect, it } from 'vitest';
import { encodeKvEventBatch } from '../../../src/common/kv-events/codec.js';
import { KvEventPublisher } from '../../../src/common/kv-events/publisher.js';
import { KvEventSubscriber } from '../../../src/common/kv-events/subscriber.js';
import type { KvEventBatch, ReceivedKvEventBatch } from '../../../src/common/kv-events/types.js';
import { ZmtpDealerSocket, ZmtpPubSocket, ZmtpRouterSocket } from '../../../src/common/zmtp/sockets.js';

const batch = (n: number): KvEventBatch => ({
  ts: n,
  dataParallelRank: null,
  events: [{ type: 'BlockStored', blockHashes: [String(n)], parentBlockHash: null, tokenIds: [n], blockSize: 1, loraId: null, medium: 'GPU', loraName: null }],
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('KvEventPublisher and KvEventSubscriber', () => {
  it('delivers published batches with topic and seq, filtered by topic prefix', async () => {
    const pub = new KvEventPublisher({ endpoint: 'tcp://127.0.0.1:0', topic: 'kv@a@m' });
    await pub.start();
    closers.push(() => pub.close());
    const got: ReceivedKvEventBatch[] = [];
    const other: ReceivedKvEventBatch[] = [];
    const sub = new KvEventSubscriber({ endpoint: pub.endpoint, topic: 'kv@a', onBatch: (b) => got.push(b) });
    const miss = new KvEventSubscriber({ endpoint: pub.endpoint, topic: 'kv@b', onBatch: (b) => other.push(b) });
    sub.start();
    miss.start();
    closers.push(() => sub.close(), () => miss.close());
    await until(() => pub.stats().subscriptions === 2, 'subscriptions');
    for (let i = 0; i < 3; i++) pub.publish(batch(i));
    await until(() => got.length === 3, 'batches');
    expect(got.map((g) => [g.topic, g.seq])).toEqual([['kv@a@m', 0n], ['kv@a@m', 1n], ['kv@a@m', 2n]]);
    expect(got[2]!.batch).toEqual(batch(2));
    expect(other).toHaveLength(0);
    expect(sub.stats()).toMatchObject({ batches: 3, events: 3, gaps: 0, decodeErrors: 0, connected: true });
  });

  it('replays from its ring buffer over ROUTER, REQ envelope or bare, then the -1 end marker', async () => {
    const pub = new KvEventPublisher({ endpoint: 'tcp://127.0.0.1:0', replayEndpoint: 'tcp://127.0.0.1:0', bufferSteps: 3 });
    await pub.start();
    closers.push(() => pub.close());
    for (let i = 0; i < 5; i++) pub.publish(batch(i));
    const replies: Buffer[][] = [];
    const dealer = new ZmtpDealerSocket((f) => replies.push(f));
    dealer.connect(pub.replayEndpoint!);
    closers.push(() => dealer.close());
    await until(() => dealer.connected, 'dealer');
    const start = Buffer.alloc(8);
    start.writeBigUInt64BE(0n);
    dealer.send([Buffer.alloc(0), start]);
    await until(() => replies.length === 4, 'replay');
    expect(replies.map((r) => r[1]!.readBigInt64BE(0))).toEqual([2n, 3n, 4n, -1n]);
    expect(replies.every((r) => r[0]!.length === 0)).toBe(true);
    expect(replies[3]![2]!.length).toBe(0);
    start.writeBigUInt64BE(4n);
    dealer.send([start]);
    await until(() => replies.length === 6, 'bare replay');
    expect(replies[4]!.length).toBe(2);
    expect(replies.slice(4).map((r) => r[0]!.readBigInt64BE(0))).toEqual([4n, -1n]);
    dealer.send([Buffer.from('short')]);
    await until(() => pub.stats().badReplayRequests === 1, 'bad request counted');
    expect(pub.stats()).toMatchObject({ replayRequests: 2, replayedBatches: 4 });
  });

  it('detects a gap, fills it from the replay socket and delivers in order once', async () => {
    const pubSock = new ZmtpPubSocket();
    await pubSock.bind('tcp://127.0.0.1:0');
    const frame = (n: number) => {
      const s = Buffer.alloc(8);
      s.writeBigUInt64BE(BigInt(n));
      return s;
    };
    const router = new ZmtpRouterSocket((id, frames) => {
      expect(frames[0]!.length).toBe(0);
      expect(frames[1]!.readBigUInt64BE(0)).toBe(1n);
      for (const n of [1, 2]) router.send(id, [Buffer.alloc(0), frame(n), encodeKvEventBatch(batch(n))]);
      router.send(id, [Buffer.alloc(0), Buffer.alloc(8, 0xff), Buffer.alloc(0)]);
    });
    await router.bind('tcp://127.0.0.1:0');
    closers.push(() => pubSock.close(), () => router.close());
    const got: bigint[] = [];
    const sub = new KvEventSubscriber({ endpoint: pubSock.endpoint, replayEndpoint: router.endpoint, onBatch: (b) => got.push(b.seq) });
    sub.start();
    closers.push(() => sub.close());
    await until(() => pubSock.subscriptionCount === 1 && sub.stats().replayConnected, 'subscription');
    const send = (n: number) => pubSock.send([Buffer.from('t'), frame(n), encodeKvEventBatch(batch(n))]);
    send(0);
    await until(() => got.length === 1, 'first');
    send(3);
    send(3);
    send(4);
    await until(() => got.length === 5, 'replayed');
    expect(got).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(sub.stats()).toMatchObject({ gaps: 1, missed: 2, replays: 1, replayed: 2, duplicates: 1, lost: 0 });
    pubSock.send([Buffer.from('t'), Buffer.from('x'), Buffer.from([0xc1])]);
    await until(() => sub.stats().decodeErrors === 1, 'decode error');
  });

  it('counts a gap as lost without a replay endpoint', async () => {
    const pubSock = new ZmtpPubSocket();
    await pubSock.bind('tcp://127.0.0.1:0');
    closers.push(() => pubSock.close());
    const got: bigint[] = [];
    const sub = new KvEventSubscriber({ endpoint: pubSock.endpoint, onBatch: (b) => got.push(b.seq) });
    sub.start();
    closers.push(() => sub.close());
    await until(() => pubSock.subscriptionCount === 1, 'subscription');
    for (const n of [5, 9]) {
      const s = Buffer.alloc(8);
      s.writeBigUInt64BE(BigInt(n));
      pubSock.send([Buffer.from(''), s, encodeKvEventBatch(batch(n))]);
    }
    await until(() => got.length === 2, 'batches');
    expect(sub.stats()).toMatchObject({ gaps: 1, missed: 3, lost: 3, replays: 0 });
  });

  it('delivers held batches and counts the rest lost when the replay socket does not answer in time', async () => {
    const pubSock = new ZmtpPubSocket();
    await pubSock.bind('tcp://127.0.0.1:0');
    const router = new ZmtpRouterSocket(() => undefined);
    await router.bind('tcp://127.0.0.1:0');
    closers.push(() => pubSock.close(), () => router.close());
    const got: bigint[] = [];
    const sub = new KvEventSubscriber({ endpoint: pubSock.endpoint, replayEndpoint: router.endpoint, replayTimeoutMs: 50, onBatch: (b) => got.push(b.seq) });
    sub.start();
    closers.push(() => sub.close());
    await until(() => pubSock.subscriptionCount === 1 && sub.stats().replayConnected, 'subscription');
    for (const n of [0, 4, 5]) {
      const s = Buffer.alloc(8);
      s.writeBigUInt64BE(BigInt(n));
      pubSock.send([Buffer.from(''), s, encodeKvEventBatch(batch(n))]);
    }
    await until(() => got.length === 3, 'held batches after the timeout');
    expect(got).toEqual([0n, 4n, 5n]);
    expect(sub.stats()).toMatchObject({ gaps: 1, missed: 3, replays: 1, replayed: 0, lost: 3 });
  });

  it('follows a restarted publisher whose sequence starts again from 0', async () => {
    const pub = new KvEventPublisher({ endpoint: 'tcp://127.0.0.1:0' });
    await pub.start();
    const endpoint = pub.endpoint;
    const got: bigint[] = [];
    const sub = new KvEventSubscriber({ endpoint, onBatch: (b) => got.push(b.seq), socket: { reconnectMinMs: 10, reconnectMaxMs: 50 } });
    sub.start();
    closers.push(() => sub.close());
    await until(() => pub.stats().subscriptions === 1, 'subscription');
    for (let i = 0; i < 3; i++) pub.publish(batch(i));
    await until(() => got.length === 3, 'first run');
    await pub.close();
    const again = new KvEventPublisher({ endpoint });
    await again.start();
    closers.push(() => again.close());
    await until(() => again.stats().subscriptions === 1, 'resubscription');
    again.publish(batch(0));
    again.publish(batch(1));
    await until(() => got.length === 5, 'second run');
    expect(got).toEqual([0n, 1n, 2n, 0n, 1n]);
    expect(sub.stats()).toMatchObject({ restarts: 1, duplicates: 0, gaps: 0 });
  });
});
