/**
 * vLLM's KV cache events as brixlet reads and writes them (vLLM `vllm/distributed/kv_events.py`;
 * the wire shape is in docs/kv-events.md). An engine publishes one batch per scheduler step on a ZMQ
 * PUB socket as the multipart message `[topic, seq (u64 big-endian), msgpack(EventBatch)]`; a replay
 * ROUTER socket re-sends buffered batches from a sequence number on request.
 *
 * Block hashes are the engine's own (integers in vLLM, bytes for some hash functions): they are kept
 * as `EngineBlockHash`, a string (decimal for integers, `0x`-prefixed hex for bytes), so that every
 * index compares them the same way whatever the engine sent.
 */

/** An engine's block hash, normalised: decimal digits for an integer, `0x…` hex for bytes. */
export type EngineBlockHash = string;

/** Where a block lives: vLLM says `GPU` for its prefix cache and e.g. `CPU` for offload tiers. */
export type KvMedium = string;

/** The medium brixlet's connector and mock engine report for blocks held by the node's KV pool. */
export const BRIXLET_MEDIUM: KvMedium = 'BRIXLET';
/** vLLM's medium for its GPU prefix cache (also what an event without a medium means). */
export const GPU_MEDIUM: KvMedium = 'GPU';

export interface BlockStored {
  readonly type: 'BlockStored';
  /** One hash per block, in chain order. */
  readonly blockHashes: readonly EngineBlockHash[];
  /** The hash of the block before the first one, or null at a chain's start (and for offload tiers). */
  readonly parentBlockHash: EngineBlockHash | null;
  /** The blocks' token ids, `blockSize` per block (empty for offload tiers, as vLLM sends them). */
  readonly tokenIds: readonly number[];
  readonly blockSize: number;
  readonly loraId: number | null;
  /** null when the engine sent none (vLLM < 0.11): read as GPU_MEDIUM. */
  readonly medium: KvMedium | null;
  readonly loraName: string | null;
  /** The KV-cache group (hybrid models); absent when the engine sent none. */
  readonly groupIdx?: number;
}

export interface BlockRemoved {
  readonly type: 'BlockRemoved';
  readonly blockHashes: readonly EngineBlockHash[];
  readonly medium: KvMedium | null;
  /** The KV-cache group (hybrid models); absent when the engine sent none. */
  readonly groupIdx?: number;
}

export interface AllBlocksCleared {
  readonly type: 'AllBlocksCleared';
}

export type KvEvent = BlockStored | BlockRemoved | AllBlocksCleared;

/** One step's events, as `EventBatch` in vLLM. */
export interface KvEventBatch {
  /** Seconds since the epoch, as the engine stamped it. */
  readonly ts: number;
  readonly events: readonly KvEvent[];
  readonly dataParallelRank: number | null;
}

/** A batch as it arrived on a subscription: the topic and the engine's sequence number with it. */
export interface ReceivedKvEventBatch {
  readonly topic: string;
  /** The publisher's sequence number (u64; a gap means batches were missed: ask the replay socket). */
  readonly seq: bigint;
  readonly batch: KvEventBatch;
}
