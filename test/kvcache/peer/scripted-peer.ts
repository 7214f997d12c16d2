/**
 * A hand-driven peer for client tests: it answers HELLO and AUTH correctly for `node` with the pair
 * key, then hands each MGET's socket, request id and key count to the test, which writes whatever
 * reply (or none) the case needs.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { handshakeProof, newNonce } from '../../../src/kvcache/peer/handshake.js';
import {
  DEFAULT_PEER_LIMITS,
  MGET_RECORD_BYTES,
  PEER_HEADER_BYTES,
  PEER_REPLY_BIT,
  PeerOp,
  decodePeerHello,
  encodePeerChallenge,
  encodePeerLimits,
  peerFrame,
  writePeerHeader,
} from '../../../src/kvcache/peer/peer-protocol.js';

export type MgetHandler = (s: Socket, id: number, n: number) => void;

/** Listens on loopback as peer `node`; resolves with the server (close it after the test) and its port. */
export async function startScriptedPeer(node: string, key: Buffer, onMget: MgetHandler): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= PEER_HEADER_BYTES && buf.length >= PEER_HEADER_BYTES + buf.readUInt32LE(0)) {
        const len = buf.readUInt32LE(0);
        const op = buf[7] as number;
        const id = buf.readUInt32LE(8);
        const count = buf.readUInt32LE(16);
        const body = buf.subarray(PEER_HEADER_BYTES, PEER_HEADER_BYTES + len);
        buf = buf.subarray(PEER_HEADER_BYTES + len);
        if (op === PeerOp.HELLO) {
          const h = decodePeerHello(Buffer.from(body));
          const ctx = { client: h.node, server: node, pool: h.pool, nonceC: h.nonce, nonceS: newNonce() };
          s.write(peerFrame(op | PEER_REPLY_BIT, id, encodePeerChallenge({ node, nonce: ctx.nonceS, proof: handshakeProof(key, 'server', ctx) })));
        } else if (op === PeerOp.AUTH) s.write(peerFrame(op | PEER_REPLY_BIT, id, encodePeerLimits(DEFAULT_PEER_LIMITS)));
        else if (op === PeerOp.MGET) onMget(s, id, count);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

/** Header and records of an MGET reply of n blocks of `len` bytes (the block bytes follow). */
export function mgetReplyHead(id: number, n: number, len: number): Buffer {
  const head = Buffer.alloc(PEER_HEADER_BYTES + n * MGET_RECORD_BYTES);
  writePeerHeader(head, { bodyLength: n * MGET_RECORD_BYTES, op: PeerOp.MGET | PEER_REPLY_BIT, requestId: id, status: 0, flags: 0, count: n, payloadLength: n * len });
  for (let i = 0; i < n; i++) head.writeUInt32LE(len, PEER_HEADER_BYTES + i * MGET_RECORD_BYTES + 4);
  return head;
}
