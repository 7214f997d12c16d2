/**
 * The four ZMQ socket kinds vLLM's KV events use, over ZmtpPeer: PUB and ROUTER bind and serve many
 * peers; SUB and DEALER connect to one endpoint and reconnect with backoff. A bad peer is dropped and
 * counted in `stats`, never thrown at the owner.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.js';
import { ZmtpPeer, type PeerHandlers, type PeerOptions } from './peer.js';
import type { ZmtpProtocolError, ZmtpSocketType } from './wire.js';

export interface ZmtpSocketOptions {
  readonly maxFrameBytes?: number;
  readonly maxMessageFrames?: number;
  readonly handshakeTimeoutMs?: number;
  /** Listeners: most peers at once (more are refused). */
  readonly maxPeers?: number;
  /** Connectors: first and largest reconnect delay (doubling in between). */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Called with every dropped peer's protocol error (for logs). */
  readonly onProtocolError?: (error: ZmtpProtocolError) => void;
}

export interface ZmtpSocketStats {
  /** Connections that completed the handshake. */
  peersReady: number;
  /** Connections dropped for a protocol error or limit. */
  protocolErrors: number;
  /** Connections refused because maxPeers were connected. */
  peersRefused: number;
  /** Messages not queued to a peer because its write queue was past the high-water mark. */
  dropped: number;
  reconnects: number;
}

const DEFAULTS = { maxFrameBytes: 16 * 1024 * 1024, maxMessageFrames: 16, handshakeTimeoutMs: 10_000, maxPeers: 1024, reconnectMinMs: 100, reconnectMaxMs: 5_000 };

abstract class ZmtpSocketBase {
  readonly stats: ZmtpSocketStats = { peersReady: 0, protocolErrors: 0, peersRefused: 0, dropped: 0, reconnects: 0 };
  protected readonly opts: typeof DEFAULTS & ZmtpSocketOptions;
  protected readonly peers = new Set<ZmtpPeer>();
  protected closed = false;

  constructor(
    protected readonly type: ZmtpSocketType,
    options: ZmtpSocketOptions,
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  protected peerOptions(asServer: boolean, identity?: Uint8Array): PeerOptions {
    return { socketType: this.type, asServer, identity, maxFrameBytes: this.opts.maxFrameBytes, maxMessageFrames: this.opts.maxMessageFrames, handshakeTimeoutMs: this.opts.handshakeTimeoutMs };
  }

  protected attach(socket: Socket, asServer: boolean, identity?: Uint8Array): ZmtpPeer {
    const handlers: PeerHandlers = {
      onReady: (p) => {
        this.stats.peersReady++;
        this.peerReady(p);
      },
      onMessage: (p, frames) => this.peerMessage(p, frames),
      onCommand: (p, name, data) => this.peerCommand(p, name, data),
      onClose: (p, err) => {
        this.peers.delete(p);
        if (err !== undefined) {
          this.stats.protocolErrors++;
          this.opts.onProtocolError?.(err);
        }
        this.peerClosed(p);
      },
    };
    const peer = new ZmtpPeer(socket, this.peerOptions(asServer, identity), handlers);
    this.peers.add(peer);
    return peer;
  }

  protected peerReady(_peer: ZmtpPeer): void {}
  protected peerCommand(_peer: ZmtpPeer, _name: string, _data: Buffer): void {}
  protected peerClosed(_peer: ZmtpPeer): void {}
  protected abstract peerMessage(peer: ZmtpPeer, frames: Buffer[]): void;
}

/** Binds an endpoint and serves any number of peers. */
abstract class ZmtpListener extends ZmtpSocketBase {
  private server: Server | undefined;
  private ipcPath: string | undefined;
  private bound: Endpoint | undefined;

  async bind(endpoint: string): Promise<void> {
    const e = parseEndpoint(endpoint);
    const server = createServer((socket) => {
      if (this.closed || this.peers.size >= this.opts.maxPeers) {
        this.stats.peersRefused++;
        socket.destroy();
        return;
      }
      this.attach(socket, true);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (e.kind === 'ipc') server.listen(e.path, () => resolve());
      else server.listen(e.port, e.host, () => resolve());
    });
    server.on('error', () => undefined);
    this.server = server;
    if (e.kind === 'ipc') {
      this.ipcPath = e.path;
      this.bound = e;
    } else {
      const addr = server.address();
      this.bound = { kind: 'tcp', host: e.host, port: typeof addr === 'object' && addr !== null ? addr.port : e.port };
    }
  }

  /** The bound endpoint with the real port (for port 0). */
  get endpoint(): string {
    if (this.bound === undefined) throw new Error('not bound');
    return formatEndpoint(this.bound);
  }

  get peerCount(): number {
    return this.peers.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.peers]) p.close();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.ipcPath !== undefined) {
      try {
        unlinkSync(this.ipcPath);
      } catch {
        // already gone
      }
    }
  }
}

/** Connects to one endpoint and keeps reconnecting (backoff doubling from reconnectMinMs). */
abstract class ZmtpConnector extends ZmtpSocketBase {
  private endpoint: Endpoint | undefined;
  private peer: ZmtpPeer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay = 0;
  private readonly identity: Uint8Array | undefined;

  constructor(type: ZmtpSocketType, options: ZmtpSocketOptions & { identity?: Uint8Array }) {
    super(type, options);
    this.identity = options.identity;
  }

  connect(endpoint: string): void {
    this.endpoint = parseEndpoint(endpoint);
    this.delay = this.opts.reconnectMinMs;
    this.dial();
  }

  /** True once the handshake with the current connection is done. */
  get connected(): boolean {
    return this.peer?.ready ?? false;
  }

  protected get current(): ZmtpPeer | undefined {
    return this.peer?.ready === true ? this.peer : undefined;
  }

  private dial(): void {
    const e = this.endpoint;
    if (this.closed || e === undefined) return;
    const socket = e.kind === 'ipc' ? createConnection(e.path) : createConnection(e.port, e.host ?? '127.0.0.1');
    this.peer = this.attach(socket, false, this.identity);
  }

  protected override peerReady(peer: ZmtpPeer): void {
    this.delay = this.opts.reconnectMinMs;
    this.connectedTo(peer);
  }

  protected connectedTo(_peer: ZmtpPeer): void {}

  protected override peerClosed(peer: ZmtpPeer): void {
    if (peer !== this.peer) return;
    this.peer = undefined;
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.stats.reconnects++;
      this.dial();
    }, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, this.opts.reconnectMaxMs);
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.peer?.close();
    return Promise.resolve();
  }
}

/** PUB: fans each message out to the peers whose subscriptions prefix its first frame. */
export class ZmtpPubSocket extends ZmtpListener {
  private readonly subs = new Map<ZmtpPeer, Buffer[]>();
  /** Per-peer write queue past which messages to that peer are dropped (ZMQ's SNDHWM, in bytes). */
  private readonly hwmBytes: number;

  constructor(options: ZmtpSocketOptions & { hwmBytes?: number } = {}) {
    super('PUB', options);
    this.hwmBytes = options.hwmBytes ?? 64 * 1024 * 1024;
  }

  /** Topic subscriptions held by ready peers (all peers together). */
  get subscriptionCount(): number {
    let n = 0;
    for (const list of this.subs.values()) n += list.length;
    return n;
  }

  send(frames: readonly Uint8Array[]): void {
    const topic = frames[0] ?? Buffer.alloc(0);
    for (const [peer, list] of this.subs) {
      if (!peer.ready || !list.some((s) => s.length <= topic.length && Buffer.compare(s, topic.subarray(0, s.length)) === 0)) continue;
      if (peer.queuedBytes > this.hwmBytes) {
        this.stats.dropped++;
        continue;
      }
      peer.send(frames);
    }
  }

  protected override peerReady(peer: ZmtpPeer): void {
    this.subs.set(peer, []);
  }

  protected override peerClosed(peer: ZmtpPeer): void {
    this.subs.delete(peer);
  }

  protected override peerCommand(peer: ZmtpPeer, name: string, data: Buffer): void {
    if (name === 'SUBSCRIBE') this.subscription(peer, true, data);
    else if (name === 'CANCEL') this.subscription(peer, false, data);
  }

  // ZMTP 3.0 peers (and libzmq for compatibility) send subscriptions as one-frame messages: 0x01 / 0x00 + topic.
  protected peerMessage(peer: ZmtpPeer, frames: Buffer[]): void {
    const f = frames[0];
    if (frames.length !== 1 || f === undefined || f.length === 0) return;
    if (f[0] === 1) this.subscription(peer, true, f.subarray(1));
    else if (f[0] === 0) this.subscription(peer, false, f.subarray(1));
  }

  private subscription(peer: ZmtpPeer, add: boolean, topic: Buffer): void {
    const list = this.subs.get(peer);
    if (list === undefined) return;
    if (add) {
      if (list.length >= 1024) {
        peer.close();
        return;
      }
      list.push(Buffer.from(topic));
    } else {
      const i = list.findIndex((s) => s.equals(topic));
      if (i >= 0) list.splice(i, 1);
    }
  }
}

/** SUB: subscribes to topic prefixes (again on every reconnect) and hands messages to onMessage. */
export class ZmtpSubSocket extends ZmtpConnector {
  private readonly topics: Buffer[] = [];

  constructor(
    private readonly onMessage: (frames: Buffer[]) => void,
    options: ZmtpSocketOptions & { onConnect?: () => void } = {},
  ) {
    super('SUB', options);
    this.onConnect = options.onConnect;
  }

  private readonly onConnect: (() => void) | undefined;

  subscribe(topic: string | Uint8Array): void {
    const t = Buffer.from(topic);
    this.topics.push(t);
    const p = this.current;
    if (p !== undefined) this.sendSubscribe(p, t);
  }

  protected override connectedTo(peer: ZmtpPeer): void {
    for (const t of this.topics) this.sendSubscribe(peer, t);
    this.onConnect?.();
  }

  private sendSubscribe(peer: ZmtpPeer, topic: Buffer): void {
    if (peer.peerMinor >= 1) peer.sendCommand('SUBSCRIBE', topic);
    else peer.send([Buffer.concat([Buffer.from([1]), topic])]);
  }

  protected peerMessage(_peer: ZmtpPeer, frames: Buffer[]): void {
    this.onMessage(frames);
  }
}

/** ROUTER: each peer gets a routing id (its Identity, or 5 random bytes); replies go by that id. */
export class ZmtpRouterSocket extends ZmtpListener {
  private readonly byId = new Map<string, ZmtpPeer>();
  private readonly ids = new Map<ZmtpPeer, Buffer>();

  constructor(
    private readonly onMessage: (id: Buffer, frames: Buffer[]) => void,
    options: ZmtpSocketOptions = {},
  ) {
    super('ROUTER', options);
  }

  send(id: Uint8Array, frames: readonly Uint8Array[]): boolean {
    const peer = this.byId.get(Buffer.from(id).toString('hex'));
    if (peer === undefined || !peer.ready) return false;
    peer.send(frames);
    return true;
  }

  protected override peerReady(peer: ZmtpPeer): void {
    let id = peer.peerIdentity.length > 0 ? peer.peerIdentity : Buffer.concat([Buffer.from([0]), randomBytes(4)]);
    // A second peer with an identity already in use gets a generated one (libzmq does the same by default).
    if (this.byId.has(id.toString('hex'))) id = Buffer.concat([Buffer.from([0]), randomBytes(4)]);
    this.byId.set(id.toString('hex'), peer);
    this.ids.set(peer, id);
  }

  protected override peerClosed(peer: ZmtpPeer): void {
    const id = this.ids.get(peer);
    if (id !== undefined) this.byId.delete(id.toString('hex'));
    this.ids.delete(peer);
  }

  protected peerMessage(peer: ZmtpPeer, frames: Buffer[]): void {
    const id = this.ids.get(peer);
    if (id !== undefined) this.onMessage(id, frames);
  }
}

/** DEALER: sends to and receives from the one connected peer; a send while disconnected returns false. */
export class ZmtpDealerSocket extends ZmtpConnector {
  constructor(
    private readonly onMessage: (frames: Buffer[]) => void,
    options: ZmtpSocketOptions & { identity?: Uint8Array } = {},
  ) {
    super('DEALER', options);
  }

  send(frames: readonly Uint8Array[]): boolean {
    const p = this.current;
    if (p === undefined) return false;
    p.send(frames);
    return true;
  }

  protected peerMessage(_peer: ZmtpPeer, frames: Buffer[]): void {
    this.onMessage(frames);
  }
}
