/**
 * The mock engine's latency model, shared by the HTTP mock engine (`brixlet mock-engine`, real time
 * divided by a time scale) and the routing simulator (bench/routing, virtual time). Times are in
 * milliseconds of model time; the model never reads a clock: callers pass `now`.
 */

/** A GPU type's serving profile for one model size (continuous batching, vLLM-like). */
export interface GpuProfile {
  readonly name: string;
  /** Human-readable hardware, e.g. `NVIDIA H100 SXM 80 GB` (help text only). */
  readonly description?: string;
  /** Fixed cost of one engine iteration (scheduling, sampling, kernel launches). */
  readonly stepOverheadMs: number;
  /** Prefill cost per uncached prompt token in a step. */
  readonly prefillMsPerToken: number;
  /** Decode cost per running sequence in a step (each emits one token). */
  readonly decodeMsPerSeq: number;
  /** Tokens one step may process (decode tokens + prefill chunk): vLLM max_num_batched_tokens. */
  readonly maxBatchedTokens: number;
  /** Sequences one step may hold: vLLM max_num_seqs. */
  readonly maxRunning: number;
  /** KV cache size in blocks of blockTokens (running sequences + cached prefixes share it). */
  readonly kvBlocks: number;
  /** Tokens per KV block (vLLM block_size). */
  readonly blockTokens: number;
  /** Relative speeds for the router's GPU-speed awareness (1 = h100). */
  readonly speed: { readonly prefill: number; readonly decode: number };
  /** Price per GPU-hour in dollars (for the optimizer's profiles; informative here). */
  readonly costPerHour: number;
}

export interface ModelRequest {
  readonly id: string;
  /** Prompt length in tokens. */
  readonly promptTokens: number;
  /** Chained hashes of the prompt's full blocks of profile.blockTokens tokens (the engine's own prefix cache keys). */
  readonly blockHashes: readonly number[];
  /** Tokens to generate (the mock decides it from max_tokens or the seed before submitting). */
  readonly outputTokens: number;
  /**
   * Leading prompt blocks whose KV the engine can load from host memory (a KV shard hit) instead of
   * computing; blocks its own prefix cache holds are not loaded again. Default 0.
   */
  readonly loadableBlocks?: number;
  /** The prompt's token ids (only read for KV events: BlockStored carries each block's tokens). */
  readonly tokenIds?: readonly number[];
}

/** Sees the prefix cache key and evict blocks (the mock engine's KV events publisher). */
export interface KvCacheObserver {
  /** A block was keyed under `hash` after `parent` (null at a chain's start); `tokenIds` are its tokens. */
  stored(hash: number, parent: number | null, tokenIds: readonly number[]): void;
  /** A cached block was evicted. */
  removed(hash: number): void;
  /** The whole prefix cache was emptied. */
  cleared(): void;
}

export type ModelEvent =
  /** Prefill finished: the first output token is out at `at`. `cachedTokens` were served from the prefix cache. */
  | {
      readonly type: 'first-token';
      readonly id: string;
      readonly at: number;
      readonly cachedTokens: number;
      /** When the request was last admitted to the running batch (queue time = admittedAt − submit time). */
      readonly admittedAt?: number;
      /** Tokens loaded from host memory (loadableBlocks beyond the prefix cache hit); only set when > 0. */
      readonly loadedTokens?: number;
      /** Model time spent loading them (part of the admitting step); only set with loadedTokens. */
      readonly loadMs?: number;
    }
  /** One more output token (the first token is not repeated here). */
  | { readonly type: 'token'; readonly id: string; readonly at: number; readonly index: number }
  | { readonly type: 'finish'; readonly id: string; readonly at: number; readonly outputTokens: number }
  /** Removed by abort(): no further events for it. */
  | { readonly type: 'aborted'; readonly id: string; readonly at: number };

export interface ModelMetrics {
  readonly running: number;
  readonly waiting: number;
  /** Share of KV blocks held by running sequences, 0..1 (vllm:gpu_cache_usage_perc). */
  readonly kvUsage: number;
  /** Cached prefix blocks kept (evictable). */
  readonly cachedBlocks: number;
  /** Token throughputs over the last 10 s of model time. */
  readonly promptThroughput: number;
  readonly generationThroughput: number;
  /** Share of the last 10 s the engine was stepping, 0..1. */
  readonly busyRatio: number;
  /** Totals since start. */
  readonly promptTokensTotal: number;
  readonly cachedPromptTokensTotal: number;
  readonly generationTokensTotal: number;
  readonly finishedTotal: number;
  readonly preemptionsTotal: number;
}

/**
 * A discrete-event engine. submit() queues; advance(now) runs every iteration that ends at or
 * before `now` and returns the events in time order; nextEventAt() is when the running iteration
 * ends (undefined when idle). Deterministic: the same calls give the same events.
 */
export interface EngineModel {
  readonly profile: GpuProfile;
  submit(req: ModelRequest, now: number): void;
  abort(id: string, now: number): void;
  advance(now: number): ModelEvent[];
  nextEventAt(): number | undefined;
  metrics(now: number): ModelMetrics;
  /** Leading prompt blocks the engine's prefix cache holds right now (tests, simulator ground truth). */
  cachedPrefixBlocks(blockHashes: readonly number[]): number;
  /** Empties the prefix cache (vLLM's /reset_prefix_cache); false while running sequences hold cached blocks. */
  resetPrefixCache(): boolean;
}
