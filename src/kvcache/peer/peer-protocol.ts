/**
 * The agent ↔ agent peer protocol, version 1 (docs/kv-protocol.md, part 2): frame header, ops,
 * statuses and the body codecs. Every decoder checks counts and lengths against the limits before it
 * allocates or slices anything; every overrun is a PeerProtocolError with a frame status.
 */

export const PEER_MAGIC = 0x5042; // bytes 42 50 ("BP"); the engine protocol's is 0x4B42
export const PEER_VERSION = 1;
export const PEER_HEADER_BYTES = 24;
export const PEER_KEY_BYTES = 16;
export const PEER_REPLY_BIT = 0x80;
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
export const MAX_PEER_NAME_BYTES = 255;
export const MAX_PEER_ERROR_BYTES = 1024;
/** MGET request item: key + u32 max length. */
export const MGET_ITEM_BYTES = 20;
/** MGET reply record: u8 status, 3 reserved, u32 length. */
export const MGET_RECORD_BYTES = 8;
/** PUBLISH item: key + u32 length + u8 kind + 3 reserved. */
export const PUBLISH_ITEM_BYTES = 24;
/** PUBLISH item kinds: the sender now holds the block (sealed and hot), or it evicted it. */
export const DeltaKind = { HOLD: 1, EVICT: 2 } as const;
/** PUBLISH per-item reply status. */
export const DeltaStatus = { APPLIED: 0, DROPPED: 1 } as const;
/** DIRECTORY_LOOKUP reply: a key with no holder known. */
export const NO_HOLDER_INDEX = 0xffff;

export const PeerOp = {
  HELLO: 0x01,
  AUTH: 0x02,
  PING: 0x03,
  MEXISTS: 0x04,
  MGET: 0x05,
  PUBLISH: 0x06,
  DIRECTORY_LOOKUP: 0x07,
} as const;

const OP_NAMES = new Map<number, string>(Object.entries(PeerOp).map(([k, v]) => [v, k]));

export function peerOpName(op: number): string {
  return OP_NAMES.get(op & ~PEER_REPLY_BIT) ?? `0x${op.toString(16)}`;
}

export const PeerStatus = {
  OK: 0,
  BAD_FRAME: 1,
  BAD_VERSION: 2,
  UNKNOWN_OP: 3,
  FRAME_TOO_LARGE: 4,
  NO_AUTH: 5,
  AUTH_FAILED: 6,
  UNKNOWN_POOL: 7,
  BATCH_TOO_LARGE: 8,
  UNSUPPORTED: 9,
  TOO_MANY_CONNECTIONS: 10,
  SHUTTING_DOWN: 11,
  INTERNAL: 12,
} as const;

const STATUS_NAMES = new Map<number, string>(Object.entries(PeerStatus).map(([k, v]) => [v, k]));

export function peerStatusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `status ${status}`;
}

/** Statuses after which the server ends the connection (the stream or the peer can no longer be trusted). */
export const PEER_CLOSING_STATUSES: ReadonlySet<number> = new Set([
  PeerStatus.BAD_FRAME,
  PeerStatus.BAD_VERSION,
  PeerStatus.UNKNOWN_OP,
  PeerStatus.FRAME_TOO_LARGE,
  PeerStatus.NO_AUTH,
  PeerStatus.AUTH_FAILED,
  PeerStatus.UNKNOWN_POOL,
  PeerStatus.TOO_MANY_CONNECTIONS,
  PeerStatus.SHUTTING_DOWN,
  PeerStatus.INTERNAL,
]);

/** Per-item statuses of MEXISTS and MGET replies. */
export const PeerItem = {
  FOUND: 0,
  MISSING: 1,
  /** MGET: the block is longer than the item's max length; no bytes sent. */
  TOO_LONG: 2,
} as const;

/** MEXISTS / MGET flag bit 0: stop at the first missing key (a chain's longest prefix). */
export const PREFIX_FLAG = 1;

export class PeerProtocolError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'PeerProtocolError';
  }
}

export interface PeerHeader {
  /** Body bytes after the header (metadata; block bytes are the payload after it). */
  readonly bodyLength: number;
  readonly version: number;
  readonly op: number;
  readonly requestId: number;
  readonly status: number;
  readonly flags: number;
  readonly count: number;
  readonly payloadLength: number;
}

export interface PeerLimits {
  /** Header + body, the most a frame's metadata may take. */
  readonly maxFrame: number;
  /** Keys in one MEXISTS/MGET/PUBLISH/DIRECTORY_LOOKUP. */
  readonly maxBatch: number;
  /** Sum of an MGET's max lengths, i.e. the largest payload one reply may carry. */
  readonly maxMgetBytes: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = { maxFrame: 1 << 20, maxBatch: 4096, maxMgetBytes: 256 << 20 };

export function writePeerHeader(buf: Buffer, h: Omit<PeerHeader, 'version'> & { version?: number }): void {
  buf.writeUInt32LE(h.bodyLength, 0);
  buf.writeUInt16LE(PEER_MAGIC, 4);
  buf.writeUInt8(h.version ?? PEER_VERSION, 6);
  buf.writeUInt8(h.op, 7);
  buf.writeUInt32LE(h.requestId >>> 0, 8);
  buf.writeUInt16LE(h.status, 12);
  buf.writeUInt16LE(h.flags, 14);
  buf.writeUInt32LE(h.count >>> 0, 16);
  buf.writeUInt32LE(h.payloadLength >>> 0, 20);
}

/** The header's fields as they stand (no checks): for readers that check them their own way. */
export function peerHeaderFields(buf: Buffer): PeerHeader {
  return {
    bodyLength: buf.readUInt32LE(0),
    version: buf.readUInt8(6),
    op: buf.readUInt8(7),
    requestId: buf.readUInt32LE(8),
    status: buf.readUInt16LE(12),
    flags: buf.readUInt16LE(14),
    count: buf.readUInt32LE(16),
    payloadLength: buf.readUInt32LE(20),
  };
}

/**
 * Reads and checks a header (24 bytes), in the documented order: magic, version, frame size. A bad
 * magic throws with requestId 0 (the header is unreadable); the others echo the request.
 */
export function readPeerHeader(buf: Buffer, maxFrame: number, maxPayload: number): PeerHeader {
  if (buf.readUInt16LE(4) !== PEER_MAGIC) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `bad magic 0x${buf.readUInt16LE(4).toString(16)} (a brixlet peer frame starts with 42 50 at offset 4)`);
  const h = peerHeaderFields(buf);
  if (h.version !== PEER_VERSION) throw new EchoError(h, PeerStatus.BAD_VERSION, `peer protocol version ${h.version} is not supported: this agent speaks version ${PEER_VERSION}`);
  if (PEER_HEADER_BYTES + h.bodyLength > maxFrame) throw new EchoError(h, PeerStatus.FRAME_TOO_LARGE, `frame of ${PEER_HEADER_BYTES + h.bodyLength} bytes exceeds the ${maxFrame}-byte limit`);
  if (h.payloadLength > maxPayload) throw new EchoError(h, PeerStatus.FRAME_TOO_LARGE, `payload of ${h.payloadLength} bytes exceeds the ${maxPayload}-byte limit`);
  return h;
}

/** A header error that names the request (its id and op are echoed in the reply). */
export class EchoError extends PeerProtocolError {
  constructor(
    readonly header: PeerHeader,
    status: number,
    message: string,
  ) {
    super(status, message);
  }
}

/** One whole frame with no payload (requests, small replies). */
export function peerFrame(op: number, requestId: number, body: Buffer | undefined, opts: { status?: number; flags?: number; count?: number; payloadLength?: number } = {}): Buffer {
  const len = body?.length ?? 0;
  const out = Buffer.allocUnsafe(PEER_HEADER_BYTES + len);
  writePeerHeader(out, { bodyLength: len, op, requestId, status: opts.status ?? 0, flags: opts.flags ?? 0, count: opts.count ?? 0, payloadLength: opts.payloadLength ?? 0 });
  if (body !== undefined) body.copy(out, PEER_HEADER_BYTES);
  return out;
}

/** The error reply body: u16 n, n bytes of UTF-8 (cut at a character boundary). */
export function encodePeerError(message: string): Buffer {
  let bytes = Buffer.from(message, 'utf8');
  if (bytes.length > MAX_PEER_ERROR_BYTES) {
    let end = MAX_PEER_ERROR_BYTES;
    while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16LE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

export function decodePeerError(body: Buffer): string {
  if (body.length < 2) return '';
  const n = Math.min(body.readUInt16LE(0), body.length - 2);
  return body.toString('utf8', 2, 2 + n);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8, or undefined (an invalid name names nothing). */
export function strictText(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `truncated body: ${what} needs ${n} byte(s) at offset ${this.pos}, body has ${this.buf.length}`);
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(what: string, min: number): Buffer {
    this.need(1, `${what} length`);
    const n = this.buf.readUInt8(this.pos++);
    if (n < min) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `${what} is empty`);
    return this.bytes(n, what);
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `${this.buf.length - this.pos} trailing byte(s) after offset ${this.pos}`);
  }
}

function nameBytes(s: string, what: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length < 1 || b.length > MAX_PEER_NAME_BYTES) throw new RangeError(`${what} must be 1–${MAX_PEER_NAME_BYTES} UTF-8 bytes`);
  return b;
}

// ───────────── handshake ─────────────

export interface PeerHello {
  readonly node: string;
  readonly pool: string;
  readonly nonce: Buffer;
}

/** HELLO request: u8 n, node; u8 n, pool; nonceC (32). */
export function encodePeerHello(h: PeerHello): Buffer {
  const node = nameBytes(h.node, 'node');
  const pool = nameBytes(h.pool, 'pool');
  if (h.nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  return Buffer.concat([Buffer.from([node.length]), node, Buffer.from([pool.length]), pool, h.nonce]);
}

export function decodePeerHello(body: Buffer): PeerHello {
  const c = new Cursor(body);
  const node = strictText(c.name('node', 1));
  const pool = strictText(c.name('pool', 1));
  const nonce = Buffer.from(c.bytes(NONCE_BYTES, 'nonce'));
  c.end();
  if (node === undefined || pool === undefined) throw new PeerProtocolError(PeerStatus.BAD_FRAME, 'node and pool must be valid UTF-8');
  return { node, pool, nonce };
}

export interface PeerChallenge {
  readonly node: string;
  readonly nonce: Buffer;
  readonly proof: Buffer;
}

/** HELLO reply: u8 n, server node; nonceS (32); proofS (32). */
export function encodePeerChallenge(c: PeerChallenge): Buffer {
  const node = nameBytes(c.node, 'node');
  return Buffer.concat([Buffer.from([node.length]), node, c.nonce, c.proof]);
}

export function decodePeerChallenge(body: Buffer): PeerChallenge {
  const c = new Cursor(body);
  const node = strictText(c.name('node', 1));
  const nonce = Buffer.from(c.bytes(NONCE_BYTES, 'nonce'));
  const proof = Buffer.from(c.bytes(PROOF_BYTES, 'proof'));
  c.end();
  if (node === undefined) throw new PeerProtocolError(PeerStatus.BAD_FRAME, 'node must be valid UTF-8');
  return { node, nonce, proof };
}

/** AUTH request body: proofC (32). */
export function decodePeerAuth(body: Buffer): Buffer {
  if (body.length !== PROOF_BYTES) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `AUTH body must be ${PROOF_BYTES} bytes, got ${body.length}`);
  return Buffer.from(body);
}

/** AUTH reply: the server's limits (u32 maxFrame, u32 maxBatch, u32 maxMgetBytes). */
export function encodePeerLimits(l: PeerLimits): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt32LE(l.maxFrame, 0);
  out.writeUInt32LE(l.maxBatch, 4);
  out.writeUInt32LE(l.maxMgetBytes, 8);
  return out;
}

export function decodePeerLimits(body: Buffer): PeerLimits {
  if (body.length !== 12) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `AUTH reply must be 12 bytes, got ${body.length}`);
  return { maxFrame: body.readUInt32LE(0), maxBatch: body.readUInt32LE(4), maxMgetBytes: body.readUInt32LE(8) };
}

// ───────────── MEXISTS / MGET ─────────────

/** Checks the header's count against the batch limit before the body is read. */
export function checkBatch(count: number, maxBatch: number): void {
  if (count > maxBatch) throw new PeerProtocolError(PeerStatus.BATCH_TOO_LARGE, `${count} keys exceed the batch limit of ${maxBatch}`);
}

/** MEXISTS body: u8 n, namespace; count × key. */
export function encodeMexists(namespace: string, keys: Buffer): Buffer {
  const ns = nameBytes(namespace, 'namespace');
  if (keys.length % PEER_KEY_BYTES !== 0) throw new RangeError('keys must be a whole number of 16-byte keys');
  return Buffer.concat([Buffer.from([ns.length]), ns, keys]);
}

export interface KeysRequest {
  /** undefined when the bytes are not valid UTF-8: such a namespace holds nothing. */
  readonly namespace: string | undefined;
  readonly keys: Buffer;
}

export function decodeMexists(body: Buffer, count: number, maxBatch: number): KeysRequest {
  checkBatch(count, maxBatch);
  const c = new Cursor(body);
  const namespace = strictText(c.name('namespace', 1));
  const keys = c.bytes(count * PEER_KEY_BYTES, 'keys');
  c.end();
  return { namespace, keys };
}

/** MGET body: u8 n, namespace; count × (key, u32 max length). */
export function encodeMget(namespace: string, keys: Buffer, maxLengths: ArrayLike<number>): Buffer {
  const ns = nameBytes(namespace, 'namespace');
  const n = keys.length / PEER_KEY_BYTES;
  if (!Number.isInteger(n) || maxLengths.length !== n) throw new RangeError('one max length per 16-byte key');
  const out = Buffer.allocUnsafe(1 + ns.length + n * MGET_ITEM_BYTES);
  out.writeUInt8(ns.length, 0);
  ns.copy(out, 1);
  let at = 1 + ns.length;
  for (let i = 0; i < n; i++, at += MGET_ITEM_BYTES) {
    keys.copy(out, at, i * PEER_KEY_BYTES, (i + 1) * PEER_KEY_BYTES);
    out.writeUInt32LE(maxLengths[i] as number, at + PEER_KEY_BYTES);
  }
  return out;
}

export interface MgetRequest extends KeysRequest {
  readonly maxLengths: Uint32Array;
}

export function decodeMget(body: Buffer, count: number, limits: PeerLimits): MgetRequest {
  checkBatch(count, limits.maxBatch);
  const c = new Cursor(body);
  const namespace = strictText(c.name('namespace', 1));
  const items = c.bytes(count * MGET_ITEM_BYTES, 'items');
  c.end();
  const keys = Buffer.allocUnsafe(count * PEER_KEY_BYTES);
  const maxLengths = new Uint32Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    items.copy(keys, i * PEER_KEY_BYTES, i * MGET_ITEM_BYTES, i * MGET_ITEM_BYTES + PEER_KEY_BYTES);
    const m = items.readUInt32LE(i * MGET_ITEM_BYTES + PEER_KEY_BYTES);
    maxLengths[i] = m;
    total += m;
  }
  if (total > limits.maxMgetBytes) throw new PeerProtocolError(PeerStatus.BATCH_TOO_LARGE, `MGET asks for up to ${total} bytes, above the ${limits.maxMgetBytes}-byte limit per MGET`);
  return { namespace, keys, maxLengths };
}

// ───────────── PUBLISH / DIRECTORY_LOOKUP ─────────────

/** PUBLISH body: u8 n, namespace; the items as they are (count × 24 bytes, see PUBLISH_ITEM_BYTES). */
export function encodePublish(namespace: string, items: Uint8Array): Buffer {
  const ns = nameBytes(namespace, 'namespace');
  if (items.length % PUBLISH_ITEM_BYTES !== 0) throw new RangeError(`PUBLISH items must be a whole number of ${PUBLISH_ITEM_BYTES}-byte items`);
  const out = Buffer.allocUnsafe(1 + ns.length + items.length);
  out.writeUInt8(ns.length, 0);
  ns.copy(out, 1);
  out.set(items, 1 + ns.length);
  return out;
}

export interface PublishRequest {
  readonly namespace: string | undefined;
  /** count × 24 bytes, a view of the body. */
  readonly items: Buffer;
}

export function decodePublish(body: Buffer, count: number, maxBatch: number): PublishRequest {
  checkBatch(count, maxBatch);
  const c = new Cursor(body);
  const namespace = strictText(c.name('namespace', 1));
  const items = c.bytes(count * PUBLISH_ITEM_BYTES, 'items');
  c.end();
  return { namespace, items };
}

/** DIRECTORY_LOOKUP body: as MEXISTS (u8 n, namespace; count × key). */
export const encodeDirectoryLookup = encodeMexists;
export const decodeDirectoryLookup = decodeMexists;

/** DIRECTORY_LOOKUP reply: u16 h, h × (u8 n, node); then count × u16 holder index (0xFFFF = none). */
export function encodeDirectoryAnswer(holders: readonly string[], holderOf: Uint16Array): Buffer {
  const names = holders.map((h) => nameBytes(h, 'holder'));
  let len = 2 + holderOf.length * 2;
  for (const n of names) len += 1 + n.length;
  const out = Buffer.allocUnsafe(len);
  out.writeUInt16LE(names.length, 0);
  let at = 2;
  for (const n of names) {
    out.writeUInt8(n.length, at);
    n.copy(out, at + 1);
    at += 1 + n.length;
  }
  for (let i = 0; i < holderOf.length; i++, at += 2) out.writeUInt16LE(holderOf[i] as number, at);
  return out;
}

/** Checks a DIRECTORY_LOOKUP reply for `count` keys: every index names a listed holder or none. */
export function decodeDirectoryAnswer(body: Buffer, count: number): { holders: string[]; holderOf: Uint16Array } {
  const c = new Cursor(body);
  c.need(2, 'holder count');
  const h = body.readUInt16LE(0);
  c.pos = 2;
  if (h > count) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `${h} holders for ${count} keys`);
  const holders: string[] = [];
  for (let i = 0; i < h; i++) {
    const name = strictText(c.name('holder', 1));
    if (name === undefined) throw new PeerProtocolError(PeerStatus.BAD_FRAME, 'holder names must be valid UTF-8');
    holders.push(name);
  }
  const raw = c.bytes(count * 2, 'holder indexes');
  c.end();
  const holderOf = new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    const v = raw.readUInt16LE(i * 2);
    if (v !== NO_HOLDER_INDEX && v >= h) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `key ${i} names holder ${v} of ${h}`);
    holderOf[i] = v;
  }
  return { holders, holderOf };
}
