/**
 * The TCP peer transport's client: a bounded set of persistent, authenticated connections per peer
 * (2 by default, client-connection.ts), request ids multiplexed over them, a deadline per call.
 * MGET lands block bytes straight in the caller's views (see client-connection.ts for how).
 */
import type { Membership } from '../membership.js';
import { ClientConnection, type Pending, PeerError, type PeerClientOptions, type Reply } from './client-connection.js';
import { type PeerMetrics, noopPeerMetrics } from './peer-metrics.js';
import type { DirectoryAnswer } from '../directory-types.js';
import { PEER_KEY_BYTES, PREFIX_FLAG, PUBLISH_ITEM_BYTES, PeerItem, PeerOp, PeerProtocolError, decodeDirectoryAnswer, encodeDirectoryLookup, encodeMexists, encodeMget, encodePublish } from './peer-protocol.js';
import type { MgetResult, Transport, TransportCallOptions } from './transport.js';

export { PeerError, type PeerClientOptions, type PeerErrorCode } from './client-connection.js';

export class PeerClient implements Transport {
  private readonly peers = new Map<string, ClientConnection[]>();
  private readonly metrics: PeerMetrics;
  private closed = false;
  /** Stall checks pending (see watchStall), cleared on close. */
  private readonly stallChecks = new Set<NodeJS.Timeout>();
  private readonly unregister: () => void;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: PeerClientOptions) {
    this.metrics = opts.metrics ?? noopPeerMetrics;
    this.unregister = this.metrics.connections(() => {
      let ready = 0;
      let handshake = 0;
      for (const list of this.peers.values()) {
        for (const c of list) {
          if (c.dead !== undefined) continue;
          if (!c.authenticated) handshake++;
          else ready++;
        }
      }
      return { handshake, ready };
    });
    this.unsubscribe = opts.membership.onChange((m) => this.onMembership(m));
  }

  /** Ends connections to peers that left the pool or whose pair key was replaced (calls on them fail CLOSED). */
  private onMembership(m: Membership): void {
    for (const [peer, list] of this.peers) {
      const key = m.pairKeys.get(peer);
      for (const c of list) if (c.key !== undefined && key?.equals(c.key) !== true) c.socket.destroy();
    }
  }

  /** Open connections to a peer (tests). */
  connectionCount(peer: string): number {
    return (this.peers.get(peer) ?? []).filter((c) => c.dead === undefined).length;
  }

  private connection(peer: string): ClientConnection {
    if (this.closed) throw new PeerError('CLOSED', 'peer client closed');
    let list = this.peers.get(peer);
    if (list === undefined) this.peers.set(peer, (list = []));
    const live = list.filter((c) => c.dead === undefined);
    if (live.length !== list.length) this.peers.set(peer, (list = live));
    const max = this.opts.connectionsPerPeer ?? 2;
    let best = list[0];
    for (const c of list) if (best === undefined || c.load < best.load) best = c;
    if (best !== undefined && (best.load === 0 || list.length >= max)) return best;
    const member = this.opts.membership.current().members.find((m) => m.node === peer);
    if (member === undefined) throw new PeerError('NO_PEER', `${peer} is not a member of the pool`);
    const { host, port } = splitAddress(member.peerAddress);
    const conn = new ClientConnection(host, port, peer, this.opts, this.metrics, () => {
      const l = this.peers.get(peer);
      if (l !== undefined) this.peers.set(peer, l.filter((c) => c !== conn));
    });
    list.push(conn);
    return conn;
  }

  /** `sent.at` receives the time the request was written (after connecting and the handshake). */
  private async request(peer: string, op: number, body: Buffer, o: { count: number; flags: number; dests?: readonly Uint8Array[] }, deadlineMs: number | undefined, sent?: { at: number }): Promise<Reply> {
    const ms = deadlineMs ?? this.opts.deadlineMs ?? 5_000;
    const conn = this.connection(peer);
    let timer: NodeJS.Timeout | undefined;
    let pendingOf: Pending | undefined;
    let readAtSend = 0;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A connection still connecting or handshaking at a deadline is dropped (a partitioned peer
        // must not keep every later call waiting on it); the next call dials again.
        if (!conn.authenticated) conn.socket.destroy();
        if (pendingOf !== undefined) {
          conn.abandon(pendingOf);
          this.watchStall(peer, conn, readAtSend);
        }
        reject(new PeerError('DEADLINE', `${peer}: no reply within ${ms} ms`));
      }, ms);
    });
    try {
      return await Promise.race([
        conn.ready.then(() => {
          readAtSend = conn.socket.bytesRead;
          if (sent !== undefined) sent.at = performance.now();
          const out = conn.send(op, body, o);
          pendingOf = out.pending;
          return out.reply;
        }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * After a call's deadline on an authenticated connection: if nothing has arrived on it since the
   * call was sent, and nothing arrives for `stallMs` more, the connection is closed. Packets lost in a
   * partition come with no reset, and TCP may wait minutes (its retransmission backoff) before the
   * stream moves again; closing it lets the next call dial afresh once the network is back, instead of
   * queueing behind a silent stream (the least-loaded pick keeps choosing one once every connection to
   * the peer is stalled). A peer that is merely slow keeps sending, and keeps its connection.
   */
  private watchStall(peer: string, conn: ClientConnection, readAtSend: number): void {
    if (conn.socket.bytesRead !== readAtSend || conn.dead !== undefined) return;
    const ms = this.opts.stallMs ?? 2_000;
    const check = setTimeout(() => {
      this.stallChecks.delete(check);
      if (conn.socket.bytesRead !== readAtSend || conn.dead !== undefined) return;
      conn.die(new PeerError('CLOSED', `peer ${peer}: nothing received for ${ms} ms past a call's deadline; connection closed as stalled`));
      conn.socket.destroy();
    }, ms);
    check.unref();
    this.stallChecks.add(check);
  }

  async ping(peer: string, opts: TransportCallOptions = {}): Promise<void> {
    await this.request(peer, PeerOp.PING, Buffer.alloc(0), { count: 0, flags: 0 }, opts.deadlineMs);
  }

  async mexists(peer: string, namespace: string, keys: Buffer, opts: TransportCallOptions = {}): Promise<Uint8Array> {
    const n = keys.length / PEER_KEY_BYTES;
    const r = await this.request(peer, PeerOp.MEXISTS, encodeMexists(namespace, keys), { count: n, flags: opts.prefix === true ? PREFIX_FLAG : 0 }, opts.deadlineMs);
    if (r.header.count !== n || r.body.length !== n) throw new PeerError('PROTOCOL', `MEXISTS reply of ${r.body.length} statuses for ${n} keys`);
    return new Uint8Array(r.body);
  }

  async mget(peer: string, namespace: string, keys: Buffer, dests: readonly Uint8Array[], opts: TransportCallOptions = {}): Promise<MgetResult> {
    const n = keys.length / PEER_KEY_BYTES;
    if (dests.length !== n) throw new RangeError('one destination view per key');
    const body = encodeMget(namespace, keys, dests.map((d) => d.length));
    const sent = { at: 0 };
    const r = await this.request(peer, PeerOp.MGET, body, { count: n, flags: opts.prefix === true ? PREFIX_FLAG : 0, dests }, opts.deadlineMs, sent);
    if (r.result === undefined) throw new PeerError('PROTOCOL', 'MGET reply without records');
    let found = 0;
    for (let i = 0; i < n; i++) if (r.result.status[i] === PeerItem.FOUND) found++;
    if (found > 0) {
      this.metrics.blocks('received', found);
      this.metrics.transfer((performance.now() - sent.at) / 1000);
    }
    return r.result;
  }

  /** PUBLISH: directory deltas (PUBLISH items, 24 bytes each) to a chain's home; per item DeltaStatus. */
  async publish(peer: string, namespace: string, items: Buffer, opts: TransportCallOptions = {}): Promise<Uint8Array> {
    const n = items.length / PUBLISH_ITEM_BYTES;
    const r = await this.request(peer, PeerOp.PUBLISH, encodePublish(namespace, items), { count: n, flags: 0 }, opts.deadlineMs);
    if (r.header.count !== n || r.body.length !== n) throw new PeerError('PROTOCOL', `PUBLISH reply of ${r.body.length} statuses for ${n} deltas`);
    return new Uint8Array(r.body);
  }

  /** DIRECTORY_LOOKUP: the holders a chain's home knows for each key of the chain (never this agent). */
  async directoryLookup(peer: string, namespace: string, keys: Buffer, opts: TransportCallOptions = {}): Promise<DirectoryAnswer> {
    const n = keys.length / PEER_KEY_BYTES;
    const r = await this.request(peer, PeerOp.DIRECTORY_LOOKUP, encodeDirectoryLookup(namespace, keys), { count: n, flags: 0 }, opts.deadlineMs);
    if (r.header.count !== n) throw new PeerError('PROTOCOL', `DIRECTORY_LOOKUP reply of ${r.header.count} keys for ${n}`);
    try {
      return decodeDirectoryAnswer(r.body, n);
    } catch (err) {
      if (err instanceof PeerProtocolError) throw new PeerError('PROTOCOL', `${peer}: DIRECTORY_LOOKUP reply: ${err.message}`);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unregister();
    this.unsubscribe();
    for (const t of this.stallChecks) clearTimeout(t);
    this.stallChecks.clear();
    for (const list of this.peers.values()) for (const c of list) c.socket.destroy();
    this.peers.clear();
  }
}

/** "host:port" or "[v6]:port". */
export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  let host = address.slice(0, at);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new PeerError('NO_PEER', `bad peer address ${JSON.stringify(address)}`);
  return { host, port };
}
