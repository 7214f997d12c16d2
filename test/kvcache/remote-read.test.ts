// The one-call remote read: an engine on node "b" sends one LOOKUP_REMOTE; b's shard fetches what it
// lacks from node "a" (a real peer server over a real shard) named by an in-memory directory, seals it
// locally and answers with leases for the whole prefix. Faulty peers ("c") are scripted.
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KvConnection } from '../../src/kvcache/client/connection.js';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { type DirectoryAnswer, type DirectoryLookup, NO_HOLDER } from '../../src/kvcache/directory-types.js';
import { PeerClient } from '../../src/kvcache/peer/peer-client.js';
import { HelloFeature, Op, decodeHelloReply, encodeHello, encodeLookupRemote } from '../../src/kvcache/protocol.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { KiB, type PeerRig, blockBytes, putChain, silent, startPeerRig } from './peer/peer-fixture.js';
import { type MgetHandler, mgetReplyHead, startScriptedPeer } from './peer/scripted-peer.js';
import { MiB, keys, shardOptions } from './shard-fixture.js';

const BLOCK = 256 * KiB;
const LEN = 200 * KiB;

let rig: PeerRig;
let root: string;
let b: KvService;
let registry: Registry;
let transport: PeerClient;
let stalled: Server | undefined;
const asked: Buffer[] = [];

/** Names `holderOf(i)` for each key of the asked chain (index into `holders`). */
function directory(holders: string[], holderOf: (i: number) => number): DirectoryLookup {
  return {
    async lookup(_ns: string, k: Buffer): Promise<DirectoryAnswer> {
      asked.push(Buffer.from(k));
      const n = k.length / 16;
      return { holders, holderOf: Uint16Array.from({ length: n }, (_, i) => holderOf(i)) };
    },
  };
}

beforeEach(async () => {
  asked.length = 0;
  rig = await startPeerRig();
  root = mkdtempSync('/dev/shm/brixlet-remote-');
  registry = new Registry();
  b = await startKvService(shardOptions({ dir: join(root, 'b'), socketPath: join(root, 'b.sock'), slabSize: 16 * MiB }), { log: silent, registry });
  transport = new PeerClient({ self: 'b', pool: 'default', membership: rig.bMembership });
});

afterEach(async () => {
  await transport.close();
  await b.close();
  await rig.close();
  await new Promise<void>((r) => (stalled ? stalled.close(() => r()) : r()));
  stalled = undefined;
  rmSync(root, { recursive: true, force: true });
});

function enable(dir: DirectoryLookup, over: { minBlocks?: number } = {}): void {
  b.enableRemoteRead?.({ transport, directory: dir, self: 'b', options: { maxBudgetMs: 60_000, ...over } });
}

async function metric(name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  // A histogram's value here is its observation count.
  return (m?.values ?? []).reduce((s, v) => {
    const sample = (v as { metricName?: string }).metricName;
    return s + (sample === undefined || sample === name || sample === `${name}_count` ? v.value : 0);
  }, 0);
}

describe('LOOKUP_REMOTE', () => {
  it('fetches the chain past the local hit from its holder in one call: leases for the whole prefix, bytes intact, blocks now local', async () => {
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 8, LEN, BLOCK);
    await putChainPart(b, k, 2);
    enable(directory(['a'], () => 0));
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    expect(engine.remoteRead).toBe(true);
    // Pipelined: the EXISTS sent behind it is answered after it, so it sees the fetched blocks.
    const [r, seen] = await Promise.all([engine.lookup(k, { remoteBudgetMs: 30_000 }), engine.exists(k)]);
    expect(r).toMatchObject({ hits: 8, remoteHits: 6 });
    expect(seen).toBe(8);
    await engine.release(r.leases.map((l) => l.leaseId));
    expect(asked).toHaveLength(1);
    expect(asked[0]?.equals(k)).toBe(true); // the whole chain: its home is found by the root key
    const blocks = await engine.get(k);
    expect(blocks.map((x, i) => x.equals(blockBytes(1, i, LEN)))).toEqual(Array(8).fill(true));
    // A second call is a pure local hit: no directory question, nothing fetched.
    const again = await engine.lookup(k, { remoteBudgetMs: 30_000 });
    expect(again).toMatchObject({ hits: 8, remoteHits: 0 });
    expect(asked).toHaveLength(1);
    await engine.release(again.leases.map((l) => l.leaseId));
    await engine.close();
    expect(b.summary().leases).toEqual({ read: 0, write: 0 });
    expect(await metric('brixlet_kvcache_remote_hit_blocks_total')).toBe(6);
    expect(await metric('brixlet_kvcache_remote_hit_bytes_total')).toBe(6 * LEN);
    expect(await metric('brixlet_kvcache_remote_fetch_duration_seconds')).toBe(1);
    // /v1/kvcache and STATS: remote hits on the reading agent, blocks served on the holder.
    const none = { reads: 0, hitBlocks: 0, hitBytes: 0, budgetExpired: 0, servedBlocks: 0, servedBytes: 0 };
    expect(b.summary().remote).toEqual({ ...none, reads: 1, hitBlocks: 6, hitBytes: 6 * LEN });
    expect((rig.services.get('default') as KvService).summary().remote).toEqual({ ...none, servedBlocks: 6, servedBytes: 6 * LEN });
  });

  it('stops the prefix at the first block the holder no longer has (MISSING) and frees the slots after it', async () => {
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 5, LEN, BLOCK);
    const all = Buffer.concat([k, keys(1, 3, 5)]);
    enable(directory(['a'], () => 0)); // stale: names a for blocks it never had
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    const r = await engine.lookup(all, { remoteBudgetMs: 30_000 });
    expect(r).toMatchObject({ hits: 5, remoteHits: 5 });
    await engine.release(r.leases.map((l) => l.leaseId));
    expect(b.summary()).toMatchObject({ entries: 5, leases: { read: 0, write: 0 }, bytesByState: { writing: 0 } });
    await engine.close();
  });

  it('a chain stops at the first block nobody holds', async () => {
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 8, LEN, BLOCK);
    enable(directory(['a'], (i) => (i === 4 ? NO_HOLDER : 0)));
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    expect(await engine.lookup(k, { remoteBudgetMs: 30_000 })).toMatchObject({ hits: 4, remoteHits: 4 });
    await engine.close();
  });

  it('a peer killed mid-transfer: the call answers with what arrived, every reserved slot is freed', async () => {
    const port = await scriptedPeer('c', (s, id, n) => {
      s.write(mgetReplyHead(id, n, LEN));
      s.write(Buffer.alloc(LEN + 1000, 7));
      setImmediate(() => s.destroy());
    });
    addPeer('c', port);
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 4, LEN, BLOCK);
    const all = Buffer.concat([k, keys(1, 4, 4)]);
    // a holds blocks 0–3, c (which dies) 4–7.
    enable(directory(['a', 'c'], (i) => (i < 4 ? 0 : 1)));
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    const r = await engine.lookup(all, { remoteBudgetMs: 30_000 });
    expect(r).toMatchObject({ hits: 4, remoteHits: 4 });
    expect((await engine.get(all)).map((x, i) => x.equals(blockBytes(1, i, LEN)))).toEqual(Array(4).fill(true));
    await engine.release(r.leases.map((l) => l.leaseId));
    expect(b.summary()).toMatchObject({ entries: 4, leases: { read: 0, write: 0 }, bytesByState: { writing: 0 } });
    expect(await metric('brixlet_kvcache_remote_budget_expired_total')).toBe(0);
    await engine.close();
  });

  it('a peer that stalls: the budget expires, the call answers with what arrived, the expiry is counted and the slots freed', async () => {
    const port = await scriptedPeer('c', (s, id, n) => {
      s.write(mgetReplyHead(id, n, LEN));
      s.write(Buffer.alloc(1000, 7)); // and nothing more
    });
    addPeer('c', port);
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 6, LEN, BLOCK);
    const all = Buffer.concat([k, keys(1, 4, 6)]);
    await putChainPart(b, all, 1);
    enable(directory(['a', 'c'], (i) => (i < 6 ? 0 : 1)));
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    // Another engine is served while the fetch waits on the stalled peer.
    const other = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    const pending = engine.lookup(all, { remoteBudgetMs: 400 });
    expect(await other.exists(all)).toBeGreaterThanOrEqual(1);
    const r = await pending;
    expect(r).toMatchObject({ hits: 6, remoteHits: 5 });
    await engine.release(r.leases.map((l) => l.leaseId));
    expect(b.summary()).toMatchObject({ entries: 6, leases: { read: 0, write: 0 }, bytesByState: { writing: 0 } });
    expect(await metric('brixlet_kvcache_remote_budget_expired_total')).toBe(1);
    expect(b.summary().remote).toMatchObject({ reads: 1, hitBlocks: 5, budgetExpired: 1 });
    await other.close();
    await engine.close();
  });

  it('reserves at most --kv.max-writing-bytes of slots per call: the prefix stops there', async () => {
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 8, LEN, BLOCK);
    const small = await startKvService(shardOptions({ dir: join(root, 'small'), socketPath: join(root, 'small.sock'), slabSize: 16 * MiB, maxWritingBytes: 5 * BLOCK }), { log: silent });
    try {
      small.enableRemoteRead?.({ transport, directory: directory(['a'], () => 0), self: 'b', options: { maxBudgetMs: 60_000, minBlocks: 1 } });
      const engine = await KvClient.connect({ socketPath: small.socketPath, namespace: 'ns', blockSize: BLOCK });
      const r = await engine.lookup(k, { remoteBudgetMs: 30_000 });
      expect(r).toMatchObject({ hits: 5, remoteHits: 5 });
      await engine.release(r.leases.map((l) => l.leaseId));
      // The next call fetches the rest (any gap is worth it here: --kv.remote-min-blocks 1).
      expect(await engine.lookup(k, { remoteBudgetMs: 30_000 })).toMatchObject({ hits: 8, remoteHits: 3 });
      await engine.close();
    } finally {
      await small.close();
    }
  });

  it('below the threshold (fewer than --kv.remote-min-blocks missing) the directory is not asked', async () => {
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 8, LEN, BLOCK);
    await putChainPart(b, k, 5);
    enable(directory(['a'], () => 0));
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    expect(await engine.lookup(k, { remoteBudgetMs: 30_000 })).toMatchObject({ hits: 5, remoteHits: 0 });
    expect(asked).toHaveLength(0);
    await engine.close();
  });

  it('FETCH_ALL fetches a gap below the thresholds (one block), which a plain LOOKUP_REMOTE leaves a miss', async () => {
    const k = await putChain(rig.services.get('default') as KvService, 'ns', 1, 3, LEN, BLOCK);
    await putChainPart(b, k, 2);
    enable(directory(['a'], () => 0));
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    const plain = await engine.lookup(k, { remoteBudgetMs: 30_000 });
    expect(plain).toMatchObject({ hits: 2, remoteHits: 0 });
    expect(asked).toHaveLength(0);
    await engine.release(plain.leases.map((l) => l.leaseId));
    const all = await engine.lookup(k, { remoteBudgetMs: 30_000, fetchAll: true });
    expect(all).toMatchObject({ hits: 3, remoteHits: 1 });
    expect(asked).toHaveLength(1);
    await engine.release(all.leases.map((l) => l.leaseId));
    expect((await engine.get(k)).map((x, i) => x.equals(blockBytes(1, i, LEN)))).toEqual([true, true, true]);
    await engine.close();
    expect(await metric('brixlet_kvcache_remote_hit_blocks_total')).toBe(1);
  });

  it('an unknown flag bit is BAD_FRAME (the connection closes); HELLO announces the flags', async () => {
    enable(directory(['a'], () => 0));
    const conn = await KvConnection.open({ socketPath: b.socketPath });
    const hello = decodeHelloReply(await conn.request(Op.HELLO, encodeHello({ namespace: 'ns', layout: '', blockSize: BLOCK })));
    expect(hello.features).toBe(HelloFeature.REMOTE_READ | HelloFeature.REMOTE_FETCH_ALL);
    const body = encodeLookupRemote(keys(1, 2), 50);
    body.writeUInt16LE(2, 6);
    await expect(conn.request(Op.LOOKUP_REMOTE, body)).rejects.toMatchObject({ code: 'BRX_ERR_KV_PROTOCOL', params: { status: 'BAD_FRAME', message: 'unknown LOOKUP_REMOTE flags 0x2' } });
    await expect(conn.request(Op.PING)).rejects.toBeDefined();
    await conn.close();
    expect(asked).toHaveLength(0);
  });

  it('is refused (SHUTTING_DOWN) while the shard drains, like LOOKUP', async () => {
    enable(directory(['a'], () => 0));
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    const drained = b.drain(30_000);
    await expect(engine.lookup(keys(1, 8), { remoteBudgetMs: 30_000 })).rejects.toMatchObject({ code: 'BRX_ERR_KV_PROTOCOL', params: { status: 'SHUTTING_DOWN' } });
    expect(asked).toHaveLength(0);
    await drained;
  });

  it('without a remote path LOOKUP_REMOTE answers as LOOKUP', async () => {
    const k = keys(1, 8);
    await putChainPart(b, k, 3);
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
    const r = await engine.lookup(k, { remoteBudgetMs: 10 });
    expect(r).toMatchObject({ hits: 3, remoteHits: 0 });
    await engine.release(r.leases.map((l) => l.leaseId));
    await engine.close();
  });
});

/** Puts the first `n` blocks of chain 1 (keys `k`) into b through its socket. */
async function putChainPart(s: KvService, k: Buffer, n: number): Promise<void> {
  const c = await KvClient.connect({ socketPath: s.socketPath, namespace: 'ns', blockSize: BLOCK });
  await c.put(k.subarray(0, n * 16), Array.from({ length: n }, (_, i) => blockBytes(1, i, LEN)));
  await c.close();
}

function addPeer(node: string, port: number): void {
  const m = rig.bMembership.current();
  rig.bMembership.set({ members: [...m.members, { node, peerAddress: `127.0.0.1:${port}` }], pairKeys: new Map([...m.pairKeys, [node, rig.key]]) });
}

/** A peer `node` that handshakes with the rig's pair key, then answers each MGET with `onMget`. */
async function scriptedPeer(node: string, onMget: MgetHandler): Promise<number> {
  const peer = await startScriptedPeer(node, rig.key, onMget);
  stalled = peer.server;
  return peer.port;
}
