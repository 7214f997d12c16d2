/**
 * The router: one routing decision per request, synchronous from start to end. It hashes the
 * prompt's blocks once, asks the request's policy (routing-strategy header, else the default),
 * then — before returning, with no await in between — counts the request on the chosen engine
 * (in flight, uncached prefill tokens, expected output tokens) and inserts the prompt's blocks for
 * it in the prefix index. A burst of requests in one event-loop tick therefore sees every earlier
 * request of the burst. With KV events (HybridPrefixIndex) the decision also names the index that
 * answered for the chosen engine (prefixSource). An optional filter stage before the policy (the GPU
 * optimizer's split of request shapes over GPU types) narrows the candidates and names what it did
 * (split). The gateway and the routing simulator share this class.
 */
import { performance } from 'node:perf_hooks';
import { BrixletError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { createPolicies, type PolicyOptions } from './policies/index.js';
import { chargeLoad, RoutedRequest, type OutputObserver } from './route-decision.js';
import type { CandidateFilter, EngineState, PolicyContext, PrefixIndex, RouteDecision, RouteRequest, RoutingPolicy, RoutingPolicyName } from './types.js';

/** Expected output tokens of a request without max_tokens before any output was observed. */
export const DEFAULT_EXPECTED_OUTPUT = 128;
/** Weight of a new observation in the running average once warmed up (≈ the last 50 requests). */
const OUTPUT_EWMA_ALPHA = 0.02;

export interface RouterOptions {
  readonly defaultPolicy: RoutingPolicyName;
  readonly prefix: PrefixIndex;
  /** Uniform in [0, 1); seed it in tests and the simulator. Default Math.random. */
  readonly random?: () => number;
  /** Clock in ms handed to policies (the simulator's virtual clock). Default Date.now. */
  readonly now?: () => number;
  readonly log?: Logger;
  /** Options of the policies the router builds. */
  readonly policyOptions?: PolicyOptions;
  /** Policy objects replacing the built ones, by name (the simulator's tuned variants). */
  readonly policies?: Partial<Record<RoutingPolicyName, RoutingPolicy>>;
  /** A stage before the policy (the optimizer's split over GPU types); setCandidateFilter() replaces it. */
  readonly filter?: CandidateFilter;
}

interface MutableContext {
  prefix: PrefixIndex;
  random: () => number;
  now: number;
}

export class Router implements OutputObserver {
  readonly prefix: PrefixIndex;
  readonly defaultPolicy: RoutingPolicyName;
  private readonly policies: Map<RoutingPolicyName, RoutingPolicy>;
  private readonly clock: () => number;
  private readonly log: Logger | undefined;
  private readonly ctx: MutableContext;
  private outputAvg = DEFAULT_EXPECTED_OUTPUT;
  private outputs = 0;
  private filter: CandidateFilter | undefined;

  constructor(opts: RouterOptions) {
    this.prefix = opts.prefix;
    this.defaultPolicy = opts.defaultPolicy;
    this.policies = createPolicies(opts.policyOptions);
    for (const [name, p] of Object.entries(opts.policies ?? {})) {
      if (p !== undefined) this.policies.set(name as RoutingPolicyName, p);
    }
    this.clock = opts.now ?? Date.now;
    this.log = opts.log;
    this.ctx = { prefix: opts.prefix, random: opts.random ?? Math.random, now: 0 };
    this.filter = opts.filter;
  }

  /** Sets (or, with undefined, removes) the stage that narrows the candidates before the policy. */
  setCandidateFilter(filter: CandidateFilter | undefined): void {
    this.filter = filter;
  }

  /** The running average of observed output tokens (the expectation for requests without max_tokens). */
  get expectedOutput(): number {
    return Math.round(this.outputAvg);
  }

  /** The policy object a name resolves to. */
  policy(name: RoutingPolicyName): RoutingPolicy {
    const p = this.policies.get(name);
    if (p === undefined) throw new BrixletError('BRX_ERR_GATEWAY_POLICY', { policy: name });
    return p;
  }

  /**
   * Picks an engine among `candidates` (healthy, serving the model) and counts the request on it.
   * `policy`, when given, overrides both the request's and the default policy (simulator baselines).
   * Throws BRX_ERR_GATEWAY_NO_ENGINE when no candidate is left after `req.exclude`.
   */
  route(req: RouteRequest, candidates: readonly EngineState[], policy?: RoutingPolicy): RouteDecision {
    const t0 = performance.now();
    let pool = candidates;
    if (req.exclude !== undefined && req.exclude.size > 0) {
      const left: EngineState[] = [];
      for (const e of candidates) if (!req.exclude.has(e.uid)) left.push(e);
      pool = left;
    }
    if (pool.length === 0) {
      const reason = candidates.length === 0 ? 'no candidate engine' : `all ${candidates.length} engine(s) already tried`;
      throw new BrixletError('BRX_ERR_GATEWAY_NO_ENGINE', { model: req.model, reason });
    }
    const chosenPolicy = policy ?? this.policy(req.policy ?? this.defaultPolicy);
    const narrowed = this.filter?.filter(req, pool);
    if (narrowed !== undefined && narrowed.engines.length > 0) pool = narrowed.engines;
    const split = narrowed?.label;
    const blocks = this.prefix.blocks(req.prompt, req.lora);
    const ctx = this.ctx;
    ctx.now = this.clock();
    const choice = chosenPolicy.choose(req, blocks, pool, ctx as PolicyContext);
    const engine = choice.engine;
    const source = this.prefix.source?.(engine.uid);
    const matched = choice.matchedBlocks ?? this.prefix.matchLength(engine.uid, blocks);
    const uncached = Math.max(0, Math.round(req.promptTokens - matched * blocks.blockTokens));
    const expected = req.maxTokens !== undefined && req.maxTokens >= 0 ? req.maxTokens : this.expectedOutput;
    chargeLoad(engine.load, uncached, expected);
    this.prefix.insert(engine.uid, blocks, engine.cacheBlocks);
    const settle = this.prefix.routed?.(engine.uid, blocks, ctx.now);
    const micros = (performance.now() - t0) * 1000;
    const log = this.log;
    if (log !== undefined && log.isLevelEnabled('debug')) {
      log.debug({ policy: chosenPolicy.name, engine: engine.name, reason: choice.reason, matchedBlocks: matched, prefixSource: source, split, decisionMicros: micros }, 'routed');
    }
    const prefilled = settle === undefined ? undefined : () => settle(this.clock());
    return new RoutedRequest(engine, chosenPolicy.name, choice.reason, matched, blocks, micros, uncached, expected, this, source, prefilled, split);
  }

  /** Feeds the running average of output tokens (called by release(outputTokens)). */
  observeOutput(tokens: number): void {
    if (!Number.isFinite(tokens) || tokens < 0) return;
    this.outputs++;
    const alpha = Math.max(OUTPUT_EWMA_ALPHA, 1 / this.outputs);
    this.outputAvg += alpha * (tokens - this.outputAvg);
  }

  /** Forgets an engine in the prefix index (it left, or restarted with an empty cache). */
  forgetEngine(uid: string): void {
    this.prefix.removeEngine(uid);
  }
}
