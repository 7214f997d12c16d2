// Two agents in one process (shards, peer servers, peer clients, a 2-member membership with one pair
// key): a block made hot on agent a is found through b's PoolDirectory whichever agent is the chain's
// home; the asker is never its own answer; pools stay isolated; a holder that leaves is forgotten;
// the directory metrics count lookups and deltas.
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_HOLDER } from '../../../src/kvcache/directory-types.js';
import { createDirectoryMetrics } from '../../../src/kvcache/directory/directory-metrics.js';
import { DirectoryStore } from '../../../src/kvcache/directory/directory-store.js';
import { PoolDirectory } from '../../../src/kvcache/directory/pool-directory.js';
import { DirectoryPublisher } from '../../../src/kvcache/directory/publisher.js';
import type { Membership, MembershipSource } from '../../../src/kvcache/membership.js';
import { PeerClient } from '../../../src/kvcache/peer/peer-client.js';
import { PeerServer } from '../../../src/kvcache/peer/peer-server.js';
import { createRingCache } from '../../../src/kvcache/ring.js';
import { KvShard, type Namespace } from '../../../src/kvcache/shard.js';
import { keys, shardOptions } from '../shard-fixture.js';
import { silent, staticMembership } from '../peer/peer-fixture.js';

const TTL = 60_000;
const ring = createRingCache();
let now = 5_000_000;
const clock = (): number => now;

interface Agent {
  readonly name: string;
  readonly shard: KvShard;
  readonly ns: Namespace;
  readonly store: DirectoryStore;
  readonly otherStore: DirectoryStore;
  readonly membership: MembershipSource & { set(m: Partial<Membership>): void };
  server: PeerServer;
  client: PeerClient;
  otherClient: PeerClient;
  publisher: DirectoryPublisher;
  directory: PoolDirectory;
  otherDirectory: PoolDirectory;
  registry: Registry;
}

const agents = new Map<string, Agent>();
const key = randomBytes(32);

function agent(name: string): Agent {
  return agents.get(name) as Agent;
}

beforeAll(async () => {
  for (const name of ['a', 'b']) {
    const shard = new KvShard(shardOptions({ maxEntries: 256 }));
    const ns = shard.hello('ns', 'L', 64 * 1024);
    const store = new DirectoryStore({ ttlMs: TTL, maxEntries: 1000 });
    const otherStore = new DirectoryStore({ ttlMs: TTL, maxEntries: 1000 });
    const membership = staticMembership(name, [], { [name === 'a' ? 'b' : 'a']: key });
    const pools = new Map([
      ['default', { shard, slab: () => new Uint8Array(0), directory: store }],
      ['other', { shard: new KvShard(shardOptions()), slab: () => new Uint8Array(0), directory: otherStore }],
    ]);
    const server = new PeerServer({ host: '127.0.0.1', port: 0, membership, pools, clock }, silent);
    await server.listen();
    agents.set(name, { name, shard, ns, store, otherStore, membership, server } as Agent);
  }
  const members = [...agents.values()].map((x) => ({ node: x.name, peerAddress: `127.0.0.1:${x.server.address().port}` }));
  for (const x of agents.values()) {
    x.membership.set({ members });
    x.registry = new Registry();
    const metrics = createDirectoryMetrics(x.registry, 'default', () => x.store.size);
    x.client = new PeerClient({ self: x.name, pool: 'default', membership: x.membership, deadlineMs: 20_000 });
    x.otherClient = new PeerClient({ self: x.name, pool: 'other', membership: x.membership, deadlineMs: 20_000 });
    x.publisher = new DirectoryPublisher({ shard: x.shard, membership: x.membership, ring, store: x.store, sender: x.client, queueMax: 1000, ttlMs: TTL, clock, flushMs: 0, metrics });
    x.directory = new PoolDirectory({ membership: x.membership, ring, store: x.store, sender: x.client, clock, sweepMs: 0, metrics });
    x.otherDirectory = new PoolDirectory({ membership: x.membership, ring, store: x.otherStore, sender: x.otherClient, clock, sweepMs: 0 });
  }
});

afterAll(async () => {
  for (const x of agents.values()) {
    x.directory.close();
    x.otherDirectory.close();
    await x.publisher.close();
    await x.client.close();
    await x.otherClient.close();
    await x.server.close();
  }
});

/** The first chain tag from `from` whose home is `node`. */
function tagHomedOn(node: string, from: number): number {
  for (let t = from; ; t++) if (ring(agent('a').membership.current()).homeOf('ns', keys(t, 1))?.node === node) return t;
}

/** Writes a chain on agent x and hits it once (an engine's LOOKUP): its blocks turn hot. */
function makeHot(x: Agent, k: Buffer): void {
  const n = k.length / 16;
  const status = new Uint8Array(n);
  const ids = new Int32Array(n);
  x.shard.alloc(x.ns, { keys: k, lengths: new Uint32Array(n).fill(4096), flags: 0, parent: undefined }, status, ids);
  for (const id of ids) x.shard.seal(id);
  const pinned = new Int32Array(n);
  const hits = x.shard.lookup(x.ns, k, 'lookup', pinned);
  for (let i = 0; i < hits; i++) x.shard.unpin(pinned[i] as number);
}

function holderNames(a: { holders: readonly string[]; holderOf: Uint16Array }): (string | undefined)[] {
  return [...a.holderOf].map((i) => (i === NO_HOLDER ? undefined : a.holders[i]));
}

describe('pool directory on its own', () => {
  it('a home that does not answer rejects the lookup (counted as an error); alone, no key has a holder', async () => {
    const registry = new Registry();
    const store = new DirectoryStore({ ttlMs: TTL, maxEntries: 10 });
    const metrics = createDirectoryMetrics(registry, 'p1', () => store.size);
    const m = staticMembership('a', [{ node: 'a', peerAddress: '127.0.0.1:1' }, { node: 'b', peerAddress: '127.0.0.1:2' }], {});
    const d = new PoolDirectory({ membership: m, ring, store, sender: { directoryLookup: () => Promise.reject(new Error('deadline')) }, sweepMs: 0, metrics });
    let t = 1;
    while (ring(m.current()).homeOf('ns', keys(t, 1))?.node !== 'b') t++;
    await expect(d.lookup('ns', keys(t, 2), 50)).rejects.toThrow('deadline');
    expect(await registry.metrics()).toMatch(/brixlet_kvcache_directory_lookups_total\{pool="p1",result="error"\} 1/);
    d.close();
    const alone = new PoolDirectory({ membership: staticMembership('a', [], {}), ring, store, sweepMs: 0 });
    expect(holderNames(await alone.lookup('ns', keys(t, 2), 50))).toEqual([undefined, undefined]);
    alone.close();
  });
});

describe('pool directory across two agents', () => {
  it.each(['a', 'b'])('a block made hot on a is found from b when the chain is homed on %s', async (home) => {
    const chain = keys(tagHomedOn(home, home === 'a' ? 100 : 200), 3);
    makeHot(agent('a'), chain.subarray(0, 32));
    await agent('a').publisher.flush();
    expect(agent(home).store.size).toBeGreaterThanOrEqual(2);
    expect(holderNames(await agent('b').directory.lookup('ns', chain, 10_000))).toEqual(['a', 'a', undefined]);
    // a asks too: it is never its own holder.
    expect(holderNames(await agent('a').directory.lookup('ns', chain, 10_000))).toEqual([undefined, undefined, undefined]);
  });

  it('pools stay isolated: another pool\'s directory knows nothing of the default pool\'s blocks', async () => {
    const chain = keys(tagHomedOn('a', 300), 2);
    makeHot(agent('a'), chain);
    await agent('a').publisher.flush();
    expect(holderNames(await agent('b').directory.lookup('ns', chain, 10_000))).toEqual(['a', 'a']);
    expect(holderNames(await agent('b').otherDirectory.lookup('ns', chain, 10_000))).toEqual([undefined, undefined]);
    expect(agent('a').otherStore.size).toBe(0);
    // A PUBLISH through the other pool lands in that pool's store only.
    const before = agent('a').store.size;
    const items = Buffer.alloc(24);
    keys(77, 1).copy(items, 0);
    items[20] = 1;
    expect([...(await agent('b').otherClient.publish('a', 'ns', items))]).toEqual([0]);
    expect(agent('a').otherStore.size).toBe(1);
    expect(agent('a').store.size).toBe(before);
  });

  it('entries expire by TTL; an evicted hot block leaves the directory', async () => {
    const chain = keys(tagHomedOn('b', 400), 1);
    makeHot(agent('a'), chain);
    await agent('a').publisher.flush();
    expect(holderNames(await agent('b').directory.lookup('ns', chain, 10_000))).toEqual(['a']);
    now += TTL;
    expect(holderNames(await agent('b').directory.lookup('ns', chain, 10_000))).toEqual([undefined]);
    expect(agent('b').directory.sweep()).toBeGreaterThan(0);
    // Hot again (a later epoch), then evicted: HOLD then EVICT reach the home.
    await agent('a').publisher.flush();
    const pinned = new Int32Array(1);
    expect(agent('a').shard.lookup(agent('a').ns, chain, 'lookup', pinned)).toBe(1);
    agent('a').shard.unpin(pinned[0] as number);
    await agent('a').publisher.flush();
    expect(holderNames(await agent('b').directory.lookup('ns', chain, 10_000))).toEqual(['a']);
    for (let i = 0; i < 300; i++) makeHot(agent('a'), keys(9000 + i, 1)); // fills the 256-entry shard
    await agent('a').publisher.flush();
    expect(holderNames(await agent('b').directory.lookup('ns', chain, 10_000))).toEqual([undefined]);
  });

  it('counts lookups and deltas in the directory metrics', async () => {
    const text = await agent('b').registry.metrics();
    expect(text).toMatch(/brixlet_kvcache_directory_lookups_total\{result="hit"\} [1-9]/);
    expect(text).toMatch(/brixlet_kvcache_directory_lookups_total\{result="miss"\} [1-9]/);
    expect(text).toMatch(/brixlet_kvcache_directory_entries [1-9]/);
    const a = await agent('a').registry.metrics();
    expect(a).toMatch(/brixlet_kvcache_publish_deltas_total\{state="sent"\} [1-9]/);
    expect(a).toMatch(/brixlet_kvcache_publish_deltas_total\{state="applied"\} [1-9]/);
  });

  it('a holder that leaves the membership is forgotten by its homes', async () => {
    const chain = keys(tagHomedOn('b', 500), 1);
    makeHot(agent('a'), chain);
    await agent('a').publisher.flush();
    expect(holderNames(agent('b').store.lookup('ns', chain, now))).toEqual(['a']);
    agent('b').membership.set({ members: agent('b').membership.current().members.filter((m) => m.node === 'b') });
    expect(holderNames(agent('b').store.lookup('ns', chain, now))).toEqual([undefined]);
  });
});
