// The peer client against a scripted server that holds the pair key: a peer that dies or stalls in
// the middle of an MGET reply fails the call (by its deadline at the latest), and the caller's views
// are never written after the call failed.
import { randomBytes } from 'node:crypto';
import { type Server, type Socket, createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PeerClient, PeerError, splitAddress } from '../../../src/kvcache/peer/peer-client.js';
import { keys } from '../shard-fixture.js';
import { staticMembership } from './peer-fixture.js';
import { type MgetHandler, mgetReplyHead, startScriptedPeer } from './scripted-peer.js';

const key = randomBytes(32);
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A peer "a" that handshakes correctly, then answers each MGET with `onMget`. */
async function scripted(onMget: MgetHandler): Promise<number> {
  const peer = await startScriptedPeer('a', key, onMget);
  server = peer.server;
  return peer.port;
}

function client(port: number, deadlineMs: number): PeerClient {
  return new PeerClient({ self: 'b', pool: 'default', membership: staticMembership('b', [{ node: 'a', peerAddress: `127.0.0.1:${port}` }], { a: key }), deadlineMs });
}

describe('peer client faults', () => {
  it('a peer killed mid-MGET fails the call', async () => {
    const port = await scripted((s, id, n) => {
      s.write(mgetReplyHead(id, n, 64 * 1024));
      s.write(Buffer.alloc(100_000, 7));
      setImmediate(() => s.destroy());
    });
    const c = client(port, 60_000);
    const dests = [new Uint8Array(64 * 1024), new Uint8Array(64 * 1024)];
    await expect(c.mget('a', 'ns', keys(1, 2), dests)).rejects.toMatchObject({ code: 'CLOSED' });
    await c.close();
  });

  it('a peer that stalls mid-MGET fails the call at its deadline and never writes the views afterwards', async () => {
    let peerSocket: Socket | undefined;
    const port = await scripted((s, id, n) => {
      peerSocket = s;
      s.write(mgetReplyHead(id, n, 64 * 1024));
      s.write(Buffer.alloc(1000, 7));
    });
    const c = client(port, 300);
    const dests = [new Uint8Array(64 * 1024), new Uint8Array(64 * 1024)];
    await expect(c.mget('a', 'ns', keys(1, 2), dests)).rejects.toMatchObject({ code: 'DEADLINE' });
    const snapshot = Buffer.from(dests[0]!);
    // The rest of the reply arrives late: the caller's views must stay as they were.
    peerSocket?.write(Buffer.alloc(2 * 64 * 1024, 9), () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.from(dests[0]!).equals(snapshot)).toBe(true);
    expect(dests[1]!.every((b) => b === 0)).toBe(true);
    await c.close();
  });

  it('a reply for an abandoned call that was not yet being read is discarded; the connection goes on', async () => {
    let calls = 0;
    let held: (() => void) | undefined;
    const port = await scripted((s, id, n) => {
      calls++;
      const send = (): void => {
        s.write(mgetReplyHead(id, n, 4096));
        s.write(Buffer.alloc(n * 4096, calls));
      };
      if (calls === 1) held = send;
      else {
        held?.();
        send();
      }
    });
    const c = new PeerClient({ self: 'b', pool: 'default', membership: staticMembership('b', [{ node: 'a', peerAddress: `127.0.0.1:${port}` }], { a: key }), deadlineMs: 60_000, connectionsPerPeer: 1 });
    const first = [new Uint8Array(4096)];
    await expect(c.mget('a', 'ns', keys(1, 1), first, { deadlineMs: 100 })).rejects.toBeInstanceOf(PeerError);
    const second = [new Uint8Array(4096)];
    const r = await c.mget('a', 'ns', keys(2, 1), second);
    expect(r.lengths[0]).toBe(4096);
    expect(second[0]!.every((b) => b === 2)).toBe(true);
    expect(first[0]!.every((b) => b === 0)).toBe(true);
    expect(c.connectionCount('a')).toBe(1);
    await c.close();
  });

  it('a peer that never answers the handshake fails the call at its deadline and the connection is dropped', async () => {
    server = createServer((s) => s.on('error', () => undefined).resume()); // reads and drops: sees the close
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const c = client((server.address() as { port: number }).port, 200);
    await expect(c.ping('a')).rejects.toMatchObject({ code: 'DEADLINE' });
    await vi.waitFor(() => expect(c.connectionCount('a')).toBe(0), { timeout: 10_000 });
    await c.close();
  });

  it('connections stalled past a deadline (a partition: nothing arrives, no reset) are closed; calls reach the peer again over new ones', async () => {
    const silent = new Set<Socket>();
    const closed = new Set<Socket>();
    let partitioned = false;
    const port = await scripted((s, id, n) => {
      if (partitioned) silent.add(s);
      if (silent.has(s)) return;
      s.write(mgetReplyHead(id, n, 4096));
      s.write(Buffer.alloc(n * 4096, 1));
    });
    server!.on('connection', (s: Socket) => s.on('close', () => closed.add(s)));
    const c = new PeerClient({ self: 'b', pool: 'default', membership: staticMembership('b', [{ node: 'a', peerAddress: `127.0.0.1:${port}` }], { a: key }), deadlineMs: 60_000, connectionsPerPeer: 2, stallMs: 300 });
    const mget = (tag: number, deadlineMs: number): Promise<unknown> => c.mget('a', 'ns', keys(tag, 1), [new Uint8Array(4096)], { deadlineMs });
    try {
      await Promise.all([mget(1, 60_000), mget(2, 60_000)]);
      expect(c.connectionCount('a')).toBe(2);
      // The partition: both connections stay open but nothing comes back on them.
      partitioned = true;
      await expect(mget(3, 100)).rejects.toMatchObject({ code: 'DEADLINE' });
      await expect(mget(4, 100)).rejects.toMatchObject({ code: 'DEADLINE' });
      expect(silent.size).toBe(2);
      // Healed: new connections are answered, the stalled ones never will be (their bytes are lost).
      partitioned = false;
      await expect.poll(() => mget(5, 200).then(() => true, () => false), { timeout: 10_000, interval: 50 }).toBe(true);
      await vi.waitFor(() => expect([...silent].every((s) => closed.has(s))).toBe(true), { timeout: 10_000 });
    } finally {
      await c.close();
    }
  });

  it('splits peer addresses', () => {
    expect(splitAddress('10.0.0.1:9465')).toEqual({ host: '10.0.0.1', port: 9465 });
    expect(splitAddress('[::1]:9465')).toEqual({ host: '::1', port: 9465 });
    expect(() => splitAddress('nohost')).toThrow(PeerError);
  });
});
