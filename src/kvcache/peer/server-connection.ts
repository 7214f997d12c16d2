/**
 * One peer connection as the peer server (peer-server.ts) keeps it: handshake phase, the proven node,
 * pool and key, the replies whose block bytes are still being written, and the request framing
 * (requests carry no payload, so a request is a header and a body).
 */
import type { Socket } from 'node:net';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { RemoteStats } from '../remote-stats.js';
import type { KvShard } from '../shard.js';
import type { HandshakeContext } from './handshake.js';
import { PEER_HEADER_BYTES, type PeerHeader, type PeerLimits, readPeerHeader } from './peer-protocol.js';

/** One pool as the peer server sees it: its shard and a view of each slab. */
export interface PeerPool {
  readonly shard: KvShard;
  /** Zero-copy view of slab i. */
  slab(index: number): Uint8Array;
  /** The pool's directory store (entries of the chains this agent is home of); without it PUBLISH and DIRECTORY_LOOKUP are UNSUPPORTED. */
  readonly directory?: DirectoryStore;
  /** Counts the blocks sent to other agents (the pool's /v1/kvcache `remote.servedBlocks`). */
  readonly remote?: RemoteStats;
}

export type Phase = 'hello' | 'auth' | 'ready';

export interface Sending {
  readonly ids: Int32Array;
  readonly since: number;
}

export class PeerConnection {
  phase: Phase = 'hello';
  node = '';
  poolName = '';
  pool: PeerPool | undefined;
  ctx: HandshakeContext | undefined;
  /** The pair key the peer proved (a membership change that drops or replaces it ends the connection). */
  key: Buffer | undefined;
  closing = false;
  /** When the error frame that closes it was written (a peer that does not read it is cut off). */
  closingAt = 0;
  readonly acceptedAt = Date.now();
  lastActive = this.acceptedAt;
  /** Replies whose block bytes are being written: their pins end when the write completes. */
  readonly sending = new Set<Sending>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: PeerHeader | undefined;

  constructor(
    readonly socket: Socket,
    private readonly limits: PeerLimits,
  ) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole request, or undefined; throws a PeerProtocolError for a bad header. */
  next(): { header: PeerHeader; body: Buffer } | undefined {
    if (this.header === undefined) {
      if (this.buffered < PEER_HEADER_BYTES) return undefined;
      // Requests carry no payload in version 1: a payload length is refused before anything is read.
      this.header = readPeerHeader(this.take(PEER_HEADER_BYTES), this.limits.maxFrame, 0);
    }
    const h = this.header;
    if (this.buffered < h.bodyLength) return undefined;
    this.header = undefined;
    return { header: h, body: this.take(h.bodyLength) };
  }

  private take(n: number): Buffer {
    let first = this.chunks[0] ?? Buffer.alloc(0);
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    const rest = first.subarray(n);
    if (rest.length > 0) this.chunks[0] = rest;
    else this.chunks.shift();
    this.buffered -= n;
    return out;
  }
}

