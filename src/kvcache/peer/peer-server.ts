/**
 * The peer listener (--kv.peer-port): other agents of the pool read this agent's sealed blocks.
 * A connection must finish the mutual handshake (HELLO, AUTH with the pair key) before any other op;
 * it is then bound to the pool it presented and reads only that pool's namespaces. MGET pins the
 * blocks it sends (read pins, so eviction cannot reuse a slot mid-send), writes the reply header
 * and the block bytes straight from the slab mapping in one corked batch, and unpins when the write
 * completed or the connection closed. PUBLISH and DIRECTORY_LOOKUP reach the presented pool's
 * directory store (server-directory.ts). Bad input gets one error frame; a closing status ends only
 * that connection.
 */
import { type Server, type Socket, createServer } from 'node:net';
import type { Logger } from '../../common/logger.js';
import type { MembershipSource } from '../membership.js';
import { type HandshakeContext, handshakeProof, newNonce, proofMatches } from './handshake.js';
import { type PeerMetrics, noopPeerMetrics } from './peer-metrics.js';
import { directoryReply } from './server-directory.js';
import { PeerConnection, type PeerPool, type Sending } from './server-connection.js';
import {
  DEFAULT_PEER_LIMITS,
  EchoError,
  MGET_RECORD_BYTES,
  PEER_CLOSING_STATUSES,
  PEER_HEADER_BYTES,
  PEER_REPLY_BIT,
  PREFIX_FLAG,
  type PeerHeader,
  PeerItem,
  type PeerLimits,
  PeerOp,
  PeerProtocolError,
  PeerStatus,
  decodeMexists,
  decodeMget,
  decodePeerAuth,
  decodePeerHello,
  encodePeerChallenge,
  encodePeerError,
  encodePeerLimits,
  peerFrame,
  peerOpName,
  peerStatusName,
  writePeerHeader,
} from './peer-protocol.js';

export type { PeerPool } from './server-connection.js';

export interface PeerServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly membership: MembershipSource;
  /** Pool name → pool. */
  readonly pools: ReadonlyMap<string, PeerPool>;
  readonly limits?: Partial<PeerLimits>;
  /** Connections open at once, authenticated or not (default 256). */
  readonly maxConnections?: number;
  /** Authenticated connections one peer node may hold (default 8). */
  readonly maxConnectionsPerPeer?: number;
  /** HELLO + AUTH must finish within this (default 5 s), else the connection is closed. */
  readonly handshakeTimeoutMs?: number;
  /** No request and no reply in flight for this long closes the connection (default 5 min; 0 = never). */
  readonly idleTimeoutMs?: number;
  /** A reply not written out within this closes the connection and unpins its blocks (default 30 s). */
  readonly sendTimeoutMs?: number;
  /** The directory's clock (entry expiry), ms; default Date.now. */
  readonly clock?: () => number;
}

/** Bytes of replies queued on one socket before the server stops reading requests from it. */
const WRITE_HIGH_WATER = 64 * 1024 * 1024;
const KNOWN_OPS: ReadonlySet<number> = new Set(Object.values(PeerOp));

export class PeerServer {
  private readonly server: Server;
  private readonly conns = new Set<PeerConnection>();
  private readonly readyByNode = new Map<string, number>();
  private readonly limits: PeerLimits;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private unregister: () => void = () => undefined;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly opts: PeerServerOptions,
    private readonly log: Logger,
    private readonly metrics: PeerMetrics = noopPeerMetrics,
  ) {
    this.limits = { ...DEFAULT_PEER_LIMITS, ...opts.limits };
    this.server = createServer({ allowHalfOpen: false, noDelay: true }, (s) => this.accept(s));
  }

  get connections(): { handshake: number; ready: number } {
    let ready = 0;
    for (const c of this.conns) if (c.phase === 'ready') ready++;
    return { handshake: this.conns.size - ready, ready };
  }

  /** Read pins held by replies being written (0 when every send finished or its connection closed). */
  get pinsHeld(): number {
    let n = 0;
    for (const c of this.conns) for (const s of c.sending) for (const id of s.ids) if (id >= 0) n++;
    return n;
  }

  /** The bound address (after listen()). */
  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('peer server is not listening');
    return { host: a.address, port: a.port };
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        // Listener errors after start are logged; they never reach the engine socket or the process.
        this.server.on('error', (err) => this.log.error({ err }, 'kv peer listener error'));
        this.timer = setInterval(() => this.sweep(), 1000);
        this.timer.unref();
        this.unregister = this.metrics.connections(() => this.connections);
        this.unsubscribe = this.opts.membership.onChange((m) => {
          // A peer that left the pool, or whose pair key was replaced, is no longer authenticated.
          for (const c of this.conns) if (c.key !== undefined && m.pairKeys.get(c.node)?.equals(c.key) !== true) c.socket.destroy();
        });
        resolve();
      });
    });
  }

  /** Closes connections past their handshake, idle or send deadlines (also run by a timer). */
  sweep(now = Date.now()): void {
    const hs = this.opts.handshakeTimeoutMs ?? 5_000;
    const idle = this.opts.idleTimeoutMs ?? 300_000;
    const send = this.opts.sendTimeoutMs ?? 30_000;
    for (const c of this.conns) {
      let oldest = Infinity;
      for (const s of c.sending) oldest = Math.min(oldest, s.since);
      const late =
        (c.closing && now - c.closingAt >= hs) ||
        (c.phase !== 'ready' && now - c.acceptedAt >= hs) ||
        (idle > 0 && c.sending.size === 0 && now - c.lastActive >= idle) ||
        (c.sending.size > 0 && now - oldest >= send);
      if (late) c.socket.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.unregister();
    this.unsubscribe();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) this.fail(c, 0, PEER_REPLY_BIT, PeerStatus.SHUTTING_DOWN, 'the agent is stopping');
    // A peer that does not read its SHUTTING_DOWN frame must not hold the close up.
    const cut = setTimeout(() => {
      for (const c of this.conns) c.socket.destroy();
    }, 2_000);
    cut.unref();
    await done;
    clearTimeout(cut);
  }

  private accept(socket: Socket): void {
    const c = new PeerConnection(socket, this.limits);
    socket.on('error', () => undefined);
    socket.on('close', () => this.drop(c));
    if (this.closed || this.conns.size >= (this.opts.maxConnections ?? 256)) {
      c.closing = true;
      const status = this.closed ? PeerStatus.SHUTTING_DOWN : PeerStatus.TOO_MANY_CONNECTIONS;
      socket.end(peerFrame(PEER_REPLY_BIT, 0, encodePeerError(this.closed ? 'the agent is stopping' : `${this.conns.size} peer connections open (the limit)`), { status }));
      // Not counted in conns, so not swept: a peer that never reads the frame is cut off here.
      socket.setTimeout(this.opts.handshakeTimeoutMs ?? 5_000, () => socket.destroy());
      return;
    }
    this.conns.add(c);
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    socket.on('drain', () => {
      if (!c.closing) socket.resume();
    });
  }

  private drop(c: PeerConnection): void {
    if (!this.conns.delete(c)) return;
    for (const s of c.sending) this.unpin(c, s);
    c.sending.clear();
    if (c.phase === 'ready') {
      const n = (this.readyByNode.get(c.node) ?? 1) - 1;
      if (n <= 0) this.readyByNode.delete(c.node);
      else this.readyByNode.set(c.node, n);
    }
  }

  private unpin(c: PeerConnection, s: Sending): void {
    const shard = c.pool?.shard;
    if (shard === undefined) return;
    for (let i = 0; i < s.ids.length; i++) {
      const id = s.ids[i] as number;
      if (id >= 0) {
        shard.unpin(id);
        s.ids[i] = -1;
      }
    }
  }

  private onData(c: PeerConnection, chunk: Buffer): void {
    if (c.closing) return;
    c.lastActive = Date.now();
    c.push(chunk);
    for (;;) {
      let req: { header: PeerHeader; body: Buffer } | undefined;
      try {
        req = c.next();
      } catch (err) {
        if (err instanceof EchoError) this.fail(c, err.header.requestId, err.header.op | PEER_REPLY_BIT, err.status, err.message);
        else if (err instanceof PeerProtocolError) this.fail(c, 0, PEER_REPLY_BIT, err.status, err.message);
        else throw err;
        return;
      }
      if (req === undefined) return;
      this.handle(c, req.header, req.body);
      if (c.closing) return;
    }
  }

  private handle(c: PeerConnection, h: PeerHeader, body: Buffer): void {
    const op = h.op;
    try {
      if (!KNOWN_OPS.has(op)) throw new PeerProtocolError(PeerStatus.UNKNOWN_OP, `unknown op 0x${op.toString(16)}`);
      const expected = c.phase === 'hello' ? PeerOp.HELLO : c.phase === 'auth' ? PeerOp.AUTH : undefined;
      if (expected !== undefined && op !== expected) throw new PeerProtocolError(PeerStatus.NO_AUTH, `${peerOpName(op)} before the handshake finished (expected ${peerOpName(expected)})`);
      if (expected === undefined && (op === PeerOp.HELLO || op === PeerOp.AUTH)) throw new PeerProtocolError(PeerStatus.BAD_FRAME, `${peerOpName(op)} after the handshake`);
      switch (op) {
        case PeerOp.HELLO:
          return this.hello(c, h, body);
        case PeerOp.AUTH:
          return this.auth(c, h, body);
        case PeerOp.PING:
          if (body.length !== 0 || h.count !== 0) throw new PeerProtocolError(PeerStatus.BAD_FRAME, 'PING has no body');
          return this.reply(c, h, undefined, 0);
        case PeerOp.MEXISTS:
          return this.mexists(c, h, body);
        case PeerOp.MGET:
          return this.mget(c, h, body);
        case PeerOp.PUBLISH:
        case PeerOp.DIRECTORY_LOOKUP:
          return this.reply(c, h, directoryReply({ store: c.pool?.directory, pool: c.poolName, node: c.node, maxBatch: this.limits.maxBatch, now: (this.opts.clock ?? Date.now)() }, h, body), h.count);
        default:
          throw new PeerProtocolError(PeerStatus.UNKNOWN_OP, `unknown op 0x${op.toString(16)}`);
      }
    } catch (err) {
      if (err instanceof PeerProtocolError) return this.fail(c, h.requestId, op | PEER_REPLY_BIT, err.status, err.message);
      this.log.error({ err, op: peerOpName(op), peer: c.node }, 'kv peer: internal error');
      return this.fail(c, h.requestId, op | PEER_REPLY_BIT, PeerStatus.INTERNAL, 'internal error (logged by the serving agent)');
    }
  }

  private hello(c: PeerConnection, h: PeerHeader, body: Buffer): void {
    const hello = decodePeerHello(body);
    const m = this.opts.membership.current();
    const key = m.pairKeys.get(hello.node);
    // An unknown node and a wrong key read the same, so a prober learns nothing about the members.
    if (key === undefined || hello.node === m.self) throw new PeerProtocolError(PeerStatus.AUTH_FAILED, 'peer authentication failed');
    const nonceS = newNonce();
    c.ctx = { client: hello.node, server: m.self, pool: hello.pool, nonceC: hello.nonce, nonceS };
    c.node = hello.node;
    c.poolName = hello.pool;
    c.phase = 'auth';
    this.reply(c, h, encodePeerChallenge({ node: m.self, nonce: nonceS, proof: handshakeProof(key, 'server', c.ctx) }), 0);
  }

  private auth(c: PeerConnection, h: PeerHeader, body: Buffer): void {
    const proof = decodePeerAuth(body);
    const ctx = c.ctx as HandshakeContext;
    // Re-read: a key rotated (or a member removed) between HELLO and AUTH fails the proof.
    const key = this.opts.membership.current().pairKeys.get(c.node);
    if (key === undefined || !proofMatches(handshakeProof(key, 'client', ctx), proof)) throw new PeerProtocolError(PeerStatus.AUTH_FAILED, 'peer authentication failed');
    const pool = this.opts.pools.get(c.poolName);
    if (pool === undefined) throw new PeerProtocolError(PeerStatus.UNKNOWN_POOL, `this agent has no pool ${JSON.stringify(c.poolName)}`);
    const held = this.readyByNode.get(c.node) ?? 0;
    const max = this.opts.maxConnectionsPerPeer ?? 8;
    if (held >= max) throw new PeerProtocolError(PeerStatus.TOO_MANY_CONNECTIONS, `peer ${c.node} already holds ${held} connections (the limit)`);
    this.readyByNode.set(c.node, held + 1);
    c.key = key;
    c.pool = pool;
    c.phase = 'ready';
    this.reply(c, h, encodePeerLimits(this.limits), 0);
  }

  private mexists(c: PeerConnection, h: PeerHeader, body: Buffer): void {
    const req = decodeMexists(body, h.count, this.limits.maxBatch);
    const pool = c.pool as PeerPool;
    const out = Buffer.alloc(h.count, PeerItem.MISSING);
    const ns = req.namespace === undefined ? undefined : pool.shard.namespaceNamed(req.namespace);
    if (ns !== undefined && h.count > 0) {
      const ids = new Int32Array(h.count);
      pool.shard.findEach(ns, req.keys, ids, (h.flags & PREFIX_FLAG) !== 0, false);
      for (let i = 0; i < h.count; i++) if ((ids[i] as number) >= 0) out[i] = PeerItem.FOUND;
    }
    this.reply(c, h, out, h.count);
  }

  private mget(c: PeerConnection, h: PeerHeader, body: Buffer): void {
    const req = decodeMget(body, h.count, this.limits);
    const pool = c.pool as PeerPool;
    const shard = pool.shard;
    const n = h.count;
    const ids = new Int32Array(n).fill(-1);
    const ns = req.namespace === undefined ? undefined : shard.namespaceNamed(req.namespace);
    if (ns !== undefined && n > 0) shard.findEach(ns, req.keys, ids, (h.flags & PREFIX_FLAG) !== 0, true);
    const head = Buffer.alloc(PEER_HEADER_BYTES + n * MGET_RECORD_BYTES);
    let payload = 0;
    let found = 0;
    for (let i = 0; i < n; i++) {
      const id = ids[i] as number;
      const at = PEER_HEADER_BYTES + i * MGET_RECORD_BYTES;
      if (id < 0) {
        head[at] = PeerItem.MISSING;
        continue;
      }
      const len = shard.index.length[id] as number;
      if (len > (req.maxLengths[i] as number)) {
        head[at] = PeerItem.TOO_LONG;
        shard.unpin(id);
        ids[i] = -1;
        continue;
      }
      head[at] = PeerItem.FOUND;
      head.writeUInt32LE(len, at + 4);
      payload += len;
      found++;
    }
    writePeerHeader(head, { bodyLength: n * MGET_RECORD_BYTES, op: h.op | PEER_REPLY_BIT, requestId: h.requestId, status: 0, flags: 0, count: n, payloadLength: payload });
    const sock = c.socket;
    let last = -1;
    for (let i = 0; i < n; i++) if ((ids[i] as number) >= 0) last = i;
    if (last < 0) {
      sock.write(head);
    } else {
      const s: Sending = { ids, since: Date.now() };
      c.sending.add(s);
      // Writes complete in order: the last one's callback means every block of this reply went out.
      // On an error the pins stay until 'close', when the socket can no longer touch the memory.
      const done = (err?: Error | null): void => {
        if ((err === undefined || err === null) && c.sending.delete(s)) this.unpin(c, s);
      };
      sock.cork();
      sock.write(head);
      for (let i = 0; i <= last; i++) {
        const id = ids[i] as number;
        if (id < 0) continue;
        const where = shard.allocator.where(shard.index.slot[id] as number);
        const view = pool.slab(where.slab);
        // A Buffer over the mapping: the kernel copies straight from the slab, no Buffer copy here.
        const bytes = Buffer.from(view.buffer, view.byteOffset + where.offset, shard.index.length[id] as number);
        if (i === last) sock.write(bytes, done);
        else sock.write(bytes);
      }
      sock.uncork();
    }
    this.metrics.bytes('sent', payload);
    this.metrics.blocks('sent', found);
    pool.remote?.served(found, payload);
    this.metrics.request('MGET', 'OK');
    if (sock.writableLength > WRITE_HIGH_WATER) sock.pause();
  }

  private reply(c: PeerConnection, h: PeerHeader, body: Buffer | undefined, count: number): void {
    c.socket.write(peerFrame(h.op | PEER_REPLY_BIT, h.requestId, body, { count }));
    this.metrics.request(peerOpName(h.op), 'OK');
  }

  /** One error frame; a closing status then ends the connection (requests after it are never answered). */
  private fail(c: PeerConnection, requestId: number, op: number, status: number, message: string): void {
    this.metrics.request(peerOpName(op), peerStatusName(status));
    const f = peerFrame(op, requestId, encodePeerError(message), { status });
    if (!PEER_CLOSING_STATUSES.has(status)) {
      c.socket.write(f);
      return;
    }
    if (status !== PeerStatus.SHUTTING_DOWN) this.log.debug({ peer: c.node, status: peerStatusName(status), message }, 'kv peer connection closed');
    c.closing = true;
    c.closingAt = Date.now();
    c.socket.end(f);
    c.socket.destroySoon();
  }
}
