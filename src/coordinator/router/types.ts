/**
 * The router's contract: what it knows about an engine, what it is asked to route, and what a
 * policy answers. The gateway, the engine set, the policies and the routing simulator
 * (bench/routing) all speak these types, so the simulator runs the same policy code as the gateway.
 */
import type { RoutingPolicyName } from '../../common/config/schema.js';

export type { RoutingPolicyName };

/** Engine metrics as scraped from its /metrics (vLLM names); every field optional, absent = unknown. */
export interface EngineMetrics {
  /** ms epoch of the scrape. */
  readonly at: number;
  /** vllm:num_requests_running */
  readonly running?: number;
  /** vllm:num_requests_waiting */
  readonly waiting?: number;
  /** vllm:num_requests_swapped */
  readonly swapped?: number;
  /** vllm:gpu_cache_usage_perc (0..1, as vLLM exports it) */
  readonly gpuCacheUsage?: number;
  /** vllm:cpu_cache_usage_perc (0..1) */
  readonly cpuCacheUsage?: number;
  /** vllm:avg_prompt_throughput_toks_per_s */
  readonly promptThroughput?: number;
  /** vllm:avg_generation_throughput_toks_per_s */
  readonly generationThroughput?: number;
  /** Mean prompt / generation tokens per finished request (from the vLLM token histograms). */
  readonly avgPromptTokens?: number;
  readonly avgGenerationTokens?: number;
  /** Means in seconds from the vLLM histograms (time_to_first_token, e2e, queue, prefill, decode). */
  readonly ttftMean?: number;
  readonly e2eMean?: number;
  readonly queueTimeMean?: number;
  readonly prefillTimeMean?: number;
  readonly decodeTimeMean?: number;
  /** Share of wall time the GPU was busy, 0..1 (the mock engine's gpu_busy_time_ratio; AIBrix least-busy-time). */
  readonly busyTimeRatio?: number;
  /** vllm:gpu_prefix_cache_hit_rate (0..1) when the engine exports it. */
  readonly prefixCacheHitRate?: number;
}

/** The node's KV shard as its agent last reported it (kv-aware policy). */
export interface NodeKvView {
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly hitRatio: number | null;
}

/**
 * Live load the gateway itself tracks for one engine. Mutated synchronously by the router inside
 * a decision (never after an await), decremented when the response ends or is aborted.
 */
export interface EngineLoad {
  /** Requests sent and not finished. */
  inFlight: number;
  /** Uncached prompt tokens of in-flight requests whose first token has not arrived yet. */
  prefillTokens: number;
  /** In-flight requests past their first token (decoding). */
  decoding: number;
  /** Expected output tokens still to generate across in-flight requests (estimate). */
  decodeTokens: number;
  /** Requests routed here since start (for load CV and the decisions metric). */
  total: number;
}

/** Relative speed of a GPU type; 1 = the reference (H100). Higher is faster. */
export interface GpuSpeed {
  readonly gpuType: string;
  /** Prefill tokens per second relative to the reference. */
  readonly prefill: number;
  /** Decode throughput relative to the reference. */
  readonly decode: number;
}

/** One engine as the router sees it. Objects are stable per uid: load counters live on them. */
export interface EngineState {
  /** Stable key: the pod UID for discovered engines, the URL for static ones (a recreated pod gets a new uid). */
  readonly uid: string;
  /** Human name for headers, logs and metrics labels (pod name, or host:port). */
  readonly name: string;
  readonly url: string;
  /** Models served (from /v1/models or the pod's model label). */
  models: readonly string[];
  /** Node (agent) the engine runs on, when known. */
  readonly node?: string;
  /** GPU UUIDs the engine uses, when known; device health is checked against these. */
  readonly gpus?: readonly string[];
  readonly speed: GpuSpeed;
  /** Last /health answer was 200 and /v1/models answered; false excludes the engine. */
  healthy: boolean;
  /** Why the engine is excluded from routing right now (unhealthy, node stale, GPU unhealthy), or undefined. */
  excludedBecause?: string;
  metrics?: EngineMetrics;
  /** The engine's node KV shard (kv-aware policy), when its agent reports one. */
  kv?: NodeKvView;
  readonly load: EngineLoad;
  /** KV capacity in prefix-index blocks this engine can hold, when known (bounds its LRU in the prefix index). */
  cacheBlocks?: number;
  /** Where the engine publishes its KV events, when its source says (a pod's kv-events container port). */
  kvEvents?: KvEventEndpoint;
}

/** Where an engine publishes its KV events (vLLM --kv-events-config endpoint / replay_endpoint / topic). */
export interface KvEventEndpoint {
  readonly endpoint: string;
  readonly replayEndpoint?: string;
  readonly topic?: string;
}

/** What the gateway hands the router for one request. */
export interface RouteRequest {
  readonly model: string;
  /** The prompt text the engine will prefill (chat messages rendered, or the completion prompt). */
  readonly prompt: string;
  /** Prompt length in tokens (the tokenizer's count; characters when none is configured). */
  readonly promptTokens: number;
  /** max_tokens (or max_completion_tokens) when given. */
  readonly maxTokens?: number;
  /** Per-request policy from the routing-strategy header, already validated. */
  readonly policy?: RoutingPolicyName;
  /** Per-request weight overrides for the cost policy (x-brixlet-prefill-weight, x-brixlet-decode-weight). */
  readonly prefillWeight?: number;
  readonly decodeWeight?: number;
  /** Engines already tried for this request (retries avoid them). */
  readonly exclude?: ReadonlySet<string>;
  /** The LoRA adapter the request's model names: its blocks are keyed apart (lora-seed.ts). */
  readonly lora?: string;
}

/** Chained block hashes of a prompt (computed once per request). */
export interface PromptBlocks {
  /** hashes[k] = H(hashes[k-1] ‖ block k); incomplete tail blocks are not hashed. */
  readonly hashes: readonly number[];
  readonly blockTokens: number;
  /** The text that was hashed (with the engine tokenizer: one code unit per token), when kept. */
  readonly text?: string;
  /** h_{-1} of the keys when it is not the index's own seed: a LoRA adapter's (lora-seed.ts). */
  readonly seed?: number;
}

/** The approximate prefix index built from routing history: chained hashes, an LRU per engine, a reverse map. */
export interface PrefixIndex {
  readonly blockTokens: number;
  /** The prompt's blocks; keyed from the adapter's seed when `lora` names a LoRA adapter. */
  blocks(prompt: string, lora?: string): PromptBlocks;
  /** Leading blocks of `blocks` that `engineUid` holds (stops at the first miss). */
  matchLength(engineUid: string, blocks: PromptBlocks): number;
  /** For every engine holding at least the first block: uid → matched leading blocks. */
  matches(blocks: PromptBlocks): ReadonlyMap<string, number>;
  /**
   * Records that `engineUid` now holds these blocks (most recently used). `cacheBlocks`, when given,
   * is the engine's KV capacity in blocks and bounds its LRU (else a share of the index capacity).
   */
  insert(engineUid: string, blocks: PromptBlocks, cacheBlocks?: number): void;
  /** Forgets an engine (it left, or restarted and lost its cache). */
  removeEngine(engineUid: string): void;
  /** Blocks held across engines. */
  readonly size: number;
  /**
   * Which index answers for an engine: its KV events (`kv-events`) or the routing history
   * (`approximate`). Absent on an index without KV events.
   */
  source?(engineUid: string): PrefixSource;
  /**
   * Called by the router after insert(): a request with these blocks was just sent to `engineUid`.
   * An index fed by the engine's own KV events counts the blocks as held there while the request
   * prefills, since the engine reports them only once it has stored them: the returned function is
   * called (once) with the time its prefill ended — first token, or the request ended before one —
   * and the index forgets the blocks a grace later, when the events have had time to arrive.
   * Absent on an index that learns from routing history alone.
   */
  routed?(engineUid: string, blocks: PromptBlocks, now: number): ((now: number) => void) | undefined;
}

/** Where an engine's prefix matches come from. */
export type PrefixSource = 'kv-events' | 'approximate';

/** Everything a policy may read besides the candidates. */
export interface PolicyContext {
  readonly prefix: PrefixIndex;
  /** Uniform in [0, 1); seeded in tests and the simulator. */
  readonly random: () => number;
  readonly now: number;
}

/** A policy's answer; the router applies it (load, prefix insert) and logs `reason` at debug. */
export interface PolicyChoice {
  readonly engine: EngineState;
  /** One line a human can read: the rule that fired and the numbers that decided it. */
  readonly reason: string;
  /** Leading prompt blocks the chosen engine was believed to hold. */
  readonly matchedBlocks?: number;
}


/**
 * A stage before the policy that narrows the candidates (the GPU optimizer's split of request shapes
 * over GPU types). Synchronous, like the whole decision; it never empties the candidates.
 */
export interface CandidateFilter {
  /** The candidates to hand the policy and what the stage did, or undefined to leave them as they are. */
  filter(req: RouteRequest, candidates: readonly EngineState[]): FilterChoice | undefined;
}

export interface FilterChoice {
  /** Non-empty: the candidates, or a subset of them. */
  readonly engines: readonly EngineState[];
  /** For x-brixlet-policy and the decision log, e.g. `l20` (followed) or `l20:fallback`. */
  readonly label: string;
}

export interface RoutingPolicy {
  readonly name: RoutingPolicyName;
  /** `candidates` is non-empty, healthy and serves the model. Must not await or mutate load. */
  choose(req: RouteRequest, blocks: PromptBlocks, candidates: readonly EngineState[], ctx: PolicyContext): PolicyChoice;
}

/** A routed request: the chosen engine with its load already counted. */
export interface RouteDecision {
  readonly engine: EngineState;
  readonly policy: RoutingPolicyName;
  readonly reason: string;
  readonly matchedBlocks: number;
  readonly blocks: PromptBlocks;
  /** Which index gave the chosen engine's match, when the gateway has KV events (else undefined). */
  readonly prefixSource?: PrefixSource;
  /** What the filter stage before the policy did (the optimizer's split), when one ran. */
  readonly split?: string;
  /** Decision time in microseconds (for brixlet_router_decision_seconds). */
  readonly decisionMicros: number;
  /** First token arrived: moves the request's prefill tokens to decoding. Idempotent. */
  firstToken(): void;
  /** Response finished or aborted: the engine's load drops. Idempotent. `outputTokens` when known. */
  release(outputTokens?: number): void;
}
