/**
 * The engines the gateway routes to, whatever found them (static config, `brixlet up --engines N`,
 * Kubernetes pods), kept healthy-or-not by a prober that reads each engine's /health, /v1/models and
 * /metrics. The gateway asks only for candidates; exclusion (engine health, stale node, unhealthy
 * GPU) is decided here, in one place.
 */
import type { EngineState, KvEventEndpoint } from '../router/types.js';

/** How an engine is declared by a source, before the set builds its EngineState. */
export interface EngineSpec {
  /** Stable key: pod UID, or the URL for static engines. */
  readonly uid: string;
  readonly name: string;
  /** Base URL without the /v1 suffix, e.g. http://10.0.0.5:8000 */
  readonly url: string;
  /** Models known up front (pod label); otherwise read from /v1/models. */
  readonly models?: readonly string[];
  readonly node?: string;
  readonly gpus?: readonly string[];
  /** GPU type for the speed profile (h100, a100, l20, a10 …); unknown types count as the reference. */
  readonly gpuType?: string;
  /** Where it publishes KV events, when the source knows (a pod's container port named kv-events). */
  readonly kvEvents?: KvEventEndpoint;
  /** Which source declared it: static, up, kube. */
  readonly source: 'static' | 'up' | 'kube';
}

export interface Candidates {
  readonly engines: readonly EngineState[];
  /** When engines is empty: why (no engine serves the model / all unhealthy / nodes stale …). */
  readonly reason?: string;
}

export interface EngineSetView {
  /** Every known engine, routable or not, sorted by name. */
  all(): readonly EngineState[];
  get(uid: string): EngineState | undefined;
  /** Routable engines serving `model`, minus `exclude` (uids already tried). */
  candidates(model: string, exclude?: ReadonlySet<string>): Candidates;
  /** Union of models of healthy engines, sorted. */
  models(): string[];
  /** True when some known engine (healthy or not) lists the model, or some engine has not listed its models yet. */
  knowsModel(model: string): boolean;
  /** True when some engine lists `model` as a LoRA adapter (its KV blocks are keyed apart from the base model's). */
  isLoraAdapter(model: string): boolean;
}
