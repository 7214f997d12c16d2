/**
 * Keeps one KV-event subscription per engine that declares an endpoint and feeds the exact index
 * (KvEventIndex): batches in, subscription state (connected, restarted publisher) mirrored into the
 * index's liveness, a sweep every second that marks silent engines stale. The subscription itself
 * (ZMQ SUB + replay, decoding) comes from an injected factory, the common/kv-events subscriber in
 * the gateway, an in-process fake in tests.
 */
import type { ReceivedKvEventBatch } from '../../common/kv-events/types.js';
import type { Logger } from '../../common/logger.js';
import type { KvEngineStats, KvEventIndex } from './kv-event-index.js';
import type { KvEventEndpoint } from './types.js';

export type { KvEventEndpoint };

/** The counters a subscription reports (a subset of the common subscriber's). */
export interface KvStreamStats {
  readonly connected: boolean;
  readonly restarts: number;
  readonly gaps: number;
  readonly replays: number;
  readonly replayed: number;
  readonly lost: number;
  readonly decodeErrors: number;
  readonly duplicates: number;
}

export interface KvEventStream {
  start(): void;
  stats(): KvStreamStats;
  close(): Promise<void>;
}

export type KvEventStreamFactory = (opts: KvEventEndpoint & { onBatch: (b: ReceivedKvEventBatch) => void; onError?: (e: Error) => void }) => KvEventStream;

export interface KvEventFeedOptions {
  readonly index: KvEventIndex;
  readonly factory: KvEventStreamFactory;
  /** ms clock (tests pass a fake one). Default Date.now. */
  readonly now?: () => number;
  /** How often sweep() runs once started. Default 1000 ms. */
  readonly sweepMs?: number;
  readonly log?: Logger;
}

/** One engine's subscription and index counters, for /metrics. */
export interface KvFeedEngineStats {
  readonly name: string;
  readonly endpoint: string;
  readonly stream: KvStreamStats;
  readonly index: KvEngineStats | undefined;
}

const NO_STREAM: KvEventStream = {
  start() {},
  stats: () => ({ connected: false, restarts: 0, gaps: 0, replays: 0, replayed: 0, lost: 0, decodeErrors: 0, duplicates: 0 }),
  close: async () => {},
};

interface Sub {
  readonly uid: string;
  readonly name: string;
  readonly endpoint: KvEventEndpoint;
  stream: KvEventStream;
  restarts: number;
  connected: boolean;
}

export class KvEventFeed {
  private readonly subs = new Map<string, Sub>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: KvEventFeedOptions) {
    this.now = opts.now ?? Date.now;
  }

  get index(): KvEventIndex {
    return this.opts.index;
  }

  /** Subscribes to an engine's events (again, if its endpoint changed). */
  add(uid: string, name: string, endpoint: KvEventEndpoint): void {
    const had = this.subs.get(uid);
    if (had !== undefined) {
      if (had.endpoint.endpoint === endpoint.endpoint && had.endpoint.replayEndpoint === endpoint.replayEndpoint && had.endpoint.topic === endpoint.topic) return;
      void this.remove(uid);
    }
    const index = this.opts.index;
    // The stream is set right below; its callbacks run only after start().
    const sub: Sub = { uid, name, endpoint, stream: NO_STREAM, restarts: 0, connected: true };
    sub.stream = this.opts.factory({
      ...endpoint,
      onBatch: (b) => {
        const s = sub.stream.stats();
        if (s.restarts > sub.restarts) {
          // The publisher restarted (its sequence went back): its old blocks are gone.
          sub.restarts = s.restarts;
          index.restartEngine(uid);
        }
        if (!sub.connected && s.connected) this.mirror(sub, true);
        const outcome = index.ingest(uid, b, this.now());
        if (outcome !== 'applied') this.opts.log?.debug({ engine: name, seq: String(b.seq), outcome }, 'kv-events batch skipped');
      },
      onError: (e) => this.opts.log?.debug({ engine: name, err: e.message }, 'kv-events message dropped'),
    });
    this.subs.set(uid, sub);
    sub.stream.start();
    this.opts.log?.info({ engine: name, endpoint: endpoint.endpoint, replay: endpoint.replayEndpoint }, 'subscribed to the engine\'s KV events');
  }

  /** Ends an engine's subscription and forgets its blocks. */
  async remove(uid: string): Promise<void> {
    const sub = this.subs.get(uid);
    if (sub === undefined) return;
    this.subs.delete(uid);
    this.opts.index.removeEngine(uid);
    await sub.stream.close();
  }

  has(uid: string): boolean {
    return this.subs.has(uid);
  }

  /** Mirrors each subscription's connection into the index, then marks silent engines stale. */
  sweep(now = this.now()): string[] {
    for (const sub of this.subs.values()) {
      const c = sub.stream.stats().connected;
      if (c !== sub.connected) this.mirror(sub, c, now);
    }
    const stale = this.opts.index.sweep(now);
    for (const uid of stale) this.opts.log?.info({ engine: this.subs.get(uid)?.name ?? uid, staleMs: this.opts.index.staleMs }, 'no KV events lately: routing on the approximate index');
    return stale;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), this.opts.sweepMs ?? 1000);
    this.timer.unref();
  }

  stats(): KvFeedEngineStats[] {
    const byUid = new Map(this.opts.index.stats().map((s) => [s.uid, s]));
    return [...this.subs.values()].map((s) => ({ name: s.name, endpoint: s.endpoint.endpoint, stream: s.stream.stats(), index: byUid.get(s.uid) }));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const all = [...this.subs.keys()];
    await Promise.all(all.map((uid) => this.remove(uid)));
  }

  private mirror(sub: Sub, connected: boolean, now = this.now()): void {
    sub.connected = connected;
    this.opts.index.setConnected(sub.uid, connected, now);
    if (!connected) this.opts.log?.info({ engine: sub.name }, 'KV events subscription lost: routing on the approximate index');
  }
}

/** `--gateway.kv-events-endpoints`: ENGINE=tcp://HOST:PORT[|tcp://HOST:REPLAYPORT], comma-separated (validated by the schema). */
export function parseKvEventEndpoints(list: string): Map<string, KvEventEndpoint> {
  const out = new Map<string, KvEventEndpoint>();
  for (const item of list.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const [endpoint, replayEndpoint] = item.slice(eq + 1).split('|') as [string, string | undefined];
    out.set(item.slice(0, eq), replayEndpoint === undefined ? { endpoint } : { endpoint, replayEndpoint });
  }
  return out;
}

/**
 * The engine's KV events endpoint: listed by name, else the one its source declared (a pod's
 * kv-events container port), else tcp://<engine host>:<port> (replay on replayPort when > 0).
 */
export function kvEventEndpointOf(
  engine: { readonly name: string; readonly url: string; readonly kvEvents?: KvEventEndpoint | undefined },
  listed: ReadonlyMap<string, KvEventEndpoint>,
  port: number,
  replayPort: number,
): KvEventEndpoint {
  const own = listed.get(engine.name) ?? engine.kvEvents;
  if (own !== undefined) return own;
  const host = new URL(engine.url).hostname;
  const endpoint = `tcp://${host}:${port}`;
  return replayPort > 0 ? { endpoint, replayEndpoint: `tcp://${host}:${replayPort}` } : { endpoint };
}
