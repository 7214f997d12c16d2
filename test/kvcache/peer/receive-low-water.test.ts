// The peer client's receive low-water mark: while an MGET reply's block bytes are expected the kernel
// wakes the reader per LOW_WATER_MAX bytes at most, never above what the reply still owes (the last
// bytes of a reply always arrive), and back to 1 byte for headers.
import { randomBytes } from 'node:crypto';
import { type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClientConnection, LOW_WATER_MAX } from '../../../src/kvcache/peer/client-connection.js';
import { noopPeerMetrics } from '../../../src/kvcache/peer/peer-metrics.js';
import { PeerOp, encodeMget } from '../../../src/kvcache/peer/peer-protocol.js';
import { receiveLowWater, setReceiveLowWater } from '../../../src/kvcache/peer/receive-low-water.js';
import { keys } from '../shard-fixture.js';
import { staticMembership } from './peer-fixture.js';
import { type MgetHandler, mgetReplyHead, startScriptedPeer } from './scripted-peer.js';

const key = randomBytes(32);
let server: Server | undefined;
let conn: ClientConnection | undefined;

afterEach(async () => {
  conn?.socket.destroy();
  conn = undefined;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A peer "a" that handshakes, then hands each MGET's socket, id and count to `onMget`. */
async function scripted(onMget: MgetHandler): Promise<number> {
  const peer = await startScriptedPeer('a', key, onMget);
  server = peer.server;
  return peer.port;
}

async function connectTo(port: number): Promise<ClientConnection> {
  const membership = staticMembership('b', [{ node: 'a', peerAddress: `127.0.0.1:${port}` }], { a: key });
  conn = new ClientConnection('127.0.0.1', port, 'a', { self: 'b', pool: 'default', membership }, noopPeerMetrics, () => undefined);
  await conn.ready;
  return conn;
}

describe('peer client receive low-water mark', () => {
  it('is the bytes a reply still owes, at most LOW_WATER_MAX, while blocks arrive; 1 again after the reply', async () => {
    const n = 2;
    const len = 512 * 1024;
    const payload = randomBytes(n * len);
    const tail = 5000;
    let reply: { s: Socket; id: number } | undefined;
    const port = await scripted((s, id) => {
      reply = { s, id };
      s.write(mgetReplyHead(id, n, len));
      s.write(payload.subarray(0, 1000));
    });
    const c = await connectTo(port);
    if (receiveLowWater(c.socket) === undefined) return console.warn('SO_RCVLOWAT cannot be read on this platform; skipped');
    expect(receiveLowWater(c.socket)).toBe(1);
    const dests = [new Uint8Array(len), new Uint8Array(len)];
    const sent = c.send(PeerOp.MGET, encodeMget('ns', keys(1, n), dests.map((d) => d.length)), { count: n, dests });
    await vi.waitFor(() => expect(receiveLowWater(c.socket)).toBe(LOW_WATER_MAX), { timeout: 10_000 });
    reply!.s.write(payload.subarray(1000, payload.length - tail));
    // Fewer bytes owed than the cap: the mark follows them down, so the last bytes wake the reader.
    await vi.waitFor(() => expect(receiveLowWater(c.socket)).toBe(tail), { timeout: 10_000 });
    reply!.s.write(payload.subarray(payload.length - tail));
    const r = await sent.reply;
    expect(Array.from(r.result!.lengths)).toEqual([len, len]);
    expect(Buffer.from(dests[0]!).equals(payload.subarray(0, len))).toBe(true);
    expect(Buffer.from(dests[1]!).equals(payload.subarray(len))).toBe(true);
    expect(receiveLowWater(c.socket)).toBe(1);
  });

  it('a reply smaller than the cap is read whole, bytes arriving one segment at a time', async () => {
    const len = 3000;
    const payload = randomBytes(len);
    const port = await scripted((s, id, n) => {
      s.write(mgetReplyHead(id, n, len));
      // Dribbled: the reader must wake for the last byte even though fewer than the mark arrive at once.
      let at = 0;
      const step = (): void => {
        if (at >= len) return;
        s.write(payload.subarray(at, at + 1000));
        at += 1000;
        setTimeout(step, 5);
      };
      step();
    });
    const c = await connectTo(port);
    const dests = [new Uint8Array(len)];
    const r = await c.send(PeerOp.MGET, encodeMget('ns', keys(2, 1), [len]), { count: 1, dests }).reply;
    expect(r.result!.lengths[0]).toBe(len);
    expect(Buffer.from(dests[0]!).equals(payload)).toBe(true);
  });

  it('a socket without a descriptor is left alone', () => {
    const s = { _handle: undefined } as unknown as Socket;
    expect(setReceiveLowWater(s, 4096)).toBe(false);
    expect(receiveLowWater(s)).toBeUndefined();
  });
});
