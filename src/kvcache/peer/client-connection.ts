/**
 * One persistent, authenticated connection of the peer client (peer-client.ts): the handshake, request
 * ids, and the reply reader that lands MGET block bytes straight in the caller's views.
 *
 * Block bytes go straight into the caller's destination views: the socket reads with `onread` and a
 * buffer callback that hands Node exactly the next bytes' home — the 24-byte header scratch, the
 * reply body, or `dests[i]` at the block's offset. Every read is sized to the bytes still expected
 * in that place, so a read never spills into the next frame and no payload byte is copied in
 * JavaScript. (The other choice, copying from received chunks, costs one memcpy per byte.) Node asks
 * for the next read's buffer right after the previous read, so a view may be registered while no
 * data is flowing: when an MGET's deadline passes while its view is registered, the connection is
 * destroyed (reading stops at once); a reply not yet reached is read into a discard scratch.
 * While block bytes are expected the socket's receive low-water mark is raised to the bytes still
 * expected, at most LOW_WATER_MAX (receive-low-water.ts): the kernel wakes the reader once per that
 * many bytes instead of once per arriving segment, which saves CPU on both ends of a large reply. It
 * never exceeds what the reply still owes, so the last bytes always wake the reader; it is 1 for
 * headers and records.
 */
import { connect, type Socket } from 'node:net';
import type { MembershipSource } from '../membership.js';
import { handshakeProof, newNonce, proofMatches, type HandshakeContext } from './handshake.js';
import type { PeerMetrics } from './peer-metrics.js';
import { setReceiveLowWater } from './receive-low-water.js';
import {
  DEFAULT_PEER_LIMITS,
  MGET_RECORD_BYTES,
  PEER_HEADER_BYTES,
  PEER_MAGIC,
  PEER_REPLY_BIT,
  PEER_VERSION,
  type PeerHeader,
  PeerItem,
  type PeerLimits,
  PeerOp,
  PeerStatus,
  decodePeerChallenge,
  decodePeerError,
  decodePeerLimits,
  encodePeerHello,
  peerFrame,
  peerHeaderFields,
  peerStatusName,
} from './peer-protocol.js';
import type { MgetResult } from './transport.js';

export type PeerErrorCode = 'DEADLINE' | 'CLOSED' | 'AUTH' | 'STATUS' | 'PROTOCOL' | 'NO_PEER';

export class PeerError extends Error {
  constructor(
    readonly code: PeerErrorCode,
    message: string,
    /** The frame status, for code STATUS. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

export interface PeerClientOptions {
  /** This agent's node name. */
  readonly self: string;
  /** The pool this agent reads from (it may read only that pool's namespaces on the peer). */
  readonly pool: string;
  readonly membership: MembershipSource;
  /** Persistent connections per peer (default 2). */
  readonly connectionsPerPeer?: number;
  /** Per-call deadline in ms, connecting and handshaking included (default 5 s). */
  readonly deadlineMs?: number;
  /**
   * A connection on which nothing arrived from sending a call until this long after the call's
   * deadline is closed as stalled (a partition drops packets without a reset), ms (default 2 s).
   */
  readonly stallMs?: number;
  /** Largest reply body accepted (default 1 MiB + MGET records of a full batch). */
  readonly maxFrame?: number;
  readonly metrics?: PeerMetrics;
}

export interface Reply {
  readonly header: PeerHeader;
  readonly body: Buffer;
  readonly result?: MgetResult;
}

export interface Pending {
  readonly op: number;
  readonly resolve: (r: Reply) => void;
  readonly reject: (e: Error) => void;
  /** MGET: where each block goes. */
  readonly dests?: readonly Uint8Array[];
  result?: MgetResult;
  abandoned: boolean;
  timer?: NodeJS.Timeout;
}

const DISCARD = Buffer.allocUnsafe(256 * 1024);
/**
 * Largest receive low-water mark while block bytes are expected. On loopback (2 cores) it cut the
 * serving agent's CPU per GB by about 6 % and added 0–7 % GB/s; marks of 512 KiB and more made the
 * sender stall: the kernel clamps the receive window to the mark when it grows the buffer for it.
 */
export const LOW_WATER_MAX = 128 * 1024;

type ReadState = 'header' | 'body' | 'payload';

export class ClientConnection {
  readonly socket: Socket;
  readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private state: ReadState = 'header';
  private readonly headerBuf = Buffer.allocUnsafe(PEER_HEADER_BYTES);
  private got = 0;
  private header: PeerHeader | undefined;
  private body: Buffer = Buffer.alloc(0);
  private current: Pending | undefined;
  /** Payload cursor: item index, bytes of it written, bytes of the whole payload left. */
  private item = 0;
  private itemGot = 0;
  private payloadLeft = 0;
  /** The view handed to Node for the next read belongs to this pending (MGET deadline, see top). */
  private registeredFor: Pending | undefined;
  /** The next read goes to the discard scratch (a reply nobody waits for any more). */
  private discarding = false;
  /** The socket's receive low-water mark as last set (1: the kernel's default). */
  private lowWaterNow = 1;
  private lowWaterOff = false;
  readonly ready: Promise<void>;
  limits: PeerLimits = DEFAULT_PEER_LIMITS;
  authenticated = false;
  dead: Error | undefined;
  /** The pair key this connection authenticated with. */
  key: Buffer | undefined;

  constructor(
    host: string,
    port: number,
    private readonly peer: string,
    private readonly opts: PeerClientOptions,
    private readonly metrics: PeerMetrics,
    onGone: () => void,
  ) {
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: () => this.nextBuffer(), callback: (n: number) => this.onRead(n) },
    });
    this.socket.on('error', (err) => this.die(new PeerError('CLOSED', `peer ${peer} (${host}:${port}): ${err.message}`)));
    this.socket.on('close', () => {
      this.die(new PeerError('CLOSED', `peer ${peer} closed the connection`));
      onGone();
    });
    this.ready = this.handshake();
    this.ready.catch(() => undefined);
  }

  private async handshake(): Promise<void> {
    const m = this.opts.membership.current();
    const key = m.pairKeys.get(this.peer);
    if (key === undefined) throw new PeerError('NO_PEER', `no pair key for peer ${this.peer} (not in the membership)`);
    this.key = key;
    const nonceC = newNonce();
    const challenge = decodePeerChallenge((await this.call(PeerOp.HELLO, encodePeerHello({ node: m.self, pool: this.opts.pool, nonce: nonceC }))).body);
    const ctx: HandshakeContext = { client: m.self, server: this.peer, pool: this.opts.pool, nonceC, nonceS: challenge.nonce };
    if (challenge.node !== this.peer || !proofMatches(handshakeProof(key, 'server', ctx), challenge.proof)) {
      const err = new PeerError('AUTH', `peer ${this.peer} failed to prove the pair key (answered as ${challenge.node})`);
      this.die(err);
      this.socket.destroy();
      throw err;
    }
    this.limits = decodePeerLimits((await this.call(PeerOp.AUTH, handshakeProof(key, 'client', ctx))).body);
    this.authenticated = true;
  }

  get load(): number {
    return this.pending.size;
  }

  /** Sends one request; the reply resolves (status OK) or rejects. */
  send(op: number, body: Buffer, o: { count?: number; flags?: number; dests?: readonly Uint8Array[] }): { pending?: Pending; reply: Promise<Reply> } {
    if (this.dead !== undefined) return { reply: Promise.reject(this.dead) };
    let id = this.nextId;
    while (id === 0 || this.pending.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    let pending: Pending | undefined;
    const reply = new Promise<Reply>((resolve, reject) => {
      pending = { op, resolve, reject, abandoned: false, ...(o.dests !== undefined ? { dests: o.dests } : {}) };
      this.pending.set(id, pending);
      this.socket.write(peerFrame(op, id, body, { count: o.count ?? 0, flags: o.flags ?? 0 }));
    });
    return { ...(pending !== undefined ? { pending } : {}), reply };
  }

  private call(op: number, body: Buffer): Promise<Reply> {
    return this.send(op, body, {}).reply;
  }

  /** The caller gave up (deadline): its views are never written to again. */
  abandon(p: Pending): void {
    p.abandoned = true;
    if (this.registeredFor === p) this.socket.destroy();
  }

  private nextBuffer(): Uint8Array {
    this.registeredFor = undefined;
    this.discarding = false;
    this.lowWater(this.state === 'payload' ? Math.min(this.payloadLeft, LOW_WATER_MAX) : 1);
    if (this.state === 'header') return this.headerBuf.subarray(this.got);
    if (this.state === 'body') return this.body.subarray(this.got);
    const p = this.current;
    const result = p?.result;
    if (p === undefined || p.abandoned || result === undefined || p.dests === undefined) {
      this.discarding = true;
      return DISCARD.subarray(0, Math.min(DISCARD.length, this.payloadLeft));
    }
    const dest = p.dests[this.item] as Uint8Array;
    this.registeredFor = p;
    return dest.subarray(this.itemGot, result.lengths[this.item]);
  }

  /** Sets the receive low-water mark when it changes; once refused (no fd, not Linux) it is not tried again. */
  private lowWater(bytes: number): void {
    const want = Math.max(1, bytes);
    // Node asks for the first buffer while connect() is still building the socket.
    if (want === this.lowWaterNow || this.lowWaterOff || this.socket === undefined) return;
    if (setReceiveLowWater(this.socket, want)) this.lowWaterNow = want;
    else this.lowWaterOff = true;
  }

  private onRead(n: number): boolean {
    try {
      this.consume(n);
    } catch (err) {
      this.die(err instanceof PeerError ? err : new PeerError('PROTOCOL', String(err)));
      this.socket.destroy();
      return false;
    }
    return true;
  }

  private consume(n: number): void {
    if (this.state === 'header') {
      this.got += n;
      if (this.got < PEER_HEADER_BYTES) return;
      this.got = 0;
      const h = this.readHeader();
      this.header = h;
      this.current = this.pending.get(h.requestId);
      this.body = Buffer.allocUnsafe(h.bodyLength);
      this.state = 'body';
      if (h.bodyLength === 0) this.bodyDone();
      return;
    }
    if (this.state === 'body') {
      this.got += n;
      if (this.got === this.body.length) {
        this.got = 0;
        this.bodyDone();
      }
      return;
    }
    // payload
    this.payloadLeft -= n;
    const lengths = this.current?.result?.lengths;
    if (!this.discarding && lengths !== undefined) {
      this.metrics.bytes('received', n);
      this.itemGot += n;
      if (this.itemGot === lengths[this.item]) {
        this.itemGot = 0;
        this.item++;
        while (this.item < lengths.length && lengths[this.item] === 0) this.item++;
      }
    }
    if (this.payloadLeft === 0) this.finish();
  }

  private readHeader(): PeerHeader {
    const b = this.headerBuf;
    if (b.readUInt16LE(4) !== PEER_MAGIC || b.readUInt8(6) !== PEER_VERSION) throw new PeerError('PROTOCOL', `peer ${this.peer} sent a frame that is not peer protocol version ${PEER_VERSION}`);
    const h = peerHeaderFields(b);
    const max = this.opts.maxFrame ?? (1 << 20) + 65536 * MGET_RECORD_BYTES;
    if (PEER_HEADER_BYTES + h.bodyLength > max) throw new PeerError('PROTOCOL', `peer ${this.peer} sent a ${h.bodyLength}-byte body, above ${max}`);
    if (h.requestId !== 0 && !this.pending.has(h.requestId)) throw new PeerError('PROTOCOL', `peer ${this.peer} answered request ${h.requestId}, which is not pending`);
    return h;
  }

  private bodyDone(): void {
    const h = this.header as PeerHeader;
    const p = this.current;
    if (h.status !== PeerStatus.OK || h.requestId === 0) {
      if (h.payloadLength !== 0) throw new PeerError('PROTOCOL', `peer ${this.peer} sent a payload with an error reply`);
      const err = new PeerError('STATUS', `peer ${this.peer}: ${peerStatusName(h.status)}: ${decodePeerError(this.body)}`, h.status);
      if (h.requestId === 0) {
        // Unsolicited: this connection is over.
        this.die(err);
        this.socket.destroy();
        return;
      }
      this.pending.delete(h.requestId);
      p?.reject(err);
      this.state = 'header';
      return;
    }
    if (p === undefined) throw new PeerError('PROTOCOL', `reply to unknown request ${h.requestId}`);
    if (h.op !== (p.op | PEER_REPLY_BIT)) throw new PeerError('PROTOCOL', `peer ${this.peer} answered op 0x${p.op.toString(16)} with op 0x${h.op.toString(16)}`);
    if (p.op === PeerOp.MGET) {
      const n = p.dests?.length ?? 0;
      if (h.count !== n || this.body.length !== n * MGET_RECORD_BYTES) throw new PeerError('PROTOCOL', `MGET reply of ${h.count} records for ${n} keys`);
      const status = new Uint8Array(n);
      const lengths = new Uint32Array(n);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const st = this.body[i * MGET_RECORD_BYTES] as number;
        const len = this.body.readUInt32LE(i * MGET_RECORD_BYTES + 4);
        if (st !== PeerItem.FOUND && st !== PeerItem.MISSING && st !== PeerItem.TOO_LONG) throw new PeerError('PROTOCOL', `MGET item status ${st}`);
        if (st === PeerItem.FOUND && (len === 0 || len > ((p.dests as readonly Uint8Array[])[i] as Uint8Array).length)) throw new PeerError('PROTOCOL', `MGET item ${i}: ${len} bytes for a view of ${((p.dests as readonly Uint8Array[])[i] as Uint8Array).length}`);
        if (st !== PeerItem.FOUND && len !== 0) throw new PeerError('PROTOCOL', `MGET item ${i}: length without a block`);
        status[i] = st;
        lengths[i] = len;
        sum += len;
      }
      if (sum !== h.payloadLength) throw new PeerError('PROTOCOL', `MGET payload of ${h.payloadLength} bytes, records say ${sum}`);
      p.result = { status, lengths };
      if (sum > 0) {
        this.item = 0;
        while (lengths[this.item] === 0) this.item++;
        this.itemGot = 0;
        this.payloadLeft = sum;
        this.state = 'payload';
        return;
      }
    } else if (h.payloadLength !== 0) throw new PeerError('PROTOCOL', `payload in a ${p.op} reply`);
    this.finish();
  }

  private finish(): void {
    const h = this.header as PeerHeader;
    const p = this.current;
    this.state = 'header';
    this.current = undefined;
    this.registeredFor = undefined;
    if (p === undefined) return;
    this.pending.delete(h.requestId);
    p.resolve({ header: h, body: this.body, ...(p.result !== undefined ? { result: p.result } : {}) });
  }

  die(err: Error): void {
    if (this.dead !== undefined) return;
    this.dead = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

