/**
 * ZMTP 3.1 (rfc.zeromq.org/spec/37) framing with the NULL mechanism: the greeting, frames (short and
 * long, MORE and COMMAND flags), commands and READY metadata. Pure functions and an incremental
 * reader with limits; sockets live in peer.ts and sockets.ts. Only what vLLM's KV events use.
 */
import { BrixletError } from '../errors.js';

export const GREETING_BYTES = 64;
const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;

export type ZmtpSocketType = 'PUB' | 'SUB' | 'ROUTER' | 'DEALER' | 'XPUB' | 'XSUB' | 'REQ' | 'REP';

/** Which peer socket types each local type talks to (ZMTP 3.1 §"Socket compatibility"). */
const COMPATIBLE: Readonly<Record<string, readonly string[]>> = {
  PUB: ['SUB', 'XSUB'],
  SUB: ['PUB', 'XPUB'],
  ROUTER: ['DEALER', 'REQ', 'ROUTER'],
  DEALER: ['ROUTER', 'REP', 'DEALER'],
};

export function compatibleSocketTypes(local: ZmtpSocketType, peer: string): boolean {
  return COMPATIBLE[local]?.includes(peer) ?? false;
}

/** A peer broke the protocol or a limit; the connection is dropped, the process keeps going. */
export class ZmtpProtocolError extends BrixletError {
  constructor(readonly reason: string) {
    super('BRX_ERR_ZMTP_PROTOCOL', { reason });
  }
}

export function encodeGreeting(asServer: boolean): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  g.write('NULL', 12, 'latin1');
  g[32] = asServer ? 1 : 0;
  return g;
}

export interface Greeting {
  readonly major: number;
  readonly minor: number;
  readonly mechanism: string;
}

/** Checks the 10-byte signature as soon as it has arrived, so a non-ZMTP peer is dropped early. */
export function checkSignature(head: Buffer): void {
  if (head.length >= 1 && head[0] !== 0xff) throw new ZmtpProtocolError('bad greeting signature');
  if (head.length >= 10 && head[9] !== 0x7f) throw new ZmtpProtocolError('bad greeting signature');
}

export function parseGreeting(g: Buffer): Greeting {
  checkSignature(g);
  const major = g[10]!;
  const minor = g[11]!;
  if (major < 3) throw new ZmtpProtocolError(`unsupported ZMTP version ${major}.${minor} (need 3.x)`);
  const mechBytes = g.subarray(12, 32);
  const end = mechBytes.indexOf(0);
  const mechanism = mechBytes.subarray(0, end < 0 ? 20 : end).toString('latin1');
  if (mechanism !== 'NULL') throw new ZmtpProtocolError(`unsupported security mechanism ${JSON.stringify(mechanism)} (only NULL)`);
  return { major, minor, mechanism };
}

function header(flags: number, size: number): Buffer {
  if (size <= 255) return Buffer.from([flags, size]);
  const h = Buffer.alloc(9);
  h[0] = flags | FLAG_LONG;
  h.writeBigUInt64BE(BigInt(size), 1);
  return h;
}

/** A multipart message as the bytes on the wire (MORE on every frame but the last). */
export function encodeMessage(frames: readonly Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  frames.forEach((f, i) => {
    out.push(header(i < frames.length - 1 ? FLAG_MORE : 0, f.length));
    if (f.length > 0) out.push(Buffer.from(f.buffer, f.byteOffset, f.length));
  });
  return out;
}

export function encodeCommand(name: string, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const n = Buffer.from(name, 'latin1');
  const body = Buffer.concat([Buffer.from([n.length]), n, data]);
  return Buffer.concat([header(FLAG_COMMAND, body.length), body]);
}

export function encodeMetadata(props: Readonly<Record<string, Uint8Array | string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(props)) {
    const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : Buffer.from(value);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    parts.push(Buffer.from([name.length]), Buffer.from(name, 'latin1'), len, v);
  }
  return Buffer.concat(parts);
}

/** READY metadata; property names compare case-insensitively (ZMTP 3.1), so keys are lower-cased. */
export function parseMetadata(data: Buffer): Map<string, Buffer> {
  const props = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const nameLen = data[at]!;
    if (nameLen === 0 || at + 1 + nameLen + 4 > data.length) throw new ZmtpProtocolError('malformed READY metadata');
    const name = data.subarray(at + 1, at + 1 + nameLen).toString('latin1').toLowerCase();
    at += 1 + nameLen;
    const valueLen = data.readUInt32BE(at);
    at += 4;
    if (at + valueLen > data.length) throw new ZmtpProtocolError('malformed READY metadata');
    props.set(name, data.subarray(at, at + valueLen));
    at += valueLen;
  }
  return props;
}

export interface Command {
  readonly name: string;
  readonly data: Buffer;
}

export function parseCommand(body: Buffer): Command {
  const nameLen = body[0];
  if (nameLen === undefined || nameLen === 0 || 1 + nameLen > body.length) throw new ZmtpProtocolError('malformed command');
  return { name: body.subarray(1, 1 + nameLen).toString('latin1'), data: body.subarray(1 + nameLen) };
}

export interface FrameLimits {
  /** Largest frame body accepted (a longer one drops the peer before its bytes are buffered). */
  readonly maxFrameBytes: number;
  /** Most frames in one multipart message. */
  readonly maxMessageFrames: number;
}

export type FrameEvent = { readonly kind: 'command'; readonly command: Command } | { readonly kind: 'message'; readonly frames: Buffer[] };

/** Incremental frame reader: feed it chunks, it yields whole commands and whole multipart messages. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private parts: Buffer[] = [];

  constructor(private readonly limits: FrameLimits) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Takes exactly n bytes (caller checked they are buffered). */
  take(n: number): Buffer {
    const head = this.chunks[0]!;
    let out: Buffer;
    if (head.length >= n) {
      out = head.subarray(0, n);
      if (head.length === n) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }

  peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  /** The next complete event, or undefined when more bytes are needed; throws ZmtpProtocolError. */
  next(): FrameEvent | undefined {
    for (;;) {
      if (this.buffered < 2) return undefined;
      const flags = this.peek(1)[0]!;
      if ((flags & ~(FLAG_MORE | FLAG_LONG | FLAG_COMMAND)) !== 0) throw new ZmtpProtocolError(`reserved frame flag bits set (0x${flags.toString(16)})`);
      const long = (flags & FLAG_LONG) !== 0;
      const headLen = long ? 9 : 2;
      if (this.buffered < headLen) return undefined;
      const head = this.peek(headLen);
      const size = long ? head.readBigUInt64BE(1) : BigInt(head[1]!);
      const limit = (flags & FLAG_COMMAND) !== 0 ? Math.min(this.limits.maxFrameBytes, 64 * 1024) : this.limits.maxFrameBytes;
      if (size > BigInt(limit)) throw new ZmtpProtocolError(`frame of ${size} bytes exceeds the limit of ${limit}`);
      const n = Number(size);
      if (this.buffered < headLen + n) return undefined;
      this.take(headLen);
      const body = n === 0 ? Buffer.alloc(0) : Buffer.from(this.take(n));
      if ((flags & FLAG_COMMAND) !== 0) {
        if ((flags & FLAG_MORE) !== 0) throw new ZmtpProtocolError('command frame with MORE set');
        if (this.parts.length > 0) throw new ZmtpProtocolError('command inside a multipart message');
        return { kind: 'command', command: parseCommand(body) };
      }
      this.parts.push(body);
      if (this.parts.length > this.limits.maxMessageFrames) throw new ZmtpProtocolError(`message of more than ${this.limits.maxMessageFrames} frames`);
      if ((flags & FLAG_MORE) === 0) {
        const frames = this.parts;
        this.parts = [];
        return { kind: 'message', frames };
      }
    }
  }
}
