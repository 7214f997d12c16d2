/**
 * Proxies one OpenAI request (body already read): validates it, picks candidates from the engine
 * set, asks the router (load counted synchronously inside the decision), calls the engine and
 * retries on another engine only when the request never reached the first one (connect failure,
 * or a reset before undici wrote it). Every attempt's load is released whatever happened;
 * finished requests feed the router metrics and the load monitor. Errors before any byte went out
 * are answered with the listeners' OpenAI-style error body.
 *
 * It works on the raw Node.js request and response: the gateway routes the two completion paths
 * past fastify's per-request machinery (fast-path.ts), which would cost as much as the proxying.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoutingPolicyName } from '../../common/config/schema.js';
import { BrixletError, isBrixletError } from '../../common/errors.js';
import { mapError } from '../../common/http/error-reply.js';
import type { Logger } from '../../common/logger.js';
import type { EngineSetView } from '../engines/types.js';
import type { EngineState, RouteDecision, RouteRequest } from '../router/types.js';
import { upstreamRequestHeaders } from './headers.js';
import type { LoadMonitor } from './load-monitor.js';
import { modelNotFound } from './model-not-found.js';
import { type OpenAiEndpoint, type OpenAiRequest, parseJsonBody, readOpenAiRequest } from './openai-body.js';
import { policyHeader, weightHeader } from './request-headers.js';
import type { RouterMetrics } from './router-metrics.js';
import type { EngineTokenizer } from './engine-tokenizer.js';
import { charTokenizer, type Tokenizer } from './tokenizer.js';
import { Admission, type Ticket } from './admission.js';
import { type CallOptions, type CallOutcome, callUpstream, LiveAttempts } from './upstream-call.js';
import type { UpstreamPools } from './upstream-pools.js';

/** What the gateway needs from the router (src/coordinator/router/router.ts). */
export interface GatewayRouter {
  route(req: RouteRequest, candidates: readonly EngineState[]): RouteDecision;
}

export interface ProxyDeps extends CallOptions {
  readonly engines: EngineSetView;
  readonly router: GatewayRouter;
  readonly pools: UpstreamPools;
  readonly metrics: RouterMetrics;
  readonly monitor: LoadMonitor;
  /** Other engines tried when one provably never got the request (gateway.retries). */
  readonly retries: number;
  /** Requests proxied at once before new ones get 429 (gateway.maxInFlight); 0 = no limit. */
  readonly maxInFlight: number;
  /** Request-body bytes held at once before new ones get 503 (gateway.maxBufferedBody); 0 or absent = no limit. */
  readonly maxBufferedBody?: number;
  /** The listener's body limit (for the 413 message). */
  readonly bodyLimit: number;
  readonly tokenizer?: Tokenizer;
  /** --gateway.tokenizer engine: token ids from an engine's /tokenize before routing. */
  readonly engineTokenizer?: EngineTokenizer;
  readonly log: Logger;
  readonly now?: () => number;
}

/** Status a request counts as when the client went away (nginx's convention). */
const CLIENT_CLOSED = 499;

interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: Buffer;
  readonly reqId: string;
  /** Origin-form path and query forwarded to the engine. */
  readonly url: string;
  readonly openai: OpenAiRequest;
  readonly route: RouteRequest;
  readonly startedAt: number;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class CompletionProxy {
  private readonly admission: Admission;
  private readonly live = new LiveAttempts();
  private readonly tokenizer: Tokenizer;
  private readonly now: () => number;

  constructor(private readonly deps: ProxyDeps) {
    this.tokenizer = deps.tokenizer ?? charTokenizer;
    this.now = deps.now ?? Date.now;
    this.admission = new Admission({ maxInFlight: deps.maxInFlight, maxBufferedBody: deps.maxBufferedBody ?? 0 });
  }

  /** Requests admitted right now (from their headers until they end). */
  get active(): number {
    return this.admission.inFlight;
  }

  /** Request-body bytes held right now. */
  get bufferedBytes(): number {
    return this.admission.bufferedBytes;
  }

  /** Admits a request from its headers, before its body is read; throws 429 (in flight) or 503 (buffered bytes). */
  admit(declaredBodyBytes: number): Ticket {
    return this.admission.admit(declaredBodyBytes);
  }

  /**
   * Ends every attempt still running (shutdown past its drain time): started streams get the SSE
   * error ending, requests with nothing sent yet a 503. Returns how many were ended.
   */
  stopAll(err: BrixletError): number {
    const n = this.live.size;
    for (const a of this.live.toArray()) a.stop(err);
    return n;
  }

  /**
   * Handles one request whose body has been read. Never throws: failures become error responses.
   * `ticket` is its admission when it was admitted before the body was read; else it is admitted here.
   */
  handle(endpoint: OpenAiEndpoint, req: IncomingMessage, res: ServerResponse, body: Buffer, reqId: string, ticket?: Ticket): void {
    const startedAt = performance.now();
    // Only a model some engine serves becomes a label value: request bodies cannot grow the series.
    let model = 'unknown';
    let call: Call;
    let admitted = ticket;
    try {
      const d = this.deps;
      admitted ??= this.admission.admit(body.length);
      const policy: RoutingPolicyName | undefined = policyHeader(header(req, 'routing-strategy'));
      const openai = readOpenAiRequest(endpoint, parseJsonBody(body), this.tokenizer);
      if (!d.engines.knowsModel(openai.model)) throw modelNotFound(openai.model, d.engines);
      model = openai.model;
      const prefillWeight = weightHeader('x-brixlet-prefill-weight', header(req, 'x-brixlet-prefill-weight'));
      const decodeWeight = weightHeader('x-brixlet-decode-weight', header(req, 'x-brixlet-decode-weight'));
      const route: RouteRequest = {
        model: openai.model,
        prompt: openai.prompt,
        promptTokens: openai.promptTokens,
        ...(openai.maxTokens !== undefined && { maxTokens: openai.maxTokens }),
        ...(policy !== undefined && { policy }),
        ...(prefillWeight !== undefined && { prefillWeight }),
        ...(decodeWeight !== undefined && { decodeWeight }),
        ...(d.engines.isLoraAdapter(openai.model) && { lora: openai.model }),
      };
      call = { req, res, body, reqId, url: req.url ?? '/', openai, route, startedAt };
    } catch (err) {
      admitted?.release();
      const status = this.sendError(req, res, reqId, err);
      this.deps.metrics.request(model, 'none', 'none', status, (performance.now() - startedAt) / 1000);
      return;
    }
    void this.run(call, admitted);
  }

  private async run(call: Call, ticket: Ticket): Promise<void> {
    try {
      await this.proxy(this.deps.engineTokenizer === undefined ? call : await this.tokenized(call, this.deps.engineTokenizer));
    } catch (err) {
      this.sendError(call.req, call.res, call.reqId, err);
    } finally {
      ticket.release();
    }
  }

  private tokenizeTurn = 0;

  /** The call with the engine's token count and token-id prompt; unchanged when no engine answers. */
  private async tokenized(call: Call, tokenizer: EngineTokenizer): Promise<Call> {
    const cands = this.deps.engines.candidates(call.route.model).engines;
    if (cands.length === 0) return call;
    const engine = cands[this.tokenizeTurn++ % cands.length] as EngineState;
    const t = await tokenizer.tokenize(engine.url, call.route.model, call.openai.prompt);
    if (t === undefined) {
      this.deps.log.debug({ engine: engine.name, reqId: call.reqId }, 'tokenize failed; counting characters');
      return call;
    }
    return { ...call, openai: { ...call.openai, promptTokens: t.count }, route: { ...call.route, prompt: t.text, promptTokens: t.count } };
  }

  private async proxy(call: Call): Promise<void> {
    const d = this.deps;
    const { openai, req } = call;
    const model = openai.model;
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, ['x-request-id', call.reqId]);
    let exclude: Set<string> | undefined;
    let lastError: BrixletError | undefined;
    let lastPolicy: string = call.route.policy ?? 'none';
    // Demand, also when no engine can take it: the optimizer's rate counts arrivals, not completions.
    d.monitor.arrived?.(model, this.now());
    for (let attempt = 0; ; attempt++) {
      const cands = d.engines.candidates(model, exclude);
      if (cands.engines.length === 0) {
        const err = lastError ?? new BrixletError('BRX_ERR_GATEWAY_NO_ENGINE', { model, reason: cands.reason ?? 'no routable engine' });
        d.metrics.request(model, lastPolicy, 'none', err.statusCode, (performance.now() - call.startedAt) / 1000);
        throw err;
      }
      const decision = d.router.route(exclude === undefined ? call.route : { ...call.route, exclude }, cands.engines);
      const engine = decision.engine;
      const policy = decision.policy;
      lastPolicy = policy;
      const lastChance = attempt >= d.retries || cands.engines.length === 1;
      let out: CallOutcome | undefined;
      try {
        // Inside the try: the router already counted this request on the engine.
        d.metrics.decision(policy, engine.name, decision.decisionMicros);
        const target = d.pools.target(engine.url);
        out = await callUpstream(d, {
          target,
          decision,
          url: call.url,
          headers,
          body: call.body,
          res: call.res,
          extraHeaders: { 'x-brixlet-target': engine.name, 'x-brixlet-policy': decisionHeader(policy, decision.prefixSource, decision.split), 'target-pod': target.hostPort, 'x-request-id': call.reqId },
          onFirstByte: (at) => d.metrics.ttft(model, policy, (at - call.startedAt) / 1000),
          live: this.live,
          onSendTimeout: () => {
            d.metrics.clientTimeout('send');
            d.log.info({ engine: engine.name, model, reqId: call.reqId, timeoutMs: d.sendTimeout }, 'client accepted no bytes within the send timeout; closed its connection (and the engine request, if still running)');
          },
        });
      } finally {
        // Only a complete answer's length feeds the router's expected-output average.
        decision.release(out?.kind === 'answered' && out.failure === undefined ? out.usage.outputTokens() : undefined);
      }
      const seconds = (performance.now() - call.startedAt) / 1000;
      if (out.kind === 'failed') {
        if (out.reason !== 'shutdown') d.metrics.upstreamError(engine.name, out.reason);
        if (out.retry && !lastChance && out.reason !== 'too-large' && out.reason !== 'shutdown') {
          d.metrics.retry(out.reason);
          d.log.debug({ engine: engine.name, reason: out.reason, err: out.error.message, attempt, reqId: call.reqId }, 'retrying on another engine');
          (exclude ??= new Set()).add(engine.uid);
          lastError = out.error;
          continue;
        }
        d.metrics.request(model, policy, engine.name, out.error.statusCode, seconds);
        throw out.error;
      }
      if (out.kind === 'gone') {
        d.metrics.request(model, policy, engine.name, CLIENT_CLOSED, seconds);
        return;
      }
      if (out.failure === 'shutdown') {
        d.log.warn({ engine: engine.name, model, reqId: call.reqId }, 'stream still open at the end of the drain; the client got an error event');
      } else if (out.failure !== undefined) {
        d.metrics.upstreamError(engine.name, out.failure);
        d.log.warn({ engine: engine.name, model, reason: out.failure, reqId: call.reqId }, 'engine stream failed; the client got an error event');
      }
      d.metrics.request(model, policy, engine.name, out.status, seconds);
      if (out.status < 300 || out.failure !== undefined) this.recordTokens(model, openai, out);
      return;
    }
  }

  private recordTokens(model: string, openai: OpenAiRequest, out: Extract<CallOutcome, { kind: 'answered' }>): void {
    const input = out.usage.promptTokens >= 0 ? out.usage.promptTokens : openai.promptTokens;
    const output = out.usage.outputTokens() ?? 0;
    this.deps.metrics.tokens(model, input, output);
    this.deps.monitor.record(model, input, output, this.now());
  }

  /** The OpenAI-style error body every brixlet listener answers with (nothing when bytes already went out); returns its status. */
  sendError(req: IncomingMessage, res: ServerResponse, reqId: string, err: unknown): number {
    const mapped = mapError(err, { method: req.method ?? 'POST', url: req.url ?? '' }, this.deps.bodyLimit);
    const code = mapped.body.error.code;
    if (!isBrixletError(err)) this.deps.log.error({ err, reqId }, 'request failed');
    else if (mapped.statusCode >= 500) this.deps.log.warn({ code, reqId, reason: mapped.body.error.message }, 'request failed');
    else this.deps.log.debug({ code, reqId }, 'request rejected');
    if (res.headersSent || res.destroyed) return mapped.statusCode;
    const text = JSON.stringify(mapped.body);
    const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-request-id': reqId };
    // Refusals for load say when to come back; 405 says what is allowed.
    if (code === 'BRX_ERR_GATEWAY_OVERLOADED' || code === 'BRX_ERR_GATEWAY_BUFFER_FULL' || code === 'BRX_ERR_GATEWAY_SHUTTING_DOWN') headers['retry-after'] = '1';
    if (code === 'BRX_ERR_HTTP_METHOD_NOT_ALLOWED') headers.allow = 'POST';
    res.writeHead(mapped.statusCode, headers);
    res.end(text);
    return mapped.statusCode;
  }
}

/**
 * The policy, with --gateway.kv-events the index that matched the chosen engine, and the GPU type the
 * optimizer's split picked: `cost; prefix=kv-events; split=l20`.
 */
function decisionHeader(policy: string, source: string | undefined, split: string | undefined): string {
  const withSource = source === undefined ? policy : `${policy}; prefix=${source}`;
  return split === undefined ? withSource : `${withSource}; split=${split}`;
}
