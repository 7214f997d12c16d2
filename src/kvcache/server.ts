/**
 * The lease server: the unix socket engines connect to. Decodes frames (protocol.ts), applies them to
 * the shard, keeps each connection's leases, expires them, and answers bad input with a status (closing
 * the connection when the stream can no longer be trusted). Other connections are never affected.
 */
import { chmodSync, lchownSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { BrixletError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { agentUid } from '../common/safe-fs.js';
import { type PoolAccess, admissionProblem } from './admission.js';
import { LeaseTable } from './leases.js';
import type { KvMetricsSink } from './metrics.js';
import {
  CLOSING_STATUSES,
  FrameReader,
  HEADER_BYTES,
  HelloFeature,
  ItemStatus,
  LookupRemoteFlag,
  Op,
  ProtocolError,
  REPLY_BIT,
  Status,
  decodeAlloc,
  decodeHello,
  decodeKeys,
  decodeLeaseIds,
  decodeLookupRemote,
  encodeError,
  encodeHelloReply,
  encodeItemStatuses,
  encodeJson,
  encodeLeaseRecords,
  encodeU32,
  frame,
  maxBatchFor,
  statusName,
  writeLeaseRecord,
} from './protocol.js';
import { type PeerCred, readPeerCred } from './peer-cred.js';
import type { RemoteReader } from './remote-read.js';
import type { KvShard, Namespace } from './shard.js';

export interface LeaseServerOptions {
  readonly socketPath: string;
  readonly slabPaths: readonly string[];
  readonly slabSize: number;
  readonly leaseTtlMs: number;
  readonly maxBatch: number;
  readonly maxFrame: number;
  readonly maxLeases: number;
  readonly maxWriteLeases: number;
  readonly maxWritingBytes: number;
  /** 0 = connections never time out. */
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  /** Shard summary for STATS (the service adds socket/dir/slab fields). */
  readonly summary: () => object;
  /** Who may connect (SO_PEERCRED); default: root, the agent's uid and the agent's group. */
  readonly access?: PoolAccess;
  /** Connections one peer uid may hold; default --kv.max-connections. */
  readonly maxConnectionsPerUid?: number;
  /** Group of the socket file (0660); default the agent's effective gid. */
  readonly socketGroup?: number;
  /** How the peer is identified (tests inject one); default SO_PEERCRED. */
  readonly peerCred?: (socket: Socket) => PeerCred | undefined;
}

/** Refused peers are logged at most this often (a refused client may reconnect in a loop). */
const REFUSAL_LOG_EVERY_MS = 10_000;

/** Ops refused while draining: they would start work (take leases or bind a namespace). */
const STARTING_OPS: ReadonlySet<number> = new Set([Op.HELLO, Op.LOOKUP, Op.EXISTS, Op.ALLOC, Op.LOOKUP_REMOTE]);

/** Bytes of replies queued on one socket before the server stops reading from it. */
const WRITE_HIGH_WATER = 8 * 1024 * 1024;

class Connection {
  ns: Namespace | undefined;
  readonly reader: FrameReader;
  readonly leases: LeaseTable;
  closing = false;
  /** A LOOKUP_REMOTE is fetching: later frames wait in the reader (replies stay in request order). */
  busy = false;
  /** When the last bytes arrived (the idle timeout counts from here). */
  lastActive = Date.now();

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly peer: PeerCred,
    shard: KvShard,
    opts: LeaseServerOptions,
  ) {
    this.reader = new FrameReader(opts.maxFrame);
    this.leases = new LeaseTable(shard, opts.leaseTtlMs);
  }
}

export class LeaseServer {
  private readonly server: Server;
  private readonly conns = new Set<Connection>();
  private nextSession = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly pinned: Int32Array;
  /** Announced in HELLO: --kv.max-batch, at most what fits one frame. */
  private readonly maxBatch: number;
  private shuttingDown = false;
  private readonly access: PoolAccess;
  private readonly perUidMax: number;
  /** Open connections by peer uid (--kv.max-connections-per-uid). */
  private readonly byUid = new Map<number, number>();
  private refusalLog = { at: -Infinity, suppressed: 0 };
  /** Set by drain(): ops that start work are refused, ops that finish it are still served. */
  private draining: { readonly done: () => void; readonly finished: Promise<void> } | undefined;
  /** The remote path of LOOKUP_REMOTE; without it the op answers as LOOKUP. */
  private remote: RemoteReader | undefined;
  /** Remote fetches in flight (close() waits for them: their slots are sealed or freed first). */
  private readonly fetching = new Set<Promise<unknown>>();

  constructor(
    private readonly shard: KvShard,
    private readonly opts: LeaseServerOptions,
    private readonly metrics: KvMetricsSink,
    private readonly log: Logger,
  ) {
    this.maxBatch = this.effectiveMaxBatch();
    this.pinned = new Int32Array(this.maxBatch);
    const gid = process.getegid?.() ?? 0;
    this.access = opts.access ?? { agentUid: agentUid(), allowUids: [], allowGids: [gid] };
    this.perUidMax = Math.min(opts.maxConnectionsPerUid ?? opts.maxConnections, opts.maxConnections);
    this.server = createServer({ allowHalfOpen: false }, (s) => this.accept(s));
    this.server.maxConnections = opts.maxConnections;
  }

  get connections(): number {
    return this.conns.size;
  }

  /** Turns on (or, with undefined, off) the remote path of LOOKUP_REMOTE (the agent does once its peers are known). */
  setRemoteReader(reader: RemoteReader | undefined): void {
    this.remote = reader;
  }

  /**
   * --kv.max-batch, lowered so that a full batch's request and reply each fit --kv.max-frame (HELLO
   * announces the result); a max frame too small for the HELLO reply itself is a config error.
   */
  private effectiveMaxBatch(): number {
    const { maxFrame, maxBatch, slabPaths } = this.opts;
    const helloReply = HEADER_BYTES + 32 + slabPaths.reduce((n, p) => n + 2 + Buffer.byteLength(p, 'utf8'), 0);
    if (helloReply > maxFrame) throw new BrixletError('BRX_ERR_KV_CONFIG', { reason: `--kv.max-frame ${maxFrame} is smaller than the HELLO reply (${helloReply} bytes for ${slabPaths.length} slab paths); raise it or use fewer, larger slabs` });
    const n = maxBatchFor(maxFrame, maxBatch);
    if (n < 1) throw new BrixletError('BRX_ERR_KV_CONFIG', { reason: `--kv.max-frame ${maxFrame} cannot hold a batch of one key` });
    if (n < maxBatch) this.log.warn({ maxBatch, maxFrame, effective: n }, 'kv: --kv.max-batch lowered so that a full batch fits --kv.max-frame');
    return n;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.socketPath, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.log.error({ err }, 'kv socket error'));
        // 0660 with the pool's group: engines of that group may connect (connect(2) needs write
        // permission on the socket), nobody else. Node binds and listens in one step, so for a moment
        // the socket has the umask's mode; a peer that connects then still meets the SO_PEERCRED
        // check in accept(). chmod follows a symlink; the socket's directory was checked (the
        // agent's own, not writable by others), so nobody can swap one in.
        lchownSync(this.opts.socketPath, -1, this.opts.socketGroup ?? process.getegid?.() ?? 0);
        chmodSync(this.opts.socketPath, 0o660);
        const every = Math.max(50, Math.min(1000, Math.floor(this.opts.leaseTtlMs / 4)));
        this.sweepTimer = setInterval(() => this.sweep(), every);
        this.sweepTimer.unref();
        resolve();
      });
    });
  }

  /**
   * Expires leases on every connection, then closes connections idle for --kv.idle-timeout (also run
   * by a timer). A connection holding a lease is never idle: its leases end at their TTL first.
   */
  sweep(now = Date.now()): void {
    const idleMs = this.opts.idleTimeoutMs;
    for (const c of this.conns) {
      c.leases.expire(now);
      if (idleMs > 0 && c.leases.size === 0 && now - c.lastActive >= idleMs) this.closeIdle(c, now);
    }
    this.checkDrained();
  }

  /** Silent connections would otherwise hold --kv.max-connections slots (and namespaces) forever. */
  private closeIdle(c: Connection, now: number): void {
    this.log.debug({ session: c.id, namespace: c.ns?.name, idleMs: now - c.lastActive }, 'kv connection idle: closed');
    this.metrics.connectionClosed('idle');
    c.closing = true;
    c.socket.end();
    c.socket.destroySoon();
    this.dropConnection(c);
  }

  /** Leases held over all connections. */
  get leasesHeld(): number {
    let n = 0;
    for (const c of this.conns) n += c.leases.size;
    return n;
  }

  /**
   * Shutdown, first step: HELLO, LOOKUP, EXISTS and ALLOC (which start work) are answered
   * SHUTTING_DOWN, on new and existing connections; SEAL, DROP, RELEASE, PING and STATS are still
   * served, so an engine finishes the copies it has leases for instead of meeting a closed socket
   * mid-request. Resolves once no connection holds a lease, or after `timeoutMs` (leases also end
   * at their TTL). close() then ends the connections.
   */
  drain(timeoutMs: number): Promise<void> {
    if (this.draining !== undefined) return this.draining.finished;
    if (this.shuttingDown) return Promise.resolve();
    let finish = (): void => undefined;
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), timeoutMs);
      finish = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.draining = { done: () => finish(), finished };
    this.log.info({ leases: this.leasesHeld, connections: this.conns.size, timeoutMs }, 'kv socket draining');
    this.checkDrained();
    return finished;
  }

  private checkDrained(): void {
    if (this.draining !== undefined && this.leasesHeld === 0) this.draining.done();
  }

  async close(): Promise<void> {
    this.draining?.done();
    this.shuttingDown = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) {
      c.socket.end(frame(REPLY_BIT, 0, encodeError('the agent is stopping'), Status.SHUTTING_DOWN));
      c.socket.destroySoon();
    }
    for (const c of [...this.conns]) this.dropConnection(c);
    // Fetches end within their budget; their slots must be sealed or freed before the slabs close.
    await Promise.allSettled([...this.fetching]);
    await closed;
  }

  private accept(socket: Socket): void {
    if (this.shuttingDown) {
      socket.destroy();
      return;
    }
    // Identity and admission once per connection, never per frame.
    const peer = (this.opts.peerCred ?? readPeerCred)(socket);
    const problem = peer === undefined ? 'its SO_PEERCRED could not be read' : admissionProblem(peer, this.access);
    if (peer === undefined || problem !== undefined) {
      this.refuse(socket, peer, Status.NOT_ALLOWED, 'not_allowed', `this pool does not admit you: ${problem ?? ''}`);
      return;
    }
    const held = this.byUid.get(peer.uid) ?? 0;
    if (held >= this.perUidMax) {
      this.refuse(socket, peer, Status.TOO_MANY_CONNECTIONS, 'too_many_connections', `uid ${peer.uid} holds ${held} connections (--kv.max-connections-per-uid ${this.perUidMax}); close some`);
      return;
    }
    this.byUid.set(peer.uid, held + 1);
    const c = new Connection(this.nextSession++, socket, peer, this.shard, this.opts);
    this.conns.add(c);
    // A partial frame followed by silence for a lease TTL ends the connection.
    socket.setTimeout(this.opts.leaseTtlMs, () => {
      if (c.reader.pending > 0) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    // A connection waiting on a remote fetch stays paused until its reply is written.
    socket.on('drain', () => {
      if (!c.busy) socket.resume();
    });
    socket.on('error', () => {});
    socket.on('close', () => this.dropConnection(c));
  }

  /** One unsolicited status frame (request id 0), then the connection ends; nothing else is read. */
  private refuse(socket: Socket, peer: PeerCred | undefined, status: number, reason: 'not_allowed' | 'too_many_connections', message: string): void {
    socket.on('error', () => {});
    this.metrics.connectionClosed(reason);
    const now = Date.now();
    if (now - this.refusalLog.at >= REFUSAL_LOG_EVERY_MS) {
      this.log.warn({ uid: peer?.uid, gid: peer?.gid, pid: peer?.pid, reason, suppressed: this.refusalLog.suppressed }, 'kv connection refused');
      this.refusalLog = { at: now, suppressed: 0 };
    } else this.refusalLog.suppressed++;
    socket.end(frame(REPLY_BIT, 0, encodeError(message), status));
    socket.destroySoon();
  }

  private dropConnection(c: Connection): void {
    if (!this.conns.delete(c)) return;
    const n = (this.byUid.get(c.peer.uid) ?? 1) - 1;
    if (n > 0) this.byUid.set(c.peer.uid, n);
    else this.byUid.delete(c.peer.uid);
    c.leases.clear();
    if (c.ns !== undefined) this.shard.goodbye(c.ns);
    this.checkDrained();
  }

  private onData(c: Connection, chunk: Buffer): void {
    if (c.closing) return;
    c.lastActive = Date.now();
    c.reader.push(chunk);
    if (!c.busy) this.pump(c);
  }

  /** Answers the complete frames buffered on `c`, in order, until one must wait for a remote fetch. */
  private pump(c: Connection): void {
    const replies: Buffer[] = [];
    for (;;) {
      let f;
      try {
        f = c.reader.next();
      } catch (err) {
        // Past a good magic the header names the request: the reply echoes its op, id and version.
        const echo = err instanceof ProtocolError ? err.echo : undefined;
        replies.push(this.errorReply(echo === undefined ? REPLY_BIT : echo.op | REPLY_BIT, echo?.requestId ?? 0, err, echo?.version));
        c.closing = true;
        break;
      }
      if (f === undefined) break;
      let reply: Buffer;
      try {
        const body = this.handle(c, f.header.op, f.body);
        if (body instanceof Promise) {
          this.await(c, f.header.op | REPLY_BIT, f.header.requestId, body);
          break;
        }
        reply = frame(f.header.op | REPLY_BIT, f.header.requestId, body);
      } catch (err) {
        reply = this.errorReply(f.header.op | REPLY_BIT, f.header.requestId, err);
        if (!(err instanceof ProtocolError) || CLOSING_STATUSES.has(err.status)) c.closing = true;
      }
      replies.push(reply);
      if (c.closing) break;
    }
    const s = c.socket;
    if (replies.length === 1) s.write(replies[0] as Buffer);
    else if (replies.length > 1) {
      s.cork();
      for (const r of replies) s.write(r);
      s.uncork();
    }
    if (c.closing) {
      s.end();
      this.dropConnection(c);
    } else {
      if (s.writableLength > WRITE_HIGH_WATER) s.pause();
      this.checkDrained();
    }
  }

  /**
   * A reply that waits on a remote fetch: the connection reads no further frame (its socket is paused,
   * so a pipelining client cannot buffer without bound) until it is written; other connections are
   * served meanwhile.
   */
  private await(c: Connection, op: number, requestId: number, body: Promise<Buffer>): void {
    c.busy = true;
    c.socket.pause();
    const done = body.then(
      (b) => frame(op, requestId, b),
      (err: unknown) => {
        if (!(err instanceof ProtocolError) || CLOSING_STATUSES.has(err.status)) c.closing = true;
        return this.errorReply(op, requestId, err);
      },
    );
    this.fetching.add(done);
    void done.then((reply) => {
      this.fetching.delete(done);
      c.busy = false;
      if (!this.conns.has(c)) return;
      c.socket.write(reply);
      if (c.closing) {
        c.socket.end();
        this.dropConnection(c);
        return;
      }
      c.socket.resume();
      this.pump(c);
    });
  }

  private errorReply(op: number, requestId: number, err: unknown, version?: number): Buffer {
    let status: number = Status.INTERNAL;
    let message = 'internal error';
    if (err instanceof ProtocolError) {
      status = err.status;
      message = err.message;
    } else this.log.error({ err }, 'kv request failed');
    this.metrics.protocolError(statusName(status));
    return frame(op, requestId, encodeError(message), status, version);
  }

  private requireNs(c: Connection): Namespace {
    if (c.ns === undefined) throw new ProtocolError(Status.NO_HELLO, 'send HELLO first');
    return c.ns;
  }

  private roomFor(c: Connection, n: number): void {
    if (c.leases.size + n > this.opts.maxLeases) {
      throw new ProtocolError(Status.TOO_MANY_LEASES, `this connection holds ${c.leases.size} leases; ${n} more exceed --kv.max-leases ${this.opts.maxLeases}; RELEASE some`);
    }
  }

  /** Per-connection write caps: one engine cannot hold the shard (or most of it) in unsealed blocks. */
  private roomForWrites(c: Connection, ns: Namespace, n: number): void {
    const { maxWriteLeases, maxWritingBytes } = this.opts;
    const held = c.leases.writeCount;
    if (held + n > maxWriteLeases) {
      throw new ProtocolError(Status.TOO_MANY_LEASES, `this connection holds ${held} write leases; ${n} more exceed --kv.max-write-leases ${maxWriteLeases}; SEAL or DROP some`);
    }
    // Every write lease of a connection is a slot of its one namespace.
    if ((held + n) * ns.slotSize > maxWritingBytes) {
      throw new ProtocolError(Status.TOO_MANY_LEASES, `this connection holds ${held * ns.slotSize} bytes under write leases; ${n} more blocks of ${ns.slotSize} exceed --kv.max-writing-bytes ${maxWritingBytes}; SEAL or DROP some`);
    }
  }

  private handle(c: Connection, op: number, body: Buffer): Buffer | undefined | Promise<Buffer> {
    const { opts, shard } = this;
    if (this.draining !== undefined && STARTING_OPS.has(op)) {
      throw new ProtocolError(Status.SHUTTING_DOWN, 'the agent is stopping: no new lookups or writes; finish or release the leases you hold');
    }
    switch (op) {
      case Op.PING:
        if (body.length !== 0) throw new ProtocolError(Status.BAD_FRAME, 'PING has no body');
        return undefined;
      case Op.HELLO: {
        const req = decodeHello(body);
        if (c.ns !== undefined) throw new ProtocolError(Status.BAD_HELLO, `this connection is already bound to namespace ${c.ns.name}; open another connection`);
        c.ns = shard.hello(req.namespace, req.layout, req.blockSize, c.peer.uid);
        return encodeHelloReply({
          sessionId: c.id,
          leaseTtlMs: opts.leaseTtlMs,
          maxBatch: this.maxBatch,
          maxFrame: opts.maxFrame,
          slotSize: c.ns.slotSize,
          slabSize: opts.slabSize,
          slabs: opts.slabPaths,
          features: HelloFeature.REMOTE_READ | HelloFeature.REMOTE_FETCH_ALL,
        });
      }
      case Op.LOOKUP: {
        const keys = decodeKeys(body, this.maxBatch);
        const ns = this.requireNs(c);
        this.roomFor(c, keys.length / 16);
        const hits = shard.lookup(ns, keys, 'lookup', this.pinned);
        return this.leaseRecords(c, hits, false, undefined);
      }
      case Op.LOOKUP_REMOTE: {
        const req = decodeLookupRemote(body, this.maxBatch);
        const ns = this.requireNs(c);
        const n = req.keys.length / 16;
        this.roomFor(c, n);
        const remote = this.remote;
        const local = remote === undefined ? 0 : remote.localPrefix(ns, req.keys);
        const fetchAll = (req.flags & LookupRemoteFlag.FETCH_ALL) !== 0;
        if (remote === undefined || !remote.worthFetching(local, n, fetchAll)) return this.remoteReply(c, ns, req.keys, 0, 0);
        // The keys view belongs to the reader's buffer, reused once this frame is handled.
        const keys = Buffer.from(req.keys);
        const most = Math.floor(opts.maxWritingBytes / ns.slotSize);
        return remote.fetch(ns, keys, local, remote.budgetOf(req.budgetMs), { maxBlocks: most, fetchAll }).then((got) => this.remoteReply(c, ns, keys, local, got.blocks));
      }
      case Op.EXISTS: {
        const keys = decodeKeys(body, this.maxBatch);
        return encodeU32(shard.lookup(this.requireNs(c), keys, 'exists'));
      }
      case Op.ALLOC: {
        const req = decodeAlloc(body, this.maxBatch);
        const ns = this.requireNs(c);
        const n = req.lengths.length;
        this.roomFor(c, n);
        this.roomForWrites(c, ns, n);
        const status = new Uint8Array(n);
        const ids = this.pinned.subarray(0, n);
        shard.alloc(ns, req, status, ids);
        return this.leaseRecords(c, n, true, status);
      }
      case Op.SEAL:
      case Op.DROP:
      case Op.RELEASE: {
        const ids = decodeLeaseIds(body, this.maxBatch);
        this.requireNs(c);
        const out = new Uint8Array(ids.length);
        for (let i = 0; i < ids.length; i++) {
          const v = c.leases.take(ids[i] as number, op === Op.RELEASE ? 'any' : 'write');
          if (v < 0) {
            out[i] = ItemStatus.UNKNOWN_LEASE;
            continue;
          }
          if (op !== Op.SEAL) c.leases.end(v, 'dropped');
          else if ((out[i] = shard.seal(Math.floor(v / 2))) !== ItemStatus.OK) c.leases.end(v, 'no_parent');
        }
        return encodeItemStatuses(out);
      }
      case Op.STATS: {
        if (body.length !== 0) throw new ProtocolError(Status.BAD_FRAME, 'STATS has no body');
        const name = c.ns?.name;
        const { uid, gid, pid } = c.peer;
        return this.statsBody({ ...opts.summary(), namespace: shard.namespaceSummaries().find((s) => s.name === name) ?? null, peer: { uid, gid, pid } });
      }
      default:
        throw new ProtocolError(Status.UNKNOWN_OP, `unknown op 0x${op.toString(16)}`);
    }
  }

  /** STATS within one frame: past --kv.max-frame the namespace and slab file lists are left out (`truncated: true`). */
  private statsBody(stats: Record<string, unknown>): Buffer {
    const body = encodeJson(stats);
    if (HEADER_BYTES + body.length <= this.opts.maxFrame) return body;
    const slabs = stats['slabs'] as Record<string, unknown> | undefined;
    return encodeJson({ ...stats, namespaces: [], ...(slabs !== undefined && { slabs: { ...slabs, files: [] } }), truncated: true });
  }

  /**
   * The LOOKUP_REMOTE reply: the longest sealed prefix now (local blocks and those just fetched), one
   * read lease each, and how many of them came from peers. A connection that closed meanwhile gets
   * no leases (the fetched blocks stay cached).
   */
  private remoteReply(c: Connection, ns: Namespace, keys: Buffer, local: number, fetched: number): Buffer {
    if (!this.conns.has(c)) return Buffer.alloc(8);
    const hits = this.shard.lookup(ns, keys, 'lookup', this.pinned);
    const records = this.leaseRecords(c, hits, false, undefined);
    const out = Buffer.allocUnsafe(records.length + 4);
    out.writeUInt32LE(hits, 0);
    // The fetched blocks continue the local prefix found before the fetch.
    out.writeUInt32LE(Math.max(0, Math.min(fetched, hits - local)), 4);
    records.copy(out, 8, 4);
    return out;
  }

  /** Grants one lease per OK item (`this.pinned` holds the entries) and encodes the records. */
  private leaseRecords(c: Connection, n: number, write: boolean, status: Uint8Array | undefined): Buffer {
    const { shard } = this;
    const ix = shard.index;
    const now = Date.now();
    return encodeLeaseRecords(n, (out, at, i) => {
      const st = status === undefined ? ItemStatus.OK : (status[i] as number);
      if (st !== ItemStatus.OK) {
        out.writeUInt8(st, at + 20);
        return;
      }
      const entry = this.pinned[i] as number;
      const loc = shard.allocator.where(ix.slot[entry] as number);
      writeLeaseRecord(out, at, { leaseId: c.leases.grant(entry, write, now), slab: loc.slab, offset: loc.offset, length: ix.length[entry] as number, status: st });
    });
  }
}
