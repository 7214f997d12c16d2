/**
 * The mock engine: a vLLM-like latency model (continuous batching, chunked prefill, a finite
 * prefix cache, preemption; GPU profiles) behind an OpenAI-compatible HTTP server with vLLM's
 * /metrics; optionally a real client of the node's KV shard (kv-offload.ts). `brixlet mock-engine`
 * and `brixlet up --engines N` start it; the routing simulator uses the model directly. Imports
 * src/common and src/kvcache only (ARCHITECTURE.md §2).
 */
import { endpointForRank } from './kv-events.js';
import type { MockEngineOptions } from './options.js';
import { startMockEngine, type RunningMockEngine } from './server.js';

export { blockHashes, tokensOf } from './hash.js';
export { createEngineModel, METRICS_WINDOW_MS, type EngineModelOptions } from './model.js';
export { GPU_PROFILES, gpuProfile, KV_BYTES_PER_TOKEN } from './profiles.js';
export { DEFAULT_MODEL, KV_DEFAULTS, mockEngineError, mockNamespace, type MockEngineOptions } from './options.js';
export { chainSeed, loadableBlocks, mockLayout, vllmNamespace, type VllmNamespaceParts } from './vllm-keys.js';
export { KvOffload, type KvOffloadOptions, type KvOffloadStats } from './kv-offload.js';
export { MockKvEvents, endpointForRank, parseKvEventsConfig, type KvEventsConfig } from './kv-events.js';
export type { FailureMode, FailureSpec } from './failures.js';
export { startMockEngine, type MockEngineStats, type RunningMockEngine } from './server.js';
export type { EngineModel, GpuProfile, ModelEvent, ModelMetrics, ModelRequest } from './types.js';

export interface MockEnginesOptions extends Omit<MockEngineOptions, 'gpu'> {
  /** GPU profiles cycled over the engines (default h100). */
  readonly gpus?: readonly string[];
  /** KV shard sockets cycled over the engines (round robin; overrides kvSocket). */
  readonly kvSockets?: readonly string[];
}

/**
 * Starts `n` engines: seeds seed, seed+1, …; GPU profiles cycled from `gpus`, KV shard sockets
 * from `kvSockets`; KV event endpoints on port + i (as vLLM's data-parallel ranks); names `<name>-<i>`
 * (default `mock-<i>`); ports consecutive from `port` when one is given, else free ports. If one
 * fails to start, those already started are closed.
 */
export async function startMockEngines(n: number, options: MockEnginesOptions = {}): Promise<RunningMockEngine[]> {
  const { gpus, kvSockets, ...rest } = options;
  const started: RunningMockEngine[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const gpu = gpus !== undefined && gpus.length > 0 ? gpus[i % gpus.length] : undefined;
      const kvSocket = kvSockets !== undefined && kvSockets.length > 0 ? kvSockets[i % kvSockets.length] : undefined;
      started.push(
        await startMockEngine({
          ...rest,
          ...(gpu !== undefined && { gpu }),
          ...(kvSocket !== undefined && { kvSocket }),
          seed: (options.seed ?? 0) + i,
          port: options.port === undefined || options.port === 0 ? 0 : options.port + i,
          ...(options.kvEventsEndpoint !== undefined && { kvEventsEndpoint: endpointForRank(options.kvEventsEndpoint, i) }),
          ...(options.kvEventsReplayEndpoint !== undefined && { kvEventsReplayEndpoint: endpointForRank(options.kvEventsReplayEndpoint, i) }),
          name: `${options.name ?? 'mock'}-${i}`,
        }),
      );
    }
  } catch (e) {
    await Promise.all(started.map((s) => s.close()));
    throw e;
  }
  return started;
}
