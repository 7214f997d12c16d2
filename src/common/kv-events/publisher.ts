/**
 * Publishes KV event batches the way vLLM's ZmqEventPublisher does: PUB messages
 * `[topic, seq (u64 BE), msgpack(batch)]`, one per batch, seq counting from 0; and, with a replay
 * endpoint, a ROUTER that answers a start seq (8 bytes BE) with every buffered batch from there as
 * `[seq, payload]` then `[-1 (i64 BE), b""]`. The last `bufferSteps` batches are kept for replay.
 */
import { ZmtpPubSocket, ZmtpRouterSocket, type ZmtpSocketOptions } from '../zmtp/sockets.js';
import { encodeKvEventBatch } from './codec.js';
import type { KvEventBatch } from './types.js';

export interface KvEventPublisherOptions {
  /** Bound PUB endpoint (vLLM default tcp://*:5557; port 0 picks a free one). */
  readonly endpoint: string;
  /** Bound replay ROUTER endpoint (vLLM: replay_endpoint; none by default). */
  readonly replayEndpoint?: string;
  readonly topic?: string;
  /** Batches kept for replay (vLLM buffer_steps, default 10000). */
  readonly bufferSteps?: number;
  readonly socket?: ZmtpSocketOptions & { hwmBytes?: number };
}

export interface KvEventPublisherStats {
  batches: number;
  events: number;
  /** Replay requests answered, and batches re-sent by them. */
  replayRequests: number;
  replayedBatches: number;
  /** Malformed replay requests ignored. */
  badReplayRequests: number;
  subscribers: number;
  /** Topic subscriptions the subscribers sent. */
  subscriptions: number;
  /** Messages not queued to a slow subscriber (past the high-water mark). */
  dropped: number;
  protocolErrors: number;
}

const END_SEQ = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export class KvEventPublisher {
  private readonly pub: ZmtpPubSocket;
  private readonly router: ZmtpRouterSocket | undefined;
  private readonly topic: Buffer;
  private readonly bufferSteps: number;
  /** Ring of the last bufferSteps [seq, payload] pairs; ringStart is the index of the oldest. */
  private readonly ring: { seq: Buffer; payload: Uint8Array }[] = [];
  private ringStart = 0;
  private seq = 0n;
  private readonly counters = { batches: 0, events: 0, replayRequests: 0, replayedBatches: 0, badReplayRequests: 0 };

  constructor(private readonly options: KvEventPublisherOptions) {
    this.topic = Buffer.from(options.topic ?? '', 'utf8');
    this.bufferSteps = Math.max(1, options.bufferSteps ?? 10_000);
    this.pub = new ZmtpPubSocket(options.socket);
    this.router = options.replayEndpoint === undefined ? undefined : new ZmtpRouterSocket((id, frames) => this.onReplayRequest(id, frames), options.socket);
  }

  async start(): Promise<void> {
    await this.pub.bind(this.options.endpoint);
    if (this.router !== undefined && this.options.replayEndpoint !== undefined) await this.router.bind(this.options.replayEndpoint);
  }

  /** The bound endpoints (real ports when 0 was asked). */
  get endpoint(): string {
    return this.pub.endpoint;
  }

  get replayEndpoint(): string | undefined {
    return this.router?.endpoint;
  }

  publish(batch: KvEventBatch): bigint {
    const seq = this.seq++;
    const seqFrame = Buffer.alloc(8);
    seqFrame.writeBigUInt64BE(seq);
    const payload = encodeKvEventBatch(batch);
    if (this.ring.length < this.bufferSteps) this.ring.push({ seq: seqFrame, payload });
    else {
      this.ring[this.ringStart] = { seq: seqFrame, payload };
      this.ringStart = (this.ringStart + 1) % this.bufferSteps;
    }
    this.counters.batches++;
    this.counters.events += batch.events.length;
    this.pub.send([this.topic, seqFrame, payload]);
    return seq;
  }

  stats(): KvEventPublisherStats {
    const s = this.pub.stats;
    return { ...this.counters, subscribers: this.pub.peerCount, subscriptions: this.pub.subscriptionCount, dropped: s.dropped, protocolErrors: s.protocolErrors + (this.router?.stats.protocolErrors ?? 0) };
  }

  async close(): Promise<void> {
    await this.pub.close();
    await this.router?.close();
  }

  // Requests come as [start] (DEALER) or ["", start] (REQ, or a DEALER speaking REQ's envelope); the
  // answer repeats the envelope so either client can read it.
  private onReplayRequest(id: Buffer, frames: Buffer[]): void {
    const delimited = frames.length === 2 && frames[0]!.length === 0;
    const start = delimited ? frames[1] : frames.length === 1 ? frames[0] : undefined;
    if (start === undefined || start.length !== 8) {
      this.counters.badReplayRequests++;
      return;
    }
    const from = start.readBigUInt64BE(0);
    const envelope = delimited ? [Buffer.alloc(0)] : [];
    this.counters.replayRequests++;
    for (let i = 0; i < this.ring.length; i++) {
      const item = this.ring[(this.ringStart + i) % this.ring.length]!;
      if (item.seq.readBigUInt64BE(0) < from) continue;
      this.router!.send(id, [...envelope, item.seq, item.payload]);
      this.counters.replayedBatches++;
    }
    this.router!.send(id, [...envelope, END_SEQ, Buffer.alloc(0)]);
  }
}
