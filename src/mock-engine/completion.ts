/**
 * One completion request through the engine model: submitted with its prompt's token count and
 * chained block hashes, answered as the model's events fall due — a stream gets its headers at
 * once (as vLLM sends them) and one SSE chunk per token; a non-streaming request gets its body at
 * 'finish'. A client that goes away aborts the request in the model; an injected `midstream`
 * failure drops the connection part way through. With a KV shard attached, a prompt the engine's
 * prefix cache does not fully hold is looked up there first, and its new blocks are offloaded once
 * prefilled (kv-offload.ts).
 */
import type { ServerResponse } from 'node:http';
import type { EngineDriver } from './driver.js';
import type { ArmedFailure } from './failures.js';
import { blockHashes, tokenIds, tokensOf } from './hash.js';
import { KEY_BYTES } from '../kvcache/client/index.js';
import type { MockKvEvents } from './kv-events.js';
import type { KvOffload } from './kv-offload.js';
import type { EngineMetrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { apiError, type ApiError, type ParsedRequest } from './request.js';
import { chainSeed, loadableBlocks } from './vllm-keys.js';
import { answerBody, errorBody, errorEvent, type FinishReason, SSE_DONE, StreamChunks } from './responses.js';
import type { ModelEvent } from './types.js';

export interface EngineStats {
  /** Completion requests accepted by the model. */
  requests: number;
  completed: number;
  /** Ended early: the client went away, the model dropped it, or the engine closed. */
  aborted: number;
}

export interface CompletionContext {
  readonly options: ResolvedOptions;
  readonly driver: EngineDriver;
  readonly metrics: EngineMetrics;
  readonly stats: EngineStats;
  /** Requests in flight, for close(). */
  readonly inflight: Set<CompletionRun>;
  /** The node's KV shard, when the engine is attached to one. */
  readonly kv: KvOffload | undefined;
  /** The KV events publisher, when --kv-events-endpoint is set. */
  readonly kvEvents: MockKvEvents | undefined;
  /** Per request, in arrival order: a sequence number, the filler's first word, a drawn output length. */
  next(): { readonly seq: number; readonly wordStart: number; readonly drawnTokens: number };
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_TYPE = 'application/json';

export function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, errorBody(e));
}

export class CompletionRun {
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly promptTokens: number;
  private readonly outputTokens: number;
  private readonly finish: FinishReason;
  private readonly wordStart: number;
  private readonly chunks: StreamChunks | undefined;
  /** Model time of submission. */
  private arrival = 0;
  private admitted = 0;
  private firstToken = 0;
  private written = 0;
  private done = false;
  /** The prompt's shard keys, and the first block to offload after prefill (KV shard attached). */
  private kvKeys: Buffer | undefined;
  private offloadFrom = 0;
  private hashes: readonly number[] = [];

  constructor(
    private readonly ctx: CompletionContext,
    private readonly req: ParsedRequest,
    private readonly res: ServerResponse,
    private readonly failure: ArmedFailure | undefined,
  ) {
    const o = ctx.options;
    const draw = ctx.next();
    this.id = `${req.endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${o.name ?? 'mock'}-${draw.seq}`;
    this.wordStart = draw.wordStart;
    this.promptTokens = Math.max(1, tokensOf(req.promptText, o.charsPerToken));
    this.outputTokens = req.maxTokens ?? Math.max(1, Math.min(draw.drawnTokens, o.maxModelLen - this.promptTokens));
    this.finish = req.maxTokens !== undefined ? 'length' : 'stop';
    const identity = { endpoint: req.endpoint, id: this.id, created: this.created, model: req.model };
    this.chunks = req.stream ? new StreamChunks(identity, this.wordStart) : undefined;
  }

  /** Validates the size against the model length, then submits; answers errors itself. */
  start(): void {
    const o = this.ctx.options;
    if (this.promptTokens + this.outputTokens > o.maxModelLen) {
      sendError(this.res, apiError(400, 'context_length_exceeded', `This model's maximum context length is ${o.maxModelLen} tokens; the request has ${this.promptTokens} prompt tokens and asks for ${this.outputTokens} more.`, 'messages'));
      return;
    }
    const blockChars = Math.max(1, Math.round(o.profile.blockTokens * o.charsPerToken));
    this.ctx.inflight.add(this);
    this.ctx.stats.requests++;
    this.res.on('close', () => {
      if (!this.done) this.abort();
    });
    // With no latency the whole answer is written inside submit(): corked, it leaves in one write.
    const instant = this.ctx.driver.timeScale === Infinity;
    if (this.chunks !== undefined) {
      this.res.writeHead(200, SSE_HEADERS);
      if (!instant) this.res.flushHeaders();
      if (this.failure?.mode === 'midstream' && this.dropPoint() === 0) {
        this.res.flushHeaders();
        return this.drop();
      }
    }
    // A cache salt seeds the key chain as the vLLM connector does (the mock engine serves no LoRA adapters:
    // its served names are the base model's); its own prefix cache is seeded from the salt too, so salted
    // blocks match only the same salt, as in vLLM.
    const seed = chainSeed(null, this.req.cacheSalt);
    const hashes = blockHashes(this.req.promptText, blockChars, this.req.cacheSalt === undefined ? 0 : seed.readInt32LE(0));
    // Set before submit(): with no latency the whole answer (and its metrics) happens inside it.
    this.arrival = this.ctx.driver.now();
    const kv = this.ctx.kv;
    if (kv === undefined) return this.submit(hashes, 0, this.arrival);
    const keys = kv.keys(tokenIds(this.req.promptText, o.charsPerToken), seed);
    this.kvKeys = keys;
    // The connector's rule: at least the last prompt token is computed; whole blocks beyond the GPU hit load.
    const maxMatch = Math.min(hashes.length, keys.length / KEY_BYTES, loadableBlocks(this.promptTokens, o.profile.blockTokens));
    const gpuHit = this.ctx.driver.model.cachedPrefixBlocks(hashes);
    if (gpuHit >= maxMatch) {
      this.offloadFrom = gpuHit;
      return this.submit(hashes, 0, this.arrival);
    }
    void kv.lookupAnswer(keys, maxMatch).then((answer) => {
      const hits = answer ?? 0;
      // Blocks announced as held by the shard that it no longer has (evicted): BlockRemoved, medium BRIXLET.
      if (answer !== undefined && answer < maxMatch) this.ctx.kvEvents?.poolMissing(hashes.slice(answer, maxMatch));
      this.offloadFrom = hits;
      if (!this.done) this.submit(hashes, hits, this.ctx.driver.now());
    });
  }

  private submit(hashes: number[], loadableBlocks: number, at: number): void {
    const instant = this.ctx.driver.timeScale === Infinity;
    if (instant) this.res.cork();
    this.hashes = hashes;
    const req = {
      id: this.id,
      promptTokens: this.promptTokens,
      blockHashes: hashes,
      outputTokens: this.outputTokens,
      ...(loadableBlocks > 0 && { loadableBlocks }),
      ...(this.ctx.kvEvents !== undefined && { tokenIds: tokenIds(this.req.promptText, this.ctx.options.charsPerToken) }),
    };
    this.ctx.driver.submit(req, (ev) => this.onEvent(ev), at);
    if (instant && !this.res.destroyed) this.res.uncork();
  }

  /** Ends the request now (engine shutting down): streams get an error event, others a 503. */
  close(): void {
    if (this.done) return;
    const e = apiError(503, 'engine_shutting_down', 'the engine is shutting down');
    if (this.res.headersSent) this.res.end(errorEvent(e));
    else sendError(this.res, e);
    this.abort();
  }

  private onEvent(ev: ModelEvent): void {
    if (this.done) return;
    switch (ev.type) {
      case 'first-token':
        this.admitted = ev.admittedAt ?? this.arrival;
        this.firstToken = ev.at;
        if (this.kvKeys !== undefined) {
          if (ev.loadMs !== undefined) this.ctx.kv?.addLoadMs(ev.loadMs);
          const events = this.ctx.kvEvents;
          const hashes = this.hashes;
          this.ctx.kv?.offload(this.kvKeys, this.offloadFrom, events === undefined ? undefined : (blocks) => events.offloaded(blocks.filter((b) => b < hashes.length).map((b) => hashes[b] as number)));
        }
        this.emitToken(0);
        return;
      case 'token':
        this.emitToken(ev.index);
        return;
      case 'finish':
        return this.complete(ev.at);
      case 'aborted':
        // The model dropped it (it can never fit the KV cache).
        this.done = true;
        this.ctx.inflight.delete(this);
        this.ctx.stats.aborted++;
        if (this.res.headersSent) this.res.end(errorEvent(apiError(400, 'kv_cache_exceeded', 'the prompt does not fit the KV cache')));
        else sendError(this.res, apiError(400, 'kv_cache_exceeded', 'the prompt does not fit the KV cache', 'messages'));
        return;
    }
  }

  private emitToken(index: number): void {
    if (this.chunks === undefined) return;
    this.res.write(this.chunks.token(index, index === this.outputTokens - 1 ? this.finish : undefined));
    this.written++;
    if (this.failure?.mode === 'midstream' && this.written >= this.dropPoint()) this.drop();
  }

  private complete(at: number): void {
    this.done = true;
    this.ctx.inflight.delete(this);
    const usage = { promptTokens: this.promptTokens, completionTokens: this.outputTokens };
    this.ctx.metrics.observe({ arrival: this.arrival, admitted: this.admitted, firstToken: this.firstToken, finished: at, promptTokens: this.promptTokens, outputTokens: this.outputTokens, finishReason: this.finish });
    this.ctx.stats.completed++;
    if (this.chunks !== undefined) {
      this.res.end(this.req.includeUsage ? this.chunks.usage(usage) + SSE_DONE : SSE_DONE);
      return;
    }
    const body = answerBody({ endpoint: this.req.endpoint, id: this.id, created: this.created, model: this.req.model }, this.wordStart, this.finish, usage);
    if (this.failure?.mode === 'midstream') {
      this.res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
      this.res.write(body.slice(0, body.length >> 1));
      setImmediate(() => this.res.destroy());
      return;
    }
    sendJson(this.res, 200, body);
  }

  /** Token chunks a `midstream` failure lets through before dropping the connection. */
  private dropPoint(): number {
    return Math.min(2, this.outputTokens - 1);
  }

  /** Drops the connection once what was written so far has left (a `midstream` failure). */
  private drop(): void {
    this.abort();
    setImmediate(() => this.res.destroy());
  }

  private abort(): void {
    if (this.done) return;
    this.done = true;
    this.ctx.inflight.delete(this);
    this.ctx.stats.aborted++;
    this.ctx.driver.abort(this.id);
  }
}
