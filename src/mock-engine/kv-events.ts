/**
 * The mock engine's KV events, as vLLM publishes them with `--kv-events-config` (docs/kv-events.md):
 * BlockStored when its prefix cache keys a block (medium GPU, token ids, parent hash, block size),
 * BlockRemoved when it evicts one, AllBlocksCleared when its cache is reset, BlockStored with
 * medium BRIXLET when it offloads blocks to its node's KV shard, and BlockRemoved with medium BRIXLET
 * when a lookup finds announced blocks gone from the shard. Block hashes are the engine's own
 * (hash.ts). Events of one event-loop turn (one engine step) leave as one batch.
 */
import { KvEventPublisher, type KvEventPublisherStats } from '../common/kv-events/publisher.js';
import { BRIXLET_MEDIUM, GPU_MEDIUM, type KvEvent } from '../common/kv-events/types.js';

export interface KvEventsOptions {
  /** PUB endpoint (vLLM's `endpoint`; tcp://*:5557 there). */
  readonly endpoint: string;
  /** Replay ROUTER endpoint (vLLM's `replay_endpoint`); none by default. */
  readonly replayEndpoint?: string;
  /** Topic (vLLM's `topic`; default ''). */
  readonly topic?: string;
  /** Batches kept for replay (vLLM's `buffer_steps`; default 10000). */
  readonly bufferSteps?: number;
  /** Tokens per block (the engine's block size). */
  readonly blockTokens: number;
}

/**
 * Pool blocks remembered for BlockRemoved; past it the oldest announcement is forgotten (its
 * removal then goes unreported and the gateway index ages the entry out).
 */
const POOL_TRACKED = 1 << 18;

export class MockKvEvents {
  private readonly publisher: KvEventPublisher;
  private pending: KvEvent[] = [];
  /** Blocks announced as held by the shard, oldest first (at most POOL_TRACKED). */
  private readonly inPool = new Set<number>();
  private scheduled = false;

  constructor(private readonly options: KvEventsOptions) {
    this.publisher = new KvEventPublisher({ endpoint: options.endpoint, replayEndpoint: options.replayEndpoint, topic: options.topic ?? '', bufferSteps: options.bufferSteps });
  }

  start(): Promise<void> {
    return this.publisher.start();
  }

  get endpoint(): string {
    return this.publisher.endpoint;
  }

  get replayEndpoint(): string | undefined {
    return this.publisher.replayEndpoint;
  }

  /** The prefix cache keyed one block: `hash` after `parent` (null at a chain's start). */
  gpuStored(hash: number, parent: number | null, tokenIds: readonly number[]): void {
    this.push({ type: 'BlockStored', blockHashes: [String(hash)], parentBlockHash: parent === null ? null : String(parent), tokenIds, blockSize: this.options.blockTokens, loraId: null, medium: GPU_MEDIUM, loraName: null });
  }

  gpuRemoved(hash: number): void {
    const last = this.pending.at(-1);
    // Evictions of one step coalesce into one BlockRemoved, as vLLM's block pool reports them.
    if (last?.type === 'BlockRemoved' && last.medium === GPU_MEDIUM) (last.blockHashes as string[]).push(String(hash));
    else this.push({ type: 'BlockRemoved', blockHashes: [String(hash)], medium: GPU_MEDIUM });
  }

  cleared(): void {
    this.inPool.clear();
    this.push({ type: 'AllBlocksCleared' });
  }

  /** Blocks now held by the node's KV shard (an offload tier: no token ids, no parent, as vLLM sends them). */
  offloaded(hashes: readonly number[]): void {
    if (hashes.length === 0) return;
    for (const h of hashes) {
      this.inPool.delete(h);
      this.inPool.add(h);
    }
    while (this.inPool.size > POOL_TRACKED) this.inPool.delete(this.inPool.values().next().value as number);
    this.push({ type: 'BlockStored', blockHashes: hashes.map(String), parentBlockHash: null, tokenIds: [], blockSize: this.options.blockTokens, loraId: null, medium: BRIXLET_MEDIUM, loraName: null });
  }

  /**
   * A lookup found these blocks gone from the shard (it evicts without telling the engine): those
   * announced as held there leave in one BlockRemoved with medium BRIXLET, as the vLLM connector
   * reports blocks a load found missing. Their GPU copies, if any, stay.
   */
  poolMissing(hashes: readonly number[]): void {
    const gone: string[] = [];
    for (const h of hashes) if (this.inPool.delete(h)) gone.push(String(h));
    if (gone.length > 0) this.push({ type: 'BlockRemoved', blockHashes: gone, medium: BRIXLET_MEDIUM });
  }

  stats(): KvEventPublisherStats {
    return this.publisher.stats();
  }

  render(label: string): string {
    const s = this.stats();
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, value: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${label}} ${value}`);
    metric('brixlet_mock_engine_kv_events_batches_total', 'counter', 'KV event batches published (one per engine step with events).', s.batches);
    metric('brixlet_mock_engine_kv_events_total', 'counter', 'KV events published (BlockStored, BlockRemoved, AllBlocksCleared).', s.events);
    metric('brixlet_mock_engine_kv_events_subscribers', 'gauge', 'Subscribers connected to the KV events PUB socket.', s.subscribers);
    metric('brixlet_mock_engine_kv_events_replay_requests_total', 'counter', 'Replay requests answered on the replay socket.', s.replayRequests);
    metric('brixlet_mock_engine_kv_events_dropped_total', 'counter', 'Messages not queued to a subscriber past its high-water mark.', s.dropped);
    return `${out.join('\n')}\n`;
  }

  async close(): Promise<void> {
    this.flush();
    await this.publisher.close();
  }

  private push(ev: KvEvent): void {
    this.pending.push(ev);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.publisher.publish({ ts: Date.now() / 1000, events, dataParallelRank: null });
  }
}

/** The mock engine options that vLLM's `--kv-events-config` JSON sets (unset when events are off). */
export interface KvEventsConfig {
  readonly kvEventsEndpoint?: string;
  readonly kvEventsReplayEndpoint?: string;
  readonly kvEventsTopic?: string;
  readonly kvEventsBufferSteps?: number;
}

/**
 * Reads vLLM's `--kv-events-config` JSON (`enable_kv_cache_events`, `publisher`, `endpoint`,
 * `replay_endpoint`, `topic`, `buffer_steps`; `hwm` and `max_queue_size` are accepted and ignored),
 * with vLLM's defaults. Returns a reason string when it is not valid.
 */
export function parseKvEventsConfig(json: string): KvEventsConfig | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return 'not valid JSON';
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'must be a JSON object';
  const c = raw as Record<string, unknown>;
  const known = new Set(['enable_kv_cache_events', 'publisher', 'endpoint', 'replay_endpoint', 'topic', 'buffer_steps', 'hwm', 'max_queue_size']);
  const unknown = Object.keys(c).filter((k) => !known.has(k));
  if (unknown.length > 0) return `unknown field(s) ${unknown.join(', ')}`;
  if (c['enable_kv_cache_events'] !== true) return {};
  if (c['publisher'] !== undefined && c['publisher'] !== 'zmq') return `publisher must be "zmq", got ${JSON.stringify(c['publisher'])}`;
  const str = (k: string): string | undefined => (typeof c[k] === 'string' ? (c[k] as string) : undefined);
  for (const k of ['endpoint', 'replay_endpoint', 'topic']) if (c[k] !== undefined && c[k] !== null && typeof c[k] !== 'string') return `${k} must be a string`;
  const steps = c['buffer_steps'];
  if (steps !== undefined && (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1)) return 'buffer_steps must be a positive integer';
  const replay = str('replay_endpoint');
  return {
    kvEventsEndpoint: str('endpoint') ?? 'tcp://*:5557',
    ...(replay !== undefined && replay !== '' && { kvEventsReplayEndpoint: replay }),
    kvEventsTopic: str('topic') ?? '',
    ...(typeof steps === 'number' && { kvEventsBufferSteps: steps }),
  };
}

/** Engine i of several publishes on port + i (vLLM's data-parallel rule); ipc paths get `_dp<i>`. */
export function endpointForRank(endpoint: string, rank: number): string {
  if (rank === 0) return endpoint;
  const m = /^(tcp:\/\/.*:)(\d+)$/.exec(endpoint);
  if (m !== null) return Number(m[2]) === 0 ? endpoint : `${m[1]}${Number(m[2]) + rank}`;
  return `${endpoint}_dp${rank}`;
}
