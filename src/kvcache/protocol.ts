/**
 * The KV shard lease protocol (docs/kv-protocol.md is the normative text): little-endian,
 * length-prefixed binary frames on a unix stream socket. This module only encodes and decodes;
 * the server and the TypeScript client share it. Decoders throw `ProtocolError` on malformed bodies.
 */

export const MAGIC = 0x4b42;
/**
 * Version 2: per-item status NO_PARENT (a chain stops at its first failed item; SEAL needs the parent
 * sealed), HELLO flags and names checked, errors echo the request header. The 16-byte header and the
 * error body are the same in every version, so any client can read a BAD_VERSION reply.
 */
export const VERSION = 2;
export const HEADER_BYTES = 16;
export const KEY_BYTES = 16;
export const LEASE_RECORD_BYTES = 24;
export const REPLY_BIT = 0x80;
export const MAX_NAME_BYTES = 255;
/** Longest error message sent (UTF-8 bytes); error replies stay far below the smallest max frame. */
export const MAX_ERROR_BYTES = 1024;

export const Op = {
  HELLO: 0x01,
  LOOKUP: 0x02,
  EXISTS: 0x03,
  ALLOC: 0x04,
  SEAL: 0x05,
  DROP: 0x06,
  RELEASE: 0x07,
  STATS: 0x08,
  PING: 0x09,
  /** LOOKUP that may fetch the missing part of the chain from other agents (docs/kv-protocol.md §3). */
  LOOKUP_REMOTE: 0x0a,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export function opName(op: number): string {
  const base = op & ~REPLY_BIT;
  for (const [name, code] of Object.entries(Op)) if (code === base) return name;
  return `0x${op.toString(16).padStart(2, '0')}`;
}

/** Frame-level status in the header of a reply. `close` ones end the connection after the reply. */
export const Status = {
  OK: 0,
  BAD_FRAME: 1,
  BAD_VERSION: 2,
  UNKNOWN_OP: 3,
  FRAME_TOO_LARGE: 4,
  NO_HELLO: 5,
  BAD_HELLO: 6,
  LAYOUT_MISMATCH: 7,
  BATCH_TOO_LARGE: 8,
  TOO_MANY_LEASES: 9,
  TOO_MANY_NAMESPACES: 10,
  SHUTTING_DOWN: 11,
  INTERNAL: 12,
  /** Sent once, unsolicited, to a peer the pool's allow lists refuse (SO_PEERCRED); then closed. */
  NOT_ALLOWED: 13,
  /** Sent once, unsolicited, when the peer's uid holds --kv.max-connections-per-uid; then closed. */
  TOO_MANY_CONNECTIONS: 14,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/** Statuses after which the server closes the connection (the stream can no longer be trusted). */
export const CLOSING_STATUSES: ReadonlySet<number> = new Set([
  Status.BAD_FRAME,
  Status.BAD_VERSION,
  Status.UNKNOWN_OP,
  Status.FRAME_TOO_LARGE,
  Status.SHUTTING_DOWN,
  Status.INTERNAL,
  Status.NOT_ALLOWED,
  Status.TOO_MANY_CONNECTIONS,
]);

export function statusName(status: number): string {
  for (const [name, code] of Object.entries(Status)) if (code === status) return name;
  return `STATUS_${status}`;
}

/** Per-item status inside ALLOC, SEAL, DROP and RELEASE replies. */
export const ItemStatus = {
  OK: 0,
  EXISTS: 1,
  BUSY: 2,
  FULL: 3,
  QUOTA: 4,
  BAD_LENGTH: 5,
  UNKNOWN_LEASE: 6,
  DUPLICATE: 7,
  /** The block's parent is not cached: an earlier item of the chain failed, the ALLOC parent is missing, or (SEAL) the parent is not sealed. */
  NO_PARENT: 8,
} as const;
export type ItemStatusCode = (typeof ItemStatus)[keyof typeof ItemStatus];

export function itemStatusName(status: number): string {
  for (const [name, code] of Object.entries(ItemStatus)) if (code === status) return name;
  return `ITEM_${status}`;
}

/** ALLOC request flags. */
export const AllocFlag = {
  /** A 16-byte parent key follows the flags: the first key's parent (a sealed block of the namespace). */
  PARENT: 1,
  /** The keys are not a chain: no key is the parent of the next. */
  INDEPENDENT: 2,
} as const;

/** What a reply to a bad frame echoes: known once the 16-byte header was read with the right magic. */
export interface EchoHeader {
  readonly op: number;
  readonly requestId: number;
  readonly version: number;
}

export class ProtocolError extends Error {
  constructor(
    readonly status: StatusCode,
    message: string,
    /** Set for header errors (BAD_VERSION, FRAME_TOO_LARGE, short length): the request the reply answers. */
    readonly echo?: EchoHeader,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface FrameHeader {
  readonly length: number;
  readonly op: number;
  readonly requestId: number;
  readonly status: number;
}

/** Writes a 16-byte header at `buf[0..16)`. */
export function writeHeader(buf: Buffer, length: number, op: number, requestId: number, status = 0, version = VERSION): void {
  buf.writeUInt32LE(length, 0);
  buf.writeUInt16LE(MAGIC, 4);
  buf.writeUInt8(version, 6);
  buf.writeUInt8(op, 7);
  buf.writeUInt32LE(requestId >>> 0, 8);
  buf.writeUInt16LE(status, 12);
  buf.writeUInt16LE(0, 14);
}

/**
 * Validates and reads a header; `maxFrame` bounds the announced length. Past a good magic the header
 * can be trusted enough to answer: its errors carry the request's op, id and version to echo.
 */
export function readHeader(buf: Buffer, maxFrame: number): FrameHeader {
  const length = buf.readUInt32LE(0);
  if (buf.readUInt16LE(4) !== MAGIC) throw new ProtocolError(Status.BAD_FRAME, 'bad magic (expected 0x4b42)');
  const version = buf.readUInt8(6);
  const op = buf.readUInt8(7);
  const requestId = buf.readUInt32LE(8);
  const echo = { op, requestId, version };
  if (version !== VERSION) {
    throw new ProtocolError(Status.BAD_VERSION, `KV protocol version ${version} is not supported: this side speaks version ${VERSION}; use the KV client of the agent's brixlet release`, echo);
  }
  if (length < HEADER_BYTES) throw new ProtocolError(Status.BAD_FRAME, `frame length ${length} is shorter than the header`, echo);
  if (length > maxFrame) throw new ProtocolError(Status.FRAME_TOO_LARGE, `frame length ${length} exceeds the limit of ${maxFrame} bytes`, echo);
  return { length, op, requestId, status: buf.readUInt16LE(12) };
}

/** Builds a whole frame: header + body. */
export function frame(op: number, requestId: number, body: Buffer | undefined, status = 0, version = VERSION): Buffer {
  const len = HEADER_BYTES + (body?.length ?? 0);
  const out = Buffer.allocUnsafe(len);
  writeHeader(out, len, op, requestId, status, version);
  if (body !== undefined) body.copy(out, HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into frames. Push socket chunks; complete frames come out in order.
 * A bad header throws ProtocolError (the caller replies and closes).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: FrameHeader | undefined;

  constructor(private readonly maxFrame: number) {}

  /** Bytes received but not yet returned as a frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Returns the next complete frame (header + body view) or undefined when more bytes are needed. */
  next(): { header: FrameHeader; body: Buffer } | undefined {
    if (this.header === undefined) {
      if (this.buffered < HEADER_BYTES) return undefined;
      this.header = readHeader(this.peek(HEADER_BYTES), this.maxFrame);
    }
    const h = this.header;
    if (this.buffered < h.length) return undefined;
    const whole = this.take(h.length);
    this.header = undefined;
    return { header: h, body: whole.subarray(HEADER_BYTES) };
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first;
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged;
  }

  private take(n: number): Buffer {
    const merged = this.peek(n);
    const out = merged.subarray(0, n);
    const rest = merged.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}

/** A bounds-checked little-endian reader over a frame body; every overrun is BAD_FRAME. */
export class BodyReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new ProtocolError(Status.BAD_FRAME, `truncated body: ${what} needs ${n} byte(s) at offset ${this.pos}, body has ${this.buf.length}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(Status.BAD_FRAME, `${what} too large`);
    return Number(v);
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** u8 length + UTF-8 text. */
  name(what: string): string {
    return this.bytes(this.u8(`${what} length`), what).toString('utf8');
  }
  /** u16 length + UTF-8 text. */
  text(what: string): string {
    return this.bytes(this.u16(`${what} length`), what).toString('utf8');
  }
  /** The body must be consumed exactly: trailing bytes are a malformed frame. */
  end(): void {
    if (this.pos !== this.buf.length) throw new ProtocolError(Status.BAD_FRAME, `${this.buf.length - this.pos} trailing byte(s) after the body`);
  }
}

// ───────────────────────────── bodies ─────────────────────────────

export interface HelloRequest {
  readonly namespace: string;
  /** Text (sent as UTF-8) or raw bytes; compared byte for byte. */
  readonly layout: string | Uint8Array;
  readonly blockSize: number;
}

/** A decoded HELLO: the namespace is valid UTF-8 (so its text names it exactly), the signature raw bytes. */
export interface HelloFields {
  readonly namespace: string;
  readonly layout: Buffer;
  readonly blockSize: number;
}

/** Bits of the HELLO reply's `features` field (reserved, 0, before LOOKUP_REMOTE was added). */
export const HelloFeature = {
  /** The shard serves LOOKUP_REMOTE (answered as a LOOKUP while the agent has no peers to fetch from). */
  REMOTE_READ: 1,
  /** The shard honours LOOKUP_REMOTE's flags (FETCH_ALL); a shard without this bit would read them as budget. */
  REMOTE_FETCH_ALL: 2,
} as const;

export interface HelloReply {
  readonly sessionId: number;
  readonly leaseTtlMs: number;
  readonly maxBatch: number;
  readonly maxFrame: number;
  readonly slotSize: number;
  readonly slabSize: number;
  readonly slabs: readonly string[];
  /** HelloFeature bits; 0 from a shard that predates them. */
  readonly features?: number;
}

/** One lease in LOOKUP and ALLOC replies. */
export interface LeaseRecord {
  readonly leaseId: number;
  readonly slab: number;
  readonly offset: number;
  readonly length: number;
  readonly status: number;
}

export interface AllocRequest {
  /** n × 16 bytes. */
  readonly keys: Buffer;
  readonly lengths: Uint32Array;
  readonly flags: number;
  readonly parent: Buffer | undefined;
}

function nameBytes(text: string | Uint8Array, what: string): Buffer {
  const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  if (b.length > MAX_NAME_BYTES) throw new ProtocolError(Status.BAD_HELLO, `${what} is ${b.length} bytes; at most ${MAX_NAME_BYTES}`);
  return b;
}

export function encodeHello(req: HelloRequest): Buffer {
  const ns = nameBytes(req.namespace, 'namespace');
  const sig = nameBytes(req.layout, 'layout signature');
  const out = Buffer.alloc(1 + ns.length + 1 + sig.length + 8);
  let p = out.writeUInt8(ns.length, 0);
  p += ns.copy(out, p);
  p = out.writeUInt8(sig.length, p);
  p += sig.copy(out, p);
  p = out.writeUInt32LE(req.blockSize, p);
  out.writeUInt32LE(0, p);
  return out;
}

/**
 * Strict UTF-8: an invalid byte is an error, never U+FFFD (two different byte strings would name the
 * same namespace), and a leading BOM is kept (else "\uFEFFa" and "a" would too).
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeHello(body: Buffer): HelloFields {
  const r = new BodyReader(body);
  const nsBytes = r.bytes(r.u8('namespace length'), 'namespace');
  // A copy: the body view is reused once the frame is handled, the namespace keeps its signature.
  const layout = Buffer.from(r.bytes(r.u8('layout signature length'), 'layout signature'));
  const blockSize = r.u32('block size');
  const flags = r.u32('flags');
  r.end();
  if (flags !== 0) throw new ProtocolError(Status.BAD_HELLO, `unknown HELLO flags 0x${flags.toString(16)} (version ${VERSION} defines none; send 0)`);
  let namespace: string;
  try {
    namespace = strictUtf8.decode(nsBytes);
  } catch {
    throw new ProtocolError(Status.BAD_HELLO, `namespace is not valid UTF-8 (hex ${nsBytes.toString('hex')})`);
  }
  return { namespace, layout, blockSize };
}

/** A layout signature for people: its text when it is valid UTF-8, else `hex:` and its bytes. */
export function layoutText(layout: Uint8Array): string {
  try {
    return strictUtf8.decode(layout);
  } catch {
    return `hex:${Buffer.from(layout.buffer, layout.byteOffset, layout.byteLength).toString('hex')}`;
  }
}

/**
 * The batch limit a shard announces: the configured one, lowered so that a full batch fits one frame
 * both ways (the largest is a LOOKUP/ALLOC reply, 20 + 24 n bytes; an ALLOC request with a parent is
 * 40 + 20 n). 0 when not even one item fits.
 */
export function maxBatchFor(maxFrame: number, configured: number): number {
  return Math.max(0, Math.min(configured, Math.floor((maxFrame - HEADER_BYTES - 8 - KEY_BYTES) / LEASE_RECORD_BYTES)));
}

export function encodeHelloReply(h: HelloReply): Buffer {
  const paths = h.slabs.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(32 + paths.reduce((n, p) => n + 2 + p.length, 0));
  let p = out.writeUInt32LE(h.sessionId, 0);
  p = out.writeUInt32LE(h.leaseTtlMs, p);
  p = out.writeUInt32LE(h.maxBatch, p);
  p = out.writeUInt32LE(h.maxFrame, p);
  p = out.writeUInt32LE(h.slotSize, p);
  p = out.writeUInt16LE(paths.length, p);
  p = out.writeUInt16LE(h.features ?? 0, p);
  p = out.writeBigUInt64LE(BigInt(h.slabSize), p);
  for (const path of paths) {
    p = out.writeUInt16LE(path.length, p);
    p += path.copy(out, p);
  }
  return out;
}

export function decodeHelloReply(body: Buffer): HelloReply {
  const r = new BodyReader(body);
  const sessionId = r.u32('session id');
  const leaseTtlMs = r.u32('lease ttl');
  const maxBatch = r.u32('max batch');
  const maxFrame = r.u32('max frame');
  const slotSize = r.u32('slot size');
  const count = r.u16('slab count');
  const features = r.u16('features');
  const slabSize = r.u64('slab size');
  const slabs: string[] = [];
  for (let i = 0; i < count; i++) slabs.push(r.text('slab path'));
  r.end();
  return { sessionId, leaseTtlMs, maxBatch, maxFrame, slotSize, slabSize, slabs, features };
}

/** LOOKUP and EXISTS requests: u32 n + n keys. `keys` may be one buffer of n × 16 bytes. */
export function encodeKeys(keys: Buffer): Buffer {
  if (keys.length % KEY_BYTES !== 0) throw new ProtocolError(Status.BAD_FRAME, `keys buffer is ${keys.length} bytes, not a multiple of ${KEY_BYTES}`);
  const out = Buffer.allocUnsafe(4 + keys.length);
  out.writeUInt32LE(keys.length / KEY_BYTES, 0);
  keys.copy(out, 4);
  return out;
}

/** Returns the n × 16-byte key block (a view into the body). */
export function decodeKeys(body: Buffer, maxBatch: number): Buffer {
  const r = new BodyReader(body);
  const n = r.u32('key count');
  if (n > maxBatch) throw new ProtocolError(Status.BATCH_TOO_LARGE, `${n} keys exceed the batch limit of ${maxBatch}`);
  const keys = r.bytes(n * KEY_BYTES, 'keys');
  r.end();
  return keys;
}

/** LOOKUP_REMOTE request flags (the u16 after the budget). */
export const LookupRemoteFlag = {
  /** Fetch every missing block that has a holder, whatever --kv.remote-min-blocks and --kv.remote-min-percent say. */
  FETCH_ALL: 1,
} as const;
const KNOWN_LOOKUP_REMOTE_FLAGS = LookupRemoteFlag.FETCH_ALL;

/**
 * The longest budget a LOOKUP_REMOTE names (ms): --kv.remote-budget-max is at most 1 min, and the
 * field is a u16. Clients send no more (the agent would cut it to its maximum anyway).
 */
export const MAX_REMOTE_BUDGET_MS = 60_000;

export interface LookupRemoteRequest {
  readonly keys: Buffer;
  /** 0 = the shard's --kv.remote-budget. */
  readonly budgetMs: number;
  /** LookupRemoteFlag bits. */
  readonly flags: number;
}

/** LOOKUP_REMOTE request: u32 n, u16 budget (ms, 0 = the shard's default, at most MAX_REMOTE_BUDGET_MS), u16 flags, n keys. */
export function encodeLookupRemote(keys: Buffer, budgetMs: number, flags = 0): Buffer {
  if (keys.length % KEY_BYTES !== 0) throw new ProtocolError(Status.BAD_FRAME, `keys buffer is ${keys.length} bytes, not a multiple of ${KEY_BYTES}`);
  const out = Buffer.allocUnsafe(8 + keys.length);
  out.writeUInt32LE(keys.length / KEY_BYTES, 0);
  out.writeUInt16LE(Math.max(0, Math.min(MAX_REMOTE_BUDGET_MS, Math.round(budgetMs))), 4);
  out.writeUInt16LE(flags & 0xffff, 6);
  keys.copy(out, 8);
  return out;
}

export function decodeLookupRemote(body: Buffer, maxBatch: number): LookupRemoteRequest {
  const r = new BodyReader(body);
  const n = r.u32('key count');
  if (n > maxBatch) throw new ProtocolError(Status.BATCH_TOO_LARGE, `${n} keys exceed the batch limit of ${maxBatch}`);
  const budgetMs = r.u16('budget');
  const flags = r.u16('flags');
  const keys = r.bytes(n * KEY_BYTES, 'keys');
  r.end();
  // A flag this shard does not know must never be silently ignored.
  const unknown = flags & ~KNOWN_LOOKUP_REMOTE_FLAGS;
  if (unknown !== 0) throw new ProtocolError(Status.BAD_FRAME, `unknown LOOKUP_REMOTE flags 0x${unknown.toString(16)}`);
  return { keys, budgetMs, flags };
}

/** LOOKUP_REMOTE reply: u32 hits, u32 of them fetched from other agents, hits lease records. */
export function decodeLookupRemoteReply(body: Buffer): { remote: number; records: LeaseRecord[] } {
  if (body.length < 8) throw new ProtocolError(Status.BAD_FRAME, `LOOKUP_REMOTE reply of ${body.length} bytes`);
  const remote = body.readUInt32LE(4);
  const rest = Buffer.allocUnsafe(body.length - 4);
  rest.writeUInt32LE(body.readUInt32LE(0), 0);
  body.copy(rest, 4, 8);
  return { remote, records: decodeLeaseRecords(rest) };
}

export function encodeAlloc(keys: Buffer, lengths: ArrayLike<number>, opts: { parent?: Buffer; independent?: boolean } = {}): Buffer {
  const n = keys.length / KEY_BYTES;
  if (!Number.isInteger(n) || lengths.length !== n) throw new ProtocolError(Status.BAD_FRAME, `ALLOC needs one length per 16-byte key (${keys.length} key bytes, ${lengths.length} lengths)`);
  const hasParent = opts.parent !== undefined;
  const out = Buffer.allocUnsafe(8 + (hasParent ? KEY_BYTES : 0) + n * (KEY_BYTES + 4));
  let p = out.writeUInt32LE(n, 0);
  p = out.writeUInt32LE((hasParent ? AllocFlag.PARENT : 0) | (opts.independent === true ? AllocFlag.INDEPENDENT : 0), p);
  if (opts.parent !== undefined) {
    if (opts.parent.length !== KEY_BYTES) throw new ProtocolError(Status.BAD_FRAME, 'parent key must be 16 bytes');
    p += opts.parent.copy(out, p);
  }
  for (let i = 0; i < n; i++) {
    p += keys.copy(out, p, i * KEY_BYTES, (i + 1) * KEY_BYTES);
    p = out.writeUInt32LE(lengths[i] ?? 0, p);
  }
  return out;
}

export function decodeAlloc(body: Buffer, maxBatch: number): AllocRequest {
  const r = new BodyReader(body);
  const n = r.u32('key count');
  if (n > maxBatch) throw new ProtocolError(Status.BATCH_TOO_LARGE, `${n} keys exceed the batch limit of ${maxBatch}`);
  const flags = r.u32('flags');
  if ((flags & ~(AllocFlag.PARENT | AllocFlag.INDEPENDENT)) !== 0) throw new ProtocolError(Status.BAD_FRAME, `unknown ALLOC flags 0x${flags.toString(16)}`);
  const parent = (flags & AllocFlag.PARENT) !== 0 ? r.bytes(KEY_BYTES, 'parent key') : undefined;
  const keys = Buffer.allocUnsafe(n * KEY_BYTES);
  const lengths = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    r.bytes(KEY_BYTES, 'key').copy(keys, i * KEY_BYTES);
    lengths[i] = r.u32('length');
  }
  r.end();
  return { keys, lengths, flags, parent };
}

/** LOOKUP reply (u32 hit count + records) and ALLOC reply (u32 n + records): the same shape. */
export function encodeLeaseRecords(count: number, fill: (out: Buffer, at: number, i: number) => void): Buffer {
  const out = Buffer.alloc(4 + count * LEASE_RECORD_BYTES);
  out.writeUInt32LE(count, 0);
  for (let i = 0; i < count; i++) fill(out, 4 + i * LEASE_RECORD_BYTES, i);
  return out;
}

export function writeLeaseRecord(out: Buffer, at: number, rec: LeaseRecord): void {
  out.writeUInt32LE(rec.leaseId >>> 0, at);
  out.writeUInt32LE(rec.slab, at + 4);
  // u64 as two u32 halves: no BigInt on the reply path (offsets stay below 2^53).
  out.writeUInt32LE(rec.offset % 0x1_0000_0000, at + 8);
  out.writeUInt32LE(Math.floor(rec.offset / 0x1_0000_0000), at + 12);
  out.writeUInt32LE(rec.length, at + 16);
  out.writeUInt8(rec.status, at + 20);
}

export function decodeLeaseRecords(body: Buffer): LeaseRecord[] {
  const r = new BodyReader(body);
  const n = r.u32('record count');
  const out: LeaseRecord[] = [];
  for (let i = 0; i < n; i++) {
    const leaseId = r.u32('lease id');
    const slab = r.u32('slab');
    const offset = r.u64('offset');
    const length = r.u32('length');
    const status = r.u8('status');
    r.bytes(3, 'padding');
    out.push({ leaseId, slab, offset, length, status });
  }
  r.end();
  return out;
}

/** SEAL, DROP, RELEASE requests: u32 n + n × u32 lease ids. */
export function encodeLeaseIds(ids: ArrayLike<number>): Buffer {
  const out = Buffer.allocUnsafe(4 + ids.length * 4);
  out.writeUInt32LE(ids.length, 0);
  for (let i = 0; i < ids.length; i++) out.writeUInt32LE((ids[i] ?? 0) >>> 0, 4 + i * 4);
  return out;
}

export function decodeLeaseIds(body: Buffer, maxBatch: number): Uint32Array {
  const r = new BodyReader(body);
  const n = r.u32('lease count');
  if (n > maxBatch) throw new ProtocolError(Status.BATCH_TOO_LARGE, `${n} leases exceed the batch limit of ${maxBatch}`);
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = r.u32('lease id');
  r.end();
  return ids;
}

/** SEAL, DROP, RELEASE replies: u32 n + n × u8 status, zero-padded to a multiple of 4. */
export function encodeItemStatuses(statuses: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + ((statuses.length + 3) & ~3));
  out.writeUInt32LE(statuses.length, 0);
  out.set(statuses, 4);
  return out;
}

export function decodeItemStatuses(body: Buffer): Uint8Array {
  const r = new BodyReader(body);
  const n = r.u32('status count');
  const s = Uint8Array.from(r.bytes(n, 'statuses'));
  r.bytes((4 - (n % 4)) % 4, 'padding');
  r.end();
  return s;
}

/** EXISTS reply: u32 hit length. */
export function encodeU32(v: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(v, 0);
  return out;
}

export function decodeU32(body: Buffer, what: string): number {
  const r = new BodyReader(body);
  const v = r.u32(what);
  r.end();
  return v;
}

/** STATS reply and error bodies: u32 length + UTF-8 JSON / u16 length + UTF-8 message. */
export function encodeJson(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  return out;
}

export function decodeJson(body: Buffer): unknown {
  const r = new BodyReader(body);
  const text = r.bytes(r.u32('json length'), 'json').toString('utf8');
  r.end();
  return JSON.parse(text) as unknown;
}

export function encodeError(message: string): Buffer {
  let m = Buffer.from(message, 'utf8');
  if (m.length > MAX_ERROR_BYTES) {
    // Cut at a character boundary: never at a UTF-8 continuation byte.
    let end = MAX_ERROR_BYTES;
    while (end > 0 && ((m[end] as number) & 0xc0) === 0x80) end--;
    m = m.subarray(0, end);
  }
  const out = Buffer.allocUnsafe(2 + m.length);
  out.writeUInt16LE(m.length, 0);
  m.copy(out, 2);
  return out;
}

export function decodeError(body: Buffer): string {
  if (body.length < 2) return '';
  const n = body.readUInt16LE(0);
  return body.subarray(2, 2 + n).toString('utf8');
}
