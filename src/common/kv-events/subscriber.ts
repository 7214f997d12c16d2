/**
 * Subscribes to one engine's KV events (vLLM `--kv-events-config`), the way vLLM's documented
 * subscriber does: SUB on `endpoint` filtered by `topic`, and a DEALER on `replayEndpoint` that asks
 * for missed batches when the sequence numbers jump.
 *
 *   const sub = new KvEventSubscriber({ endpoint: 'tcp://10.0.0.5:5557', replayEndpoint: 'tcp://10.0.0.5:5558',
 *     topic: 'kv@10.0.0.5@llama', onBatch: (b: ReceivedKvEventBatch) => index.apply(b), onStats });
 *   sub.start();  …  await sub.close();
 *
 * onBatch gets every batch once, in sequence order (duplicates dropped; after a gap the replayed
 * batches come first, then the held live ones). `stats()` returns counters (see KvEventSubscriberStats).
 * Never throws after start(): bad messages are counted and reported through onError.
 */
import { ZmtpDealerSocket, ZmtpSubSocket, type ZmtpSocketOptions } from '../zmtp/sockets.js';
import { KvEventDecodeError, decodeKvEventBatch } from './codec.js';
import type { ReceivedKvEventBatch } from './types.js';

export interface KvEventSubscriberOptions {
  /** The engine's PUB endpoint, e.g. tcp://10.0.0.5:5557 (vLLM binds tcp://*:5557 by default). */
  readonly endpoint: string;
  /** The engine's replay ROUTER endpoint; without it gaps are counted but not filled. */
  readonly replayEndpoint?: string;
  /** Topic prefix to subscribe to; '' (default) takes every topic. */
  readonly topic?: string;
  readonly onBatch: (batch: ReceivedKvEventBatch) => void;
  /** Called after each batch/gap/error with the current counters. */
  readonly onStats?: (stats: Readonly<KvEventSubscriberStats>) => void;
  /** Bad messages and dropped peers (for logs); they never stop the subscription. */
  readonly onError?: (error: Error) => void;
  /** How long a replay may take before held live batches are delivered anyway (default 2000 ms). */
  readonly replayTimeoutMs?: number;
  /** Most live batches held while a replay is in flight (default 10000; more are delivered at once). */
  readonly maxHeld?: number;
  readonly socket?: ZmtpSocketOptions;
}

export interface KvEventSubscriberStats {
  /** Batches delivered to onBatch (live and replayed). */
  batches: number;
  events: number;
  /** Batches received a second time (at-least-once delivery, replay overlap) and dropped. */
  duplicates: number;
  /** Sequence jumps seen on the live stream. */
  gaps: number;
  /** Batches the gaps skipped in total. */
  missed: number;
  /** Replay requests sent. */
  replays: number;
  /** Batches recovered through replay. */
  replayed: number;
  /** Batches still missing after a replay ended (beyond the publisher's buffer, or no replay endpoint). */
  lost: number;
  /** Messages whose payload or framing could not be decoded (skipped). */
  decodeErrors: number;
  /** The publisher's sequence went backwards after a reconnect (engine restart): tracking restarted. */
  restarts: number;
  /** Last delivered sequence number, -1 before the first. */
  lastSeq: bigint;
  connected: boolean;
  /** The replay socket's handshake is done (false without a replay endpoint). */
  replayConnected: boolean;
}

const END_SEQ = -1n;

export class KvEventSubscriber {
  private readonly sub: ZmtpSubSocket;
  private readonly replay: ZmtpDealerSocket | undefined;
  private readonly counters: KvEventSubscriberStats = { batches: 0, events: 0, duplicates: 0, gaps: 0, missed: 0, replays: 0, replayed: 0, lost: 0, decodeErrors: 0, restarts: 0, lastSeq: -1n, connected: false, replayConnected: false };
  private started = false;
  /** Set on every (re)connect: the next batch may restart the sequence (engine restart). */
  private resync = true;
  private replayTimer: NodeJS.Timeout | undefined;
  /** Live batches held while a replay is in flight, in arrival order. */
  private held: ReceivedKvEventBatch[] | undefined;

  constructor(private readonly options: KvEventSubscriberOptions) {
    const socket = { ...options.socket, onProtocolError: (e: Error) => options.onError?.(e) };
    this.sub = new ZmtpSubSocket((frames) => this.onLive(frames), {
      ...socket,
      onConnect: () => {
        this.resync = true;
      },
    });
    this.replay = options.replayEndpoint === undefined ? undefined : new ZmtpDealerSocket((frames) => this.onReplay(frames), socket);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.sub.subscribe(this.options.topic ?? '');
    this.sub.connect(this.options.endpoint);
    if (this.replay !== undefined && this.options.replayEndpoint !== undefined) this.replay.connect(this.options.replayEndpoint);
  }

  stats(): Readonly<KvEventSubscriberStats> {
    return { ...this.counters, connected: this.sub.connected, replayConnected: this.replay?.connected ?? false };
  }

  async close(): Promise<void> {
    clearTimeout(this.replayTimer);
    await this.sub.close();
    await this.replay?.close();
  }

  private parse(topic: Buffer | undefined, seqFrame: Buffer | undefined, payload: Buffer | undefined): ReceivedKvEventBatch | undefined {
    try {
      if (topic === undefined || seqFrame === undefined || payload === undefined) throw new KvEventDecodeError('expected [topic, seq, payload]');
      if (seqFrame.length !== 8) throw new KvEventDecodeError(`sequence frame of ${seqFrame.length} bytes (want 8)`);
      return { topic: topic.toString('utf8'), seq: seqFrame.readBigUInt64BE(0), batch: decodeKvEventBatch(payload) };
    } catch (err) {
      this.counters.decodeErrors++;
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
      this.report();
      return undefined;
    }
  }

  private onLive(frames: Buffer[]): void {
    const got = frames.length === 3 ? this.parse(frames[0], frames[1], frames[2]) : this.parse(undefined, undefined, undefined);
    if (got === undefined) return;
    if (this.held !== undefined) {
      if (this.held.length < (this.options.maxHeld ?? 10_000)) {
        this.held.push(got);
        return;
      }
      this.endReplay();
    }
    const last = this.counters.lastSeq;
    if (this.resync) {
      this.resync = false;
      if (last >= 0n && got.seq < last) {
        this.counters.restarts++;
        this.counters.lastSeq = got.seq - 1n;
        this.deliver(got);
        return;
      }
    }
    if (last >= 0n && got.seq <= last) {
      this.counters.duplicates++;
      this.report();
      return;
    }
    if (last >= 0n && got.seq > last + 1n) {
      this.counters.gaps++;
      this.counters.missed += Number(got.seq - last - 1n);
      if (this.requestReplay(last + 1n)) {
        this.held = [got];
        return;
      }
      this.counters.lost += Number(got.seq - last - 1n);
    }
    this.deliver(got);
  }

  private requestReplay(from: bigint): boolean {
    if (this.replay === undefined) return false;
    const start = Buffer.alloc(8);
    start.writeBigUInt64BE(from);
    // An empty delimiter first, as REQ sockets send it: vLLM's ROUTER expects [id, b"", start].
    if (!this.replay.send([Buffer.alloc(0), start])) return false;
    this.counters.replays++;
    this.replayTimer = setTimeout(() => this.endReplay(), this.options.replayTimeoutMs ?? 2_000);
    this.replayTimer.unref();
    return true;
  }

  private onReplay(frames: Buffer[]): void {
    const parts = frames.length > 0 && frames[0]!.length === 0 ? frames.slice(1) : frames;
    if (this.held === undefined) return;
    if (parts.length !== 2 || parts[0]!.length !== 8) {
      this.counters.decodeErrors++;
      this.report();
      return;
    }
    if (parts[0]!.readBigInt64BE(0) === END_SEQ) {
      this.endReplay();
      return;
    }
    const got = this.parse(Buffer.from(this.held[0]?.topic ?? this.options.topic ?? ''), parts[0], parts[1]);
    if (got === undefined || got.seq <= this.counters.lastSeq) return;
    this.counters.replayed++;
    this.deliver(got);
  }

  /** Replay done (end marker, timeout or overflow): count what is still missing, deliver held batches. */
  private endReplay(): void {
    clearTimeout(this.replayTimer);
    const held = this.held ?? [];
    this.held = undefined;
    for (const got of held) {
      const last = this.counters.lastSeq;
      if (got.seq <= last) {
        this.counters.duplicates++;
        continue;
      }
      if (got.seq > last + 1n) this.counters.lost += Number(got.seq - last - 1n);
      this.deliver(got);
    }
    this.report();
  }

  private deliver(got: ReceivedKvEventBatch): void {
    this.counters.lastSeq = got.seq;
    this.counters.batches++;
    this.counters.events += got.batch.events.length;
    try {
      this.options.onBatch(got);
    } catch (err) {
      // The owner's bug must not drop the connection (the socket would count it as a protocol error).
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
    this.report();
  }

  private report(): void {
    this.options.onStats?.(this.stats());
  }
}
