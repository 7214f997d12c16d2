// The peer listener and client against real shards: the mutual handshake (and what it refuses),
// MEXISTS/MGET of sealed blocks into destination views, pool isolation, the per-peer connection cap,
// and pins released when a reader goes away mid-MGET.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handshakeProof } from '../../../src/kvcache/peer/handshake.js';
import { PeerClient, PeerError } from '../../../src/kvcache/peer/peer-client.js';
import { PeerServer } from '../../../src/kvcache/peer/peer-server.js';
import { PEER_REPLY_BIT, PeerItem, PeerOp, PeerStatus, decodePeerChallenge, encodeMget, encodePeerHello, peerFrame } from '../../../src/kvcache/peer/peer-protocol.js';
import { keys } from '../shard-fixture.js';
import { KiB, type PeerRig, blockBytes, putChain, silent, staticMembership, startPeerRig } from './peer-fixture.js';
import { PeerWire } from './peer-wire.js';

let rig: PeerRig;
let chain: Buffer;
const LEN = 200 * KiB;

beforeAll(async () => {
  rig = await startPeerRig({ maxConnectionsPerPeer: 3 });
  chain = await putChain(rig.services.get('default')!, 'ns', 1, 6, LEN);
  await putChain(rig.services.get('other')!, 'secret', 2, 2, LEN);
});

afterAll(async () => {
  await rig.close();
});

function client(over: Partial<ConstructorParameters<typeof PeerClient>[0]> = {}): PeerClient {
  return new PeerClient({ self: 'b', pool: 'default', membership: rig.bMembership, deadlineMs: 20_000, ...over });
}

async function goodPing(): Promise<void> {
  const c = client();
  try {
    await c.ping('a');
  } finally {
    await c.close();
  }
}

/** A refused connection: exactly one error frame with `status`, then the close. */
async function refusedWith(w: PeerWire, status: number): Promise<void> {
  const r = await w.next();
  expect(r?.header.status).toBe(status);
  expect((r?.header.op ?? 0) & PEER_REPLY_BIT).toBe(PEER_REPLY_BIT);
  expect(await w.next()).toBeUndefined();
  await w.ended;
}

describe('peer handshake', () => {
  it('authenticates both ends with the pair key, then serves PING', async () => {
    await goodPing();
  });

  it('refuses a wrong key with one AUTH_FAILED frame and closes; others are served', async () => {
    const w = await PeerWire.open(rig.port);
    const { reply } = await w.handshake({ self: 'b', server: 'a', pool: 'default', key: randomBytes(32) });
    expect(reply?.header.status).toBe(PeerStatus.AUTH_FAILED);
    expect(await w.next()).toBeUndefined();
    await goodPing();
  });

  it('the client refuses a server that does not hold the key', async () => {
    const c = client({ membership: staticMembership('b', rig.bMembership.current().members.slice(), { a: randomBytes(32) }) });
    // The server also fails our proof; whichever side notices first, the call fails as AUTH.
    await expect(c.ping('a')).rejects.toBeInstanceOf(PeerError);
    await c.close();
  });

  it('refuses an unknown node at HELLO', async () => {
    const w = await PeerWire.open(rig.port);
    w.send(peerFrame(PeerOp.HELLO, 1, encodePeerHello({ node: 'zz', pool: 'default', nonce: randomBytes(32) })));
    await refusedWith(w, PeerStatus.AUTH_FAILED);
    await goodPing();
  });

  it('a recorded proof is useless on a new connection (fresh server nonce)', async () => {
    const nonceC = randomBytes(32);
    const first = await PeerWire.open(rig.port);
    const { proof, reply } = await first.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key, nonceC });
    expect(reply?.header.status).toBe(0);
    first.close();
    const replay = await PeerWire.open(rig.port);
    const again = await replay.handshake({ self: 'b', server: 'a', pool: 'default', key: Buffer.alloc(32), nonceC, proof });
    expect(again.reply?.header.status).toBe(PeerStatus.AUTH_FAILED);
    expect(await replay.next()).toBeUndefined();
  });

  it('the server proves itself: its proof checks against the pair key', async () => {
    const w = await PeerWire.open(rig.port);
    const nonceC = randomBytes(32);
    const r = await w.call(PeerOp.HELLO, encodePeerHello({ node: 'b', pool: 'default', nonce: nonceC }));
    const ch = decodePeerChallenge(r!.body);
    expect(ch.node).toBe('a');
    expect(ch.proof.equals(handshakeProof(rig.key, 'server', { client: 'b', server: 'a', pool: 'default', nonceC, nonceS: ch.nonce }))).toBe(true);
    w.close();
  });

  it('garbage before the handshake gets BAD_FRAME and a close; an op before it NO_AUTH', async () => {
    const g = await PeerWire.open(rig.port);
    g.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await refusedWith(g, PeerStatus.BAD_FRAME);
    const early = await PeerWire.open(rig.port);
    early.send(peerFrame(PeerOp.MGET, 5, encodeMget('ns', keys(1, 1), [LEN]), { count: 1 }));
    await refusedWith(early, PeerStatus.NO_AUTH);
    await goodPing();
  });

  it('closes a connection that has not finished the handshake in time, counted from accept; not a ready one', async () => {
    const slow = await PeerWire.open(rig.port);
    slow.send(Buffer.from([1, 2, 3])); // part of a header, then nothing more
    const ready = await PeerWire.open(rig.port);
    expect((await ready.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key })).reply?.header.status).toBe(0);
    await vi.waitFor(() => expect(rig.server.connections.handshake).toBeGreaterThan(0), { timeout: 10_000 });
    rig.server.sweep(Date.now() + 6_000);
    await slow.ended;
    expect(ready.closed).toBe(false);
    expect((await ready.call(PeerOp.PING))?.header.status).toBe(0);
    ready.close();
  });

  it('ends a peer\'s connections when the membership drops or replaces its pair key', async () => {
    const w = await PeerWire.open(rig.port);
    expect((await w.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key })).reply?.header.status).toBe(0);
    rig.aMembership.set({ pairKeys: new Map([['b', rig.key]]) }); // same key: kept
    expect((await w.call(PeerOp.PING))?.header.status).toBe(0);
    rig.aMembership.set({ pairKeys: new Map([['b', randomBytes(32)]]) });
    await w.ended;
    rig.aMembership.set({ pairKeys: new Map([['b', rig.key]]) });
    await goodPing();
  });

  it('the client drops its connections to a peer whose pair key changed, and reconnects with the new one', async () => {
    const m = staticMembership('b', rig.bMembership.current().members.slice(), { a: rig.key });
    const c = client({ membership: m });
    await c.ping('a');
    expect(c.connectionCount('a')).toBe(1);
    m.set({ pairKeys: new Map([['a', randomBytes(32)]]) });
    await vi.waitFor(() => expect(c.connectionCount('a')).toBe(0), { timeout: 10_000 });
    m.set({ pairKeys: new Map([['a', rig.key]]) });
    await c.ping('a');
    await c.close();
  });

  it('caps connections in total: one more gets an unsolicited TOO_MANY_CONNECTIONS and is closed', async () => {
    const pools = new Map([['default', rig.services.get('default')!.blocks!]]);
    const small = new PeerServer({ host: '127.0.0.1', port: 0, membership: rig.aMembership, pools, maxConnections: 1 }, silent);
    await small.listen();
    try {
      const held = await PeerWire.open(small.address().port);
      await vi.waitFor(() => expect(small.connections.handshake).toBe(1), { timeout: 10_000 });
      const extra = await PeerWire.open(small.address().port);
      const r = await extra.next();
      expect(r?.header.status).toBe(PeerStatus.TOO_MANY_CONNECTIONS);
      expect(r?.header.requestId).toBe(0);
      expect(await extra.next()).toBeUndefined();
      held.close();
    } finally {
      await small.close();
    }
  });

  it('caps authenticated connections per peer node', async () => {
    const wires: PeerWire[] = [];
    for (let i = 0; i < 3; i++) {
      const w = await PeerWire.open(rig.port);
      expect((await w.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key })).reply?.header.status).toBe(0);
      wires.push(w);
    }
    const extra = await PeerWire.open(rig.port);
    const { reply } = await extra.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key });
    expect(reply?.header.status).toBe(PeerStatus.TOO_MANY_CONNECTIONS);
    expect(await extra.next()).toBeUndefined();
    for (const w of wires) w.close();
    await Promise.all(wires.map((w) => w.ended));
    await vi.waitFor(() => expect(rig.server.connections.ready).toBe(0), { timeout: 10_000 });
    await goodPing();
  });
});

describe('malformed frames from an authenticated peer', () => {
  it('close that connection only (one error frame, then the close); the peer\'s other connection and new ones are served', async () => {
    const ready = async (): Promise<PeerWire> => {
      const w = await PeerWire.open(rig.port);
      expect((await w.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key })).reply?.header.status).toBe(0);
      return w;
    };
    const keep = await ready();
    const badVersion = peerFrame(PeerOp.PING, 7, undefined);
    badVersion[6] = 99;
    const oversized = peerFrame(PeerOp.MEXISTS, 8, undefined);
    oversized.writeUInt32LE(64 << 20, 0); // a body above the 1 MiB frame limit, never sent
    const cases: [Buffer, number][] = [
      [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), PeerStatus.BAD_FRAME],
      [badVersion, PeerStatus.BAD_VERSION],
      [oversized, PeerStatus.FRAME_TOO_LARGE],
      [peerFrame(0x42, 9, undefined), PeerStatus.UNKNOWN_OP],
      [peerFrame(PeerOp.HELLO, 10, encodePeerHello({ node: 'b', pool: 'default', nonce: randomBytes(32) })), PeerStatus.BAD_FRAME],
    ];
    for (const [frame, status] of cases) {
      const w = await ready();
      w.send(frame);
      await refusedWith(w, status);
      expect((await keep.call(PeerOp.PING))?.header.status).toBe(0);
    }
    const r = await keep.call(PeerOp.MGET, encodeMget('ns', chain.subarray(0, 16), [LEN]), { count: 1 });
    expect(r?.header.status).toBe(0);
    expect(r?.payload.equals(blockBytes(1, 0, LEN))).toBe(true);
    keep.close();
    await goodPing();
  });
});

describe('peer reads', () => {
  it('MEXISTS answers per key, and stops at the first miss with prefix', async () => {
    const c = client();
    const ks = Buffer.concat([chain.subarray(0, 32), keys(9, 1), chain.subarray(48, 64)]);
    expect([...(await c.mexists('a', 'ns', ks))]).toEqual([PeerItem.FOUND, PeerItem.FOUND, PeerItem.MISSING, PeerItem.FOUND]);
    expect([...(await c.mexists('a', 'ns', ks, { prefix: true }))]).toEqual([PeerItem.FOUND, PeerItem.FOUND, PeerItem.MISSING, PeerItem.MISSING]);
    await c.close();
  });

  it('MGET delivers sealed blocks intact into the destination views and unpins them', async () => {
    const c = client();
    const ks = Buffer.concat([chain, keys(9, 1)]);
    const dests = Array.from({ length: 7 }, () => new Uint8Array(256 * KiB));
    const r = await c.mget('a', 'ns', ks, dests);
    expect([...r.status]).toEqual([0, 0, 0, 0, 0, 0, PeerItem.MISSING]);
    for (let i = 0; i < 6; i++) {
      expect(r.lengths[i]).toBe(LEN);
      expect(Buffer.from(dests[i]!.subarray(0, LEN)).equals(blockBytes(1, i, LEN))).toBe(true);
    }
    // Several calls in flight share the connections (two at most).
    const many = await Promise.all(Array.from({ length: 8 }, () => c.mget('a', 'ns', chain.subarray(0, 32), [new Uint8Array(LEN), new Uint8Array(LEN)])));
    for (const m of many) expect([...m.lengths]).toEqual([LEN, LEN]);
    expect(c.connectionCount('a')).toBeLessThanOrEqual(2);
    await c.close();
    await vi.waitFor(() => expect(rig.services.get('default')!.blocks!.shard.leases().read).toBe(0), { timeout: 10_000 });
  });

  it('a view shorter than the block gets TOO_LONG and no bytes', async () => {
    const c = client();
    const small = new Uint8Array(1000);
    const r = await c.mget('a', 'ns', chain.subarray(0, 16), [small]);
    expect(r.status[0]).toBe(PeerItem.TOO_LONG);
    expect(small.every((b) => b === 0)).toBe(true);
    await c.close();
  });

  it('a namespace of another pool is invisible; presenting that pool shows it', async () => {
    const secret = keys(2, 2);
    const c = client();
    expect([...(await c.mexists('a', 'secret', secret))]).toEqual([PeerItem.MISSING, PeerItem.MISSING]);
    const r = await c.mget('a', 'secret', secret, [new Uint8Array(LEN), new Uint8Array(LEN)]);
    expect([...r.status]).toEqual([PeerItem.MISSING, PeerItem.MISSING]);
    await c.close();
    const o = client({ pool: 'other' });
    expect([...(await o.mexists('a', 'secret', secret))]).toEqual([PeerItem.FOUND, PeerItem.FOUND]);
    expect([...(await o.mexists('a', 'ns', chain.subarray(0, 16)))]).toEqual([PeerItem.MISSING]);
    await o.close();
  });

  it('an unknown pool is refused after the proof', async () => {
    const w = await PeerWire.open(rig.port);
    const { reply } = await w.handshake({ self: 'b', server: 'a', pool: 'nope', key: rig.key });
    expect(reply?.header.status).toBe(PeerStatus.UNKNOWN_POOL);
    expect(await w.next()).toBeUndefined();
  });

  it('PUBLISH and DIRECTORY_LOOKUP answer UNSUPPORTED for a pool run without a directory store; the connection stays', async () => {
    const w = await PeerWire.open(rig.port);
    expect((await w.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key })).reply?.header.status).toBe(0);
    expect((await w.call(PeerOp.PUBLISH, Buffer.alloc(4)))?.header.status).toBe(PeerStatus.UNSUPPORTED);
    expect((await w.call(PeerOp.DIRECTORY_LOOKUP, Buffer.alloc(4)))?.header.status).toBe(PeerStatus.UNSUPPORTED);
    expect((await w.call(PeerOp.PING))?.header.status).toBe(0);
    w.close();
  });

  it('a reader that dies mid-MGET leaves no pin behind', async () => {
    const shard = rig.services.get('default')!.blocks!.shard;
    const w = await PeerWire.open(rig.port);
    expect((await w.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key })).reply?.header.status).toBe(0);
    w.socket.pause(); // never read: the replies stay queued on the server
    for (let i = 0; i < 20; i++) w.send(peerFrame(PeerOp.MGET, 100 + i, encodeMget('ns', chain, new Array<number>(6).fill(LEN)), { count: 6 }));
    await vi.waitFor(() => expect(shard.leases().read).toBeGreaterThan(0), { timeout: 10_000 });
    w.close();
    await vi.waitFor(() => expect(shard.leases().read).toBe(0), { timeout: 10_000 });
    expect(rig.server.pinsHeld).toBe(0);
    await goodPing();
  });
});
