/**
 * Load accounting of one routed request. The router counts the request on its engine before
 * returning (in flight, uncached prefill tokens, expected output tokens); `firstToken()` moves it
 * from prefill to decoding and `release()` takes it off, each at most once whatever the caller's
 * error paths do. Every counter is clamped at zero. The decision holds the EngineState object it
 * charged, so a late release only ever touches that object: an engine recreated under a new uid (or
 * given fresh counters) is never driven negative by requests that belonged to its predecessor.
 */
import type { EngineLoad, EngineState, PrefixSource, PromptBlocks, RouteDecision, RoutingPolicyName } from './types.js';

/** Receives the output length of finished requests (the router's running average). */
export interface OutputObserver {
  observeOutput(tokens: number): void;
}

const PREFILL = 0;
const DECODING = 1;
const RELEASED = 2;

function sub(load: EngineLoad, key: keyof EngineLoad, n: number): void {
  const v = load[key] - n;
  load[key] = v > 0 ? v : 0;
}

/** Charges `engine.load` for a new request; the counterpart of `release()`. */
export function chargeLoad(load: EngineLoad, uncachedTokens: number, expectedOutput: number): void {
  load.inFlight++;
  load.prefillTokens += uncachedTokens;
  load.decodeTokens += expectedOutput;
  load.total++;
}

export class RoutedRequest implements RouteDecision {
  private phase = PREFILL;

  constructor(
    readonly engine: EngineState,
    readonly policy: RoutingPolicyName,
    readonly reason: string,
    readonly matchedBlocks: number,
    readonly blocks: PromptBlocks,
    readonly decisionMicros: number,
    /** Prompt tokens not covered by the matched prefix, charged to load.prefillTokens. */
    readonly uncachedTokens: number,
    /** Output tokens charged to load.decodeTokens. */
    readonly expectedOutput: number,
    private readonly observer?: OutputObserver,
    /** Which index gave the match (with KV events on). */
    readonly prefixSource?: PrefixSource,
    /** Called once when the prefill ends: first token, or release() before one (PrefixIndex.routed). */
    private readonly prefilled?: () => void,
    /** What the filter stage before the policy did (CandidateFilter label). */
    readonly split?: string,
  ) {}

  /** Whether release() has run. */
  get released(): boolean {
    return this.phase === RELEASED;
  }

  firstToken(): void {
    if (this.phase !== PREFILL) return;
    this.phase = DECODING;
    const load = this.engine.load;
    sub(load, 'prefillTokens', this.uncachedTokens);
    load.decoding++;
    this.prefilled?.();
  }

  release(outputTokens?: number): void {
    if (this.phase === RELEASED) return;
    const load = this.engine.load;
    if (this.phase === PREFILL) {
      sub(load, 'prefillTokens', this.uncachedTokens);
      this.prefilled?.();
    } else sub(load, 'decoding', 1);
    this.phase = RELEASED;
    sub(load, 'inFlight', 1);
    sub(load, 'decodeTokens', this.expectedOutput);
    if (outputTokens !== undefined && Number.isFinite(outputTokens) && outputTokens >= 0) this.observer?.observeOutput(outputTokens);
  }
}
