// A raw protocol client for server tests: sends frames, reads replies in order, sees the close.
import { type Socket, connect } from 'node:net';
import { FramedSocket } from '../helpers/framed-socket.js';
import { type FrameHeader, HEADER_BYTES, frame } from '../../src/kvcache/protocol.js';

export interface Reply {
  readonly header: FrameHeader;
  readonly body: Buffer;
}

/** Parsed here, not with FrameReader: the shard echoes a foreign version byte in BAD_VERSION replies, which a client's reader refuses. */
export class Wire extends FramedSocket<Reply> {
  private nextId = 1;

  private constructor(socket: Socket) {
    super(socket);
  }

  protected take(): Reply | undefined {
    if (this.pending.length < HEADER_BYTES) return undefined;
    const length = this.pending.readUInt32LE(0);
    if (length < HEADER_BYTES) throw new Error(`reply frame length ${length} is shorter than the header`);
    if (this.pending.length < length) return undefined;
    const header: FrameHeader = { length, op: this.pending.readUInt8(7), requestId: this.pending.readUInt32LE(8), status: this.pending.readUInt16LE(12) };
    const body = this.pending.subarray(HEADER_BYTES, length);
    this.pending = this.pending.subarray(length);
    return { header, body };
  }

  static open(path: string): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new Wire(s)));
      s.once('error', reject);
    });
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }


  async call(op: number, body?: Buffer): Promise<Reply> {
    const id = this.nextId++;
    this.socket.write(frame(op, id, body));
    const r = await this.next();
    if (r === undefined) throw new Error(`connection closed before the reply to op ${op}`);
    if (r.header.requestId !== id) throw new Error(`reply id ${r.header.requestId}, expected ${id}`);
    return r;
  }

}
