/**
 * One client connection to a KV shard socket: frames requests, pipelines them and settles each
 * with the reply of the same request id. The shard answers in order (docs/kv-protocol.md §2), so
 * pending requests form a FIFO; a reply that does not match its head means the stream is broken
 * and every pending request fails. Timeouts use the socket's idle timer (no timer per request).
 */
import { type Socket, connect } from 'node:net';
import { BrixletError } from '../../common/errors.js';
import { CLOSING_STATUSES, FrameReader, HEADER_BYTES, ProtocolError, REPLY_BIT, Status, decodeError, opName, statusName, writeHeader } from '../protocol.js';

/** The largest reply accepted: the shard's --kv.max-frame ceiling. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

interface Pending {
  readonly id: number;
  readonly op: number;
  readonly resolve: (body: Buffer) => void;
  readonly reject: (err: BrixletError) => void;
}

export interface KvConnectionOptions {
  readonly socketPath: string;
  /** Connect timeout, and how long pending requests may wait without any byte from the shard. */
  readonly timeoutMs?: number;
}

export class KvConnection {
  /** FIFO of unanswered requests from `head` on; settled slots are cleared and compacted in batches. */
  private readonly pending: (Pending | undefined)[] = [];
  private head = 0;
  private nextId = 1;
  private failure: BrixletError | undefined;
  private readonly reader = new FrameReader(MAX_REPLY_BYTES);

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(connectError(socketPath, err)));
    socket.on('close', () =>
      this.fail(
        new BrixletError('BRX_ERR_KV_CONNECT', {
          path: socketPath,
          reason: this.reader.pending > 0 ? 'the shard closed the connection in the middle of a reply' : 'the shard closed the connection',
        }),
      ),
    );
    socket.setTimeout(timeoutMs, () => {
      if (this.inFlight === 0) return;
      this.fail(new BrixletError('BRX_ERR_KV_CONNECT', { path: socketPath, reason: `no reply within ${timeoutMs} ms` }));
      socket.destroy();
    });
  }

  static open(opts: KvConnectionOptions): Promise<KvConnection> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = connect(opts.socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BrixletError('BRX_ERR_KV_CONNECT', { path: opts.socketPath, reason: `no answer within ${timeoutMs} ms` }));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(connectError(opts.socketPath, err));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new KvConnection(socket, opts.socketPath, timeoutMs));
      });
    });
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length - this.head;
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Sends one request; resolves with the reply body, or rejects with KV_PROTOCOL / KV_CONNECT. */
  request(op: number, body?: Buffer): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    const len = HEADER_BYTES + (body?.length ?? 0);
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(header, len, op, id);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.push({ id, op, resolve, reject });
      // Two writes, no concat copy; the socket coalesces them.
      this.socket.write(header);
      if (body !== undefined && body.length > 0) this.socket.write(body);
    });
  }

  /** Ends the connection; pending requests fail. Idempotent. */
  close(): Promise<void> {
    this.fail(new BrixletError('BRX_ERR_KV_CONNECT', { path: this.socketPath, reason: 'the client closed the connection' }));
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      this.socket.destroySoon();
    });
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    try {
      for (let f = this.reader.next(); f !== undefined; f = this.reader.next()) this.settle(f.header.op, f.header.requestId, f.header.status, f.body);
    } catch (err) {
      const p = this.pending[this.head];
      const status = err instanceof ProtocolError ? statusName(err.status) : 'BAD_REPLY';
      const message = err instanceof Error ? err.message : String(err);
      this.fail(new BrixletError('BRX_ERR_KV_PROTOCOL', { op: p === undefined ? 'reply' : opName(p.op), status, message: `malformed reply: ${message}` }));
      this.socket.destroy();
    }
  }

  private settle(op: number, requestId: number, status: number, body: Buffer): void {
    const p = this.pending[this.head];
    if (op === REPLY_BIT && requestId === 0 && status !== Status.OK) {
      // Unsolicited (docs/kv-protocol.md §4): the shard is stopping or refused the connection; it
      // closes the connection after this frame, so nothing pending will be answered.
      this.fail(new BrixletError('BRX_ERR_KV_PROTOCOL', { op: p === undefined ? 'connection' : opName(p.op), status: statusName(status), message: decodeError(body) }));
      return;
    }
    if (p === undefined || p.id !== requestId || op !== (p.op | REPLY_BIT)) {
      throw new ProtocolError(Status.BAD_FRAME, `unexpected reply ${opName(op)} id ${requestId}${p === undefined ? ' with nothing pending' : ` (waiting for ${opName(p.op)} id ${p.id})`}`);
    }
    this.pending[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (status === Status.OK) {
      p.resolve(body);
      return;
    }
    p.reject(new BrixletError('BRX_ERR_KV_PROTOCOL', { op: opName(p.op), status: statusName(status), message: decodeError(body) }));
    if (CLOSING_STATUSES.has(status)) {
      this.fail(new BrixletError('BRX_ERR_KV_CONNECT', { path: this.socketPath, reason: `the shard closed the connection after ${statusName(status)}` }));
    }
  }

  /** The first failure wins: every pending and later request gets it. */
  private fail(err: BrixletError): void {
    this.failure ??= err;
    const waiting = this.pending.slice(this.head);
    this.pending.length = 0;
    this.head = 0;
    for (const p of waiting) p?.reject(this.failure);
  }
}

function connectError(path: string, err: unknown): BrixletError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no socket there (ENOENT)' : code === 'ECONNREFUSED' ? 'nobody listens there (ECONNREFUSED)' : (code ?? String(err));
  return new BrixletError('BRX_ERR_KV_CONNECT', { path, reason }, { cause: err });
}
