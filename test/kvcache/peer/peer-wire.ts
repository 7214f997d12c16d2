// A raw peer-protocol client for server tests: sends bytes, reads whole replies (header, body,
// payload) in order, sees the close. Can run the handshake by hand (to replay or forge proofs).
import { type Socket, connect } from 'node:net';
import { FramedSocket } from '../../helpers/framed-socket.js';
import { handshakeProof, newNonce } from '../../../src/kvcache/peer/handshake.js';
import { PEER_HEADER_BYTES, type PeerHeader, PeerOp, decodePeerChallenge, encodePeerHello, peerFrame, peerHeaderFields } from '../../../src/kvcache/peer/peer-protocol.js';

export interface PeerReply {
  readonly header: PeerHeader;
  readonly body: Buffer;
  readonly payload: Buffer;
}

export class PeerWire extends FramedSocket<PeerReply> {
  private nextId = 1;

  private constructor(socket: Socket) {
    super(socket);
  }

  static open(port: number): Promise<PeerWire> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new PeerWire(s)));
      s.once('error', reject);
    });
  }

  protected take(): PeerReply | undefined {
    if (this.pending.length < PEER_HEADER_BYTES) return undefined;
    const b = this.pending;
    const header = peerHeaderFields(b);
    const total = PEER_HEADER_BYTES + header.bodyLength + header.payloadLength;
    if (b.length < total) return undefined;
    const body = Buffer.from(b.subarray(PEER_HEADER_BYTES, PEER_HEADER_BYTES + header.bodyLength));
    const payload = Buffer.from(b.subarray(PEER_HEADER_BYTES + header.bodyLength, total));
    this.pending = b.subarray(total);
    return { header, body, payload };
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }


  async call(op: number, body?: Buffer, opts: { count?: number; flags?: number } = {}): Promise<PeerReply | undefined> {
    this.send(peerFrame(op, this.nextId++, body, opts));
    return this.next();
  }

  /** HELLO + AUTH by hand; returns the client proof it sent and the AUTH reply. */
  async handshake(o: { self: string; server: string; pool: string; key: Buffer; nonceC?: Buffer; proof?: Buffer }): Promise<{ proof: Buffer; reply: PeerReply | undefined }> {
    const nonceC = o.nonceC ?? newNonce();
    const hello = await this.call(PeerOp.HELLO, encodePeerHello({ node: o.self, pool: o.pool, nonce: nonceC }));
    if (hello === undefined || hello.header.status !== 0) return { proof: Buffer.alloc(0), reply: hello };
    const ch = decodePeerChallenge(hello.body);
    const proof = o.proof ?? handshakeProof(o.key, 'client', { client: o.self, server: o.server, pool: o.pool, nonceC, nonceS: ch.nonce });
    return { proof, reply: await this.call(PeerOp.AUTH, proof) };
  }

}
