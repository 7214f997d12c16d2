// The directory publisher on a shard: only hot blocks (hit after they were sealed) and the eviction of
// a hot block become deltas, routed to the chain's ring home (this agent's own store, or a PUBLISH);
// a hot block is announced again only in a later epoch (half the TTL); a full queue drops and counts.
import { describe, expect, it } from 'vitest';
import { DirectoryStore } from '../../../src/kvcache/directory/directory-store.js';
import type { DeltaState, DirectoryMetrics } from '../../../src/kvcache/directory/directory-metrics.js';
import { DirectoryPublisher, type PublishSender } from '../../../src/kvcache/directory/publisher.js';
import { DeltaKind, DeltaStatus, PUBLISH_ITEM_BYTES } from '../../../src/kvcache/peer/peer-protocol.js';
import { createRingCache } from '../../../src/kvcache/ring.js';
import { KvShard, type Namespace } from '../../../src/kvcache/shard.js';
import { keys, shardOptions } from '../shard-fixture.js';
import { staticMembership } from '../peer/peer-fixture.js';

const TTL = 60_000;
const ring = createRingCache();
const membership = staticMembership('a', [{ node: 'a', peerAddress: '127.0.0.1:1' }, { node: 'b', peerAddress: '127.0.0.1:2' }], {});

/** The first chain tag (from `from`) whose home is `node`. */
function tagHomedOn(node: string, from = 1): number {
  for (let t = from; ; t++) if (ring(membership.current()).homeOf('ns', keys(t, 1))?.node === node) return t;
}

interface Sent {
  peer: string;
  namespace: string;
  kinds: number[];
}

function rig(over: { queueMax?: number; fail?: boolean } = {}) {
  let now = 1_000_000;
  const shard = new KvShard(shardOptions({ maxEntries: 64, slabSize: 8 << 20, pageSize: 1 << 20 }));
  const ns = shard.hello('ns', 'L', 64 * 1024);
  const store = new DirectoryStore({ ttlMs: TTL, maxEntries: 1000 });
  const sent: Sent[] = [];
  const sender: PublishSender = {
    async publish(peer, namespace, items) {
      if (over.fail === true) throw new Error('unreachable');
      const kinds: number[] = [];
      for (let i = 0; i < items.length; i += PUBLISH_ITEM_BYTES) kinds.push(items[i + 20] as number);
      sent.push({ peer, namespace, kinds });
      return new Uint8Array(kinds.length).fill(DeltaStatus.APPLIED);
    },
  };
  const counts: Record<DeltaState, number> = { sent: 0, applied: 0, dropped: 0 };
  const metrics: DirectoryMetrics = { lookup: () => undefined, deltas: (s, n) => (counts[s] += n) };
  const pub = new DirectoryPublisher({ shard, membership, ring, store, sender, queueMax: over.queueMax ?? 1000, ttlMs: TTL, clock: () => now, flushMs: 0, metrics });
  return {
    shard,
    ns,
    store,
    sent,
    counts,
    pub,
    advance: (ms: number) => (now += ms),
    now: () => now,
  };
}

/** ALLOC + SEAL of a chain (a write: never published). */
function write(shard: KvShard, ns: Namespace, k: Buffer): void {
  const n = k.length / 16;
  const status = new Uint8Array(n);
  const ids = new Int32Array(n);
  shard.alloc(ns, { keys: k, lengths: new Uint32Array(n).fill(4096), flags: 0, parent: undefined }, status, ids);
  for (const id of ids) expect(shard.seal(id)).toBe(0);
}

/** An engine's LOOKUP (pins, then releases them): an access. */
function hit(shard: KvShard, ns: Namespace, k: Buffer): number {
  const pinned = new Int32Array(k.length / 16);
  const h = shard.lookup(ns, k, 'lookup', pinned);
  for (let i = 0; i < h; i++) shard.unpin(pinned[i] as number);
  return h;
}

describe('directory publisher', () => {
  it('publishes nothing for writes and EXISTS probes; the first hit makes a block hot', async () => {
    const r = rig();
    const local = keys(tagHomedOn('a'), 3);
    const remote = keys(tagHomedOn('b'), 2);
    write(r.shard, r.ns, local);
    write(r.shard, r.ns, remote);
    r.shard.lookup(r.ns, local, 'exists');
    await r.pub.flush();
    expect(r.pub.queued).toBe(0);
    expect(r.sent).toEqual([]);
    expect(r.store.size).toBe(0);

    expect(hit(r.shard, r.ns, local.subarray(0, 32))).toBe(2);
    expect(hit(r.shard, r.ns, remote)).toBe(2);
    expect(r.pub.queued).toBe(4);
    await r.pub.flush();
    // The chain homed here is applied to this agent's own store, the other one sent to b.
    expect(r.store.size).toBe(2);
    expect(r.sent).toEqual([{ peer: 'b', namespace: 'ns', kinds: [DeltaKind.HOLD, DeltaKind.HOLD] }]);
    expect(r.counts).toEqual({ sent: 4, applied: 4, dropped: 0 });
  });

  it('homes every block of a chain by its first key, also when the hit starts mid-chain (a peer MGET)', async () => {
    const r = rig();
    const home = (k: Buffer): string | undefined => ring(membership.current()).homeOf('ns', k)?.node;
    let t = 1;
    // A chain whose root homes on b while its last blocks' own keys would home on a.
    while (home(keys(t, 1)) !== 'b' || home(keys(t, 1, 2)) !== 'a' || home(keys(t, 1, 3)) !== 'a') t++;
    const chain = keys(t, 4);
    write(r.shard, r.ns, chain);
    const ids = new Int32Array(2);
    expect(r.shard.findEach(r.ns, chain.subarray(32), ids, false, true)).toBe(2);
    for (const id of ids) r.shard.unpin(id);
    await r.pub.flush();
    expect(r.sent).toEqual([{ peer: 'b', namespace: 'ns', kinds: [1, 1] }]);
    expect(r.shard.rootOf(ids[1] as number)).toBe(r.shard.index.find(r.ns.id, chain, 0));
  });

  it('announces a hot block again only in a later epoch (half the TTL), refreshing its entry', async () => {
    const r = rig();
    const k = keys(tagHomedOn('a'), 1);
    write(r.shard, r.ns, k);
    hit(r.shard, r.ns, k);
    hit(r.shard, r.ns, k);
    await r.pub.flush();
    expect(r.counts.sent).toBe(1);
    r.advance(TTL / 2);
    await r.pub.flush(); // the epoch moves on at a flush
    hit(r.shard, r.ns, k);
    await r.pub.flush();
    expect(r.counts.sent).toBe(2);
    // Refreshed: still there one TTL after the first announcement.
    expect(r.store.sweep(r.now() + TTL / 2 - 1)).toBe(0);
  });

  it('the eviction of a hot block is an EVICT delta to its home; a cold block\'s eviction is nothing', async () => {
    const r = rig();
    const t = tagHomedOn('b');
    write(r.shard, r.ns, keys(t, 1));
    hit(r.shard, r.ns, keys(t, 1));
    await r.pub.flush();
    // Fill the shard (64 entries) with cold blocks: the hot one and cold ones get evicted.
    for (let i = 0; i < 80; i++) write(r.shard, r.ns, keys(9000 + i, 1));
    await r.pub.flush();
    expect(r.sent.map((s) => s.kinds)).toEqual([[DeltaKind.HOLD], [DeltaKind.EVICT]]);
  });

  it('a full queue drops deltas and counts them; so does an unreachable home', async () => {
    const r = rig({ queueMax: 2 });
    const k = keys(tagHomedOn('b'), 5);
    write(r.shard, r.ns, k);
    hit(r.shard, r.ns, k);
    expect(r.pub.queued).toBe(2);
    expect(r.counts.dropped).toBe(3);
    await r.pub.flush();
    expect(r.counts).toEqual({ sent: 2, applied: 2, dropped: 3 });

    const f = rig({ fail: true });
    write(f.shard, f.ns, k);
    hit(f.shard, f.ns, k);
    await f.pub.flush();
    expect(f.counts).toEqual({ sent: 5, applied: 0, dropped: 5 });
  });

  it('deltas queued for a home that leaves the membership are dropped and counted', async () => {
    const shard = new KvShard(shardOptions({ maxEntries: 64 }));
    const ns = shard.hello('ns', 'L', 64 * 1024);
    const m = staticMembership('a', [{ node: 'a', peerAddress: '127.0.0.1:1' }, { node: 'b', peerAddress: '127.0.0.1:2' }], {});
    const counts: Record<DeltaState, number> = { sent: 0, applied: 0, dropped: 0 };
    const pub = new DirectoryPublisher({ shard, membership: m, ring, store: new DirectoryStore({ ttlMs: TTL, maxEntries: 10 }), queueMax: 10, ttlMs: TTL, flushMs: 0, metrics: { lookup: () => undefined, deltas: (st, n) => (counts[st] += n) } });
    const k = keys(tagHomedOn('b'), 3);
    write(shard, ns, k);
    hit(shard, ns, k);
    expect(pub.queued).toBe(3);
    m.set({ members: [{ node: 'a', peerAddress: '127.0.0.1:1' }] });
    expect(pub.queued).toBe(0);
    expect(counts.dropped).toBe(3);
    await pub.close();
  });

  it('a member joining moves chains without a stampede: nothing is re-sent until a block is hit in a later epoch, then to its new home', async () => {
    let now = 1_000_000;
    const shard = new KvShard(shardOptions({ maxEntries: 64 }));
    const ns = shard.hello('ns', 'L', 64 * 1024);
    const ab = [{ node: 'a', peerAddress: '127.0.0.1:1' }, { node: 'b', peerAddress: '127.0.0.1:2' }];
    const m = staticMembership('a', ab, {});
    const sent: string[] = [];
    const sender: PublishSender = { publish: async (peer, _ns, items) => (sent.push(peer), new Uint8Array(items.length / PUBLISH_ITEM_BYTES)) };
    const store = new DirectoryStore({ ttlMs: TTL, maxEntries: 100 });
    const pub = new DirectoryPublisher({ shard, membership: m, ring, store, sender, queueMax: 100, ttlMs: TTL, clock: () => now, flushMs: 0 });
    const abc = [...ab, { node: 'c', peerAddress: '127.0.0.1:3' }];
    const homeIn = (members: typeof ab, k: Buffer): string | undefined => ring({ version: members.length, self: 'a', members, pairKeys: new Map() }).homeOf('ns', k)?.node;
    let t = 1;
    while (homeIn(ab, keys(t, 1)) !== 'a' || homeIn(abc, keys(t, 1)) !== 'c') t++;
    const k = keys(t, 2);
    write(shard, ns, k);
    hit(shard, ns, k);
    await pub.flush();
    expect(store.size).toBe(2);
    m.set({ members: abc });
    await pub.flush();
    hit(shard, ns, k); // same epoch: already announced
    await pub.flush();
    expect(sent).toEqual([]);
    now += TTL / 2;
    await pub.flush();
    hit(shard, ns, k);
    await pub.flush();
    expect(sent).toEqual(['c']);
    await pub.close();
  });

  it('alone (no members) nothing is queued', async () => {
    const shard = new KvShard(shardOptions({ maxEntries: 64 }));
    const ns = shard.hello('ns', 'L', 64 * 1024);
    const alone = staticMembership('a', [], {});
    const store = new DirectoryStore({ ttlMs: TTL, maxEntries: 10 });
    const pub = new DirectoryPublisher({ shard, membership: alone, ring, store, queueMax: 10, ttlMs: TTL, flushMs: 0 });
    write(shard, ns, keys(1, 2));
    hit(shard, ns, keys(1, 2));
    expect(pub.queued).toBe(0);
    await pub.close();
  });
});
