/**
 * The mock engine's options, their defaults and checks. An option that cannot work (an unknown
 * GPU profile, a negative time scale …) is a BRX_ERR_MOCK_ENGINE naming the valid values.
 */
import { BrixletError } from '../common/errors.js';
import { parseEndpoint } from '../common/zmtp/endpoint.js';
import { GPU_PROFILES, gpuProfile, KV_BYTES_PER_TOKEN } from './profiles.js';
import type { GpuProfile } from './types.js';
import { mockLayout, vllmNamespace } from './vllm-keys.js';

export interface MockEngineOptions {
  /** Listen address (default 127.0.0.1). */
  readonly host?: string;
  /** Listen port (default 0: a free port). */
  readonly port?: number;
  /** The model it serves (default mock-llama-3-8b). */
  readonly model?: string;
  /** Names accepted in `model` and listed by /v1/models (default [model]); the first labels the metrics. */
  readonly servedModelNames?: readonly string[];
  /** GPU profile name (h100, a100, l20, a10) or a profile object (default h100). */
  readonly gpu?: string | GpuProfile;
  /** Seeds output lengths, filler text and step jitter (default 0). */
  readonly seed?: number;
  /** Model time runs this many times faster than wall time (default 1); Infinity answers at once. */
  readonly timeScale?: number;
  /** false = the zero-latency mode, same as timeScale Infinity. */
  readonly latency?: boolean;
  /** Step-time jitter fraction (default 0). */
  readonly jitter?: number;
  /** Characters per token when counting and hashing prompts (default 4). */
  readonly charsPerToken?: number;
  /** Largest request body (default 8 MiB, the gateway's --gateway.body-limit); larger → 413. */
  readonly maxBodyBytes?: number;
  /** Longest prompt + output in tokens (default 32768); longer → 400. */
  readonly maxModelLen?: number;
  /** When set, /v1/* requires `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Shown in /admin/stats, response ids and logs (default mock-<port>). */
  readonly name?: string;
  /** The node KV shard's socket; empty or unset = no KV offload (docs/routing.md, "Mock engine"). */
  readonly kvSocket?: string;
  /**
   * KV namespace (default the vLLM connector's `vllm/<model>/bfloat16/mock1of<scale>/bs<block tokens>/tp0of1/pp0of1`,
   * see mockNamespace): engines share blocks only within one.
   */
  readonly kvNamespace?: string;
  /** Modelled KV bytes per token (default 131072, Llama-3-8B in BF16: see KV_BYTES_PER_TOKEN). */
  readonly kvBytesPerToken?: number;
  /** Real bytes written and read = modelled ÷ this (default 64). */
  readonly kvScale?: number;
  /** Modelled host→GPU bandwidth for loading hit blocks, GB/s (default 25: PCIe Gen4 x16 in practice). */
  readonly kvLoadGbps?: number;
  /** KV events PUB endpoint, as vLLM's --kv-events-config `endpoint` (e.g. tcp://*:5557); unset = no events. */
  readonly kvEventsEndpoint?: string;
  /** KV events replay ROUTER endpoint (vLLM `replay_endpoint`); unset = no replay. */
  readonly kvEventsReplayEndpoint?: string;
  /** KV events topic (vLLM `topic`, default ''). */
  readonly kvEventsTopic?: string;
  /** Batches kept for replay (vLLM `buffer_steps`, default 10000). */
  readonly kvEventsBufferSteps?: number;
}

export interface ResolvedKvEventsOptions {
  readonly endpoint: string;
  readonly replayEndpoint: string | undefined;
  readonly topic: string;
  readonly bufferSteps: number;
}

/** What the mock engine's KV offload uses unless told otherwise (docs/routing.md, "Mock engine"). */
export const KV_DEFAULTS = {
  bytesPerToken: KV_BYTES_PER_TOKEN,
  /** 2 MiB modelled blocks become 32 KiB written ones: a 2-core machine moves that at a few thousand blocks/s. */
  scale: 64,
  /** PCIe Gen4 x16 is 31.5 GB/s raw per direction; ~25 GB/s is what pinned host→device copies reach. */
  loadGbps: 25,
} as const;

export interface ResolvedKvOptions {
  readonly socket: string;
  readonly namespace: string;
  readonly bytesPerToken: number;
  readonly scale: number;
  readonly loadGbps: number;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly model: string;
  readonly servedModelNames: readonly string[];
  readonly profile: GpuProfile;
  readonly seed: number;
  readonly timeScale: number;
  readonly jitter: number;
  readonly charsPerToken: number;
  readonly maxBodyBytes: number;
  readonly maxModelLen: number;
  readonly apiKey: string | undefined;
  readonly name: string | undefined;
  readonly kv: ResolvedKvOptions | undefined;
  readonly kvEvents: ResolvedKvEventsOptions | undefined;
}

export const DEFAULT_MODEL = 'mock-llama-3-8b';

/**
 * The mock engine's default KV namespace: the vLLM connector's format (vllm-keys.ts) for one TP and PP rank
 * of a BF16 model, its layout `mock1of<scale>` (the blocks hold a key pattern at 1/scale of the modelled
 * bytes, never a real vLLM's KV).
 */
export function mockNamespace(model: string, blockTokens: number, scale: number): string {
  try {
    return vllmNamespace({ model, dtype: 'bfloat16', layout: mockLayout(scale), blockTokens, tpRank: 0, tpSize: 1, ppRank: 0, ppSize: 1 });
  } catch (e) {
    throw mockEngineError((e as Error).message);
  }
}

/** A mock engine option that cannot work. */
export function mockEngineError(reason: string): BrixletError {
  return new BrixletError('BRX_ERR_MOCK_ENGINE', { reason });
}

export function resolveOptions(o: MockEngineOptions): ResolvedOptions {
  const profile = typeof o.gpu === 'object' ? o.gpu : gpuProfile(o.gpu ?? 'h100');
  if (profile === undefined) {
    throw mockEngineError(`unknown GPU profile '${String(o.gpu)}'; profiles: ${Object.keys(GPU_PROFILES).join(', ')}`);
  }
  const timeScale = o.latency === false ? Infinity : (o.timeScale ?? 1);
  if (!(timeScale > 0)) throw mockEngineError(`time scale must be a positive number (or Infinity for no latency), got ${timeScale}`);
  const model = o.model ?? DEFAULT_MODEL;
  const served = o.servedModelNames !== undefined && o.servedModelNames.length > 0 ? [...o.servedModelNames] : [model];
  if (served.some((n) => n.trim() === '')) throw mockEngineError('served model names must not be empty');
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    const x = v ?? dflt;
    if (!(x > 0) || !Number.isFinite(x)) throw mockEngineError(`${name} must be a positive number, got ${x}`);
    return x;
  };
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw mockEngineError(`port must be between 0 and 65535, got ${port}`);
  if (o.kvNamespace !== undefined && o.kvNamespace.trim() === '') throw mockEngineError('the KV namespace must not be empty');
  const jitter = o.jitter ?? 0;
  if (!(jitter >= 0 && jitter < 1)) throw mockEngineError(`jitter must be in [0, 1), got ${jitter}`);
  const endpoint = (what: string, e: string): string => {
    try {
      parseEndpoint(e);
    } catch (err) {
      throw mockEngineError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return e;
  };
  // Checked only where it is used (an engine with a KV shard).
  const kvScale = o.kvSocket !== undefined && o.kvSocket !== '' ? positive('kvScale', o.kvScale, KV_DEFAULTS.scale) : 0;
  const bufferSteps = o.kvEventsBufferSteps ?? 10_000;
  if (!Number.isInteger(bufferSteps) || bufferSteps < 1) throw mockEngineError(`kvEventsBufferSteps must be a positive integer, got ${bufferSteps}`);
  const kvEvents =
    o.kvEventsEndpoint === undefined || o.kvEventsEndpoint === ''
      ? undefined
      : {
          endpoint: endpoint('kvEventsEndpoint', o.kvEventsEndpoint),
          replayEndpoint: o.kvEventsReplayEndpoint === undefined || o.kvEventsReplayEndpoint === '' ? undefined : endpoint('kvEventsReplayEndpoint', o.kvEventsReplayEndpoint),
          topic: o.kvEventsTopic ?? '',
          bufferSteps,
        };
  return {
    kvEvents,
    host: o.host ?? '127.0.0.1',
    port,
    model,
    servedModelNames: served,
    profile,
    seed: o.seed ?? 0,
    timeScale,
    jitter,
    charsPerToken: positive('charsPerToken', o.charsPerToken, 4),
    maxBodyBytes: positive('maxBodyBytes', o.maxBodyBytes, 8 * 1024 * 1024),
    maxModelLen: positive('maxModelLen', o.maxModelLen, 32_768),
    apiKey: o.apiKey,
    name: o.name,
    kv:
      o.kvSocket === undefined || o.kvSocket === ''
        ? undefined
        : {
            socket: o.kvSocket,
            namespace: o.kvNamespace ?? mockNamespace(model, profile.blockTokens, kvScale),
            bytesPerToken: positive('kvBytesPerToken', o.kvBytesPerToken, KV_DEFAULTS.bytesPerToken),
            scale: kvScale,
            loadGbps: positive('kvLoadGbps', o.kvLoadGbps, KV_DEFAULTS.loadGbps),
          },
  };
}
