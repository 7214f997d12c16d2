/**
 * One attempt of a proxied request on one engine, on undici's dispatch API (no response stream
 * objects, no promise per chunk): the client's body bytes go out unchanged; SSE answers pass
 * through chunk by chunk as they arrive (headers go out with the first chunk, so a failure before
 * it can still be retried), other bodies are collected up to the response limit and sent in one
 * write. The attempt never throws: it settles with what happened, and proxy.ts decides between
 * retrying on another engine and answering the client. Only an attempt whose request provably
 * never reached the engine may be retried (not connected, or failed before undici wrote the
 * request): a POST that was sent may be generating, and running it twice costs the engine time
 * and the client its wait. An engine's 5xx is passed through.
 *
 * Timers: one per attempt, first-byte (send → first body byte) then idle (between chunks). A client
 * that goes away aborts the engine request at once; backpressure from a slow client pauses the
 * engine's socket, and a client that accepts no byte for the send timeout (nginx's send_timeout)
 * loses its connection and the engine request, so it cannot hold an in-flight slot forever.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { BrixletError } from '../../common/errors.js';
import type { RouteDecision } from '../router/types.js';
import { clientResponseHeaders } from './headers.js';
import type { RetryReason } from './router-metrics.js';
import { sseErrorEvents, UsageScanner } from './sse.js';
import type { UpstreamTarget } from './upstream-pools.js';

export interface CallOptions {
  readonly firstByteTimeout: number;
  readonly idleTimeout: number;
  readonly responseLimit: number;
  /** Longest time the client may accept no byte while the gateway has some to send (default 60 s). */
  readonly sendTimeout?: number;
}

/** An attempt in progress that the gateway can end early (shutdown). */
export interface Stoppable {
  /** Ends the attempt with `err`: an SSE error ending for a started stream, else a failure nothing was sent for. */
  stop(err: BrixletError): void;
  /** Links of LiveAttempts (undefined while not in it). */
  livePrev?: Stoppable | undefined;
  liveNext?: Stoppable | undefined;
}

/**
 * The attempts in progress, as an intrusive doubly linked list. A Set did the same job but kept
 * every attempt it had held reachable for a while after delete(): at 20k requests/s they survived
 * young-generation collections and were promoted, costing a mark-compact every few hundred ms and
 * about a fifth of the gateway's throughput (bench:router).
 */
export class LiveAttempts {
  private head: Stoppable | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(a: Stoppable): void {
    a.livePrev = undefined;
    a.liveNext = this.head;
    if (this.head !== undefined) this.head.livePrev = a;
    this.head = a;
    this.count++;
  }

  /** Removes `a` if it is in the list. */
  delete(a: Stoppable): void {
    if (a.livePrev === undefined && this.head !== a) return;
    if (a.livePrev !== undefined) a.livePrev.liveNext = a.liveNext;
    else this.head = a.liveNext;
    if (a.liveNext !== undefined) a.liveNext.livePrev = a.livePrev;
    a.livePrev = a.liveNext = undefined;
    this.count--;
  }

  /** A copy, safe to iterate while attempts leave the list. */
  toArray(): Stoppable[] {
    const out: Stoppable[] = [];
    for (let a = this.head; a !== undefined; a = a.liveNext) out.push(a);
    return out;
  }
}

export interface CallInput {
  readonly target: UpstreamTarget;
  readonly decision: RouteDecision;
  /** Path and query as the client sent them (appended to the engine's base path). */
  readonly url: string;
  readonly headers: string[];
  readonly body: Buffer;
  readonly res: ServerResponse;
  /** Headers the gateway adds to the client response (x-brixlet-target, x-request-id …). */
  readonly extraHeaders: OutgoingHttpHeaders;
  /** Called with performance.now() when the first body byte of a streamed answer arrives. */
  readonly onFirstByte?: (at: number) => void;
  /** Attempts in progress: this one is in it until it settles. */
  readonly live?: LiveAttempts;
  /** Called when the client is cut off for accepting no byte within the send timeout. */
  readonly onSendTimeout?: () => void;
}

export type CallOutcome =
  /** The client got the engine's answer. `status` is what the request counts as (502/503/504 when a stream ended in an error event). */
  | { readonly kind: 'answered'; readonly status: number; readonly usage: UsageScanner; readonly failure?: 'midstream' | 'idle-timeout' | 'shutdown' }
  /** The client went away, or stopped reading for the send timeout (`send-timeout`); the engine request was aborted. */
  | { readonly kind: 'gone'; readonly usage: UsageScanner; readonly reason?: 'send-timeout' }
  /** Nothing reached the client. `retry` tells whether another engine may take the request (it never reached this one). */
  | { readonly kind: 'failed'; readonly reason: RetryReason | 'too-large' | 'shutdown'; readonly retry: boolean; readonly error: BrixletError };

const DEFAULT_SEND_TIMEOUT = 60_000;

const CONNECT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** The reason handed to controller.abort() by the gateway itself (timeouts, client gone, limit). */
class GatewayAbort extends Error {}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.cause?.code === 'string' ? e.cause.code : '';
}

function errorText(err: unknown): string {
  const code = errorCode(err);
  const message = (err as Error | undefined)?.message ?? String(err);
  return code !== '' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Sent, no answer yet. */
const PREFILL = 0;
/** Status and headers in; body bytes flowing. */
const BODY = 1;
/** Settled: later callbacks (a 5xx body being read off, an abort's error) are ignored. */
const DONE = 2;

/**
 * undici's dispatch handler, on the callbacks its HTTP/1.1 client calls directly (raw header
 * buffers, a boolean for backpressure), which spares a wrapper and a header object per response.
 */
class Attempt implements Dispatcher.DispatchHandler, Stoppable {
  livePrev: Stoppable | undefined = undefined;
  liveNext: Stoppable | undefined = undefined;
  readonly usage = new UsageScanner();
  private abortFn: ((err: Error) => void) | undefined;
  private resumeFn: (() => void) | undefined;
  private phase = PREFILL;
  private status = 0;
  private streaming = false;
  private headers: OutgoingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private sawByte = false;
  private timedOut = false;
  private clientGone = false;
  private paused = false;
  /** undici wrote the whole request to the engine's socket: from here on it may be generating. */
  private sent = false;
  private sendTimer: NodeJS.Timeout | undefined;
  /** Bytes queued for the client when the send timer was armed: less at expiry means it is reading. */
  private queued = 0;
  /** performance.now() of the last byte from the engine (the idle timer re-arms from it). */
  private lastActivity = 0;
  private timer: NodeJS.Timeout;
  private readonly onClose = (): void => {
    if (this.phase === DONE || this.input.res.writableFinished) return;
    this.clientGone = true;
    this.abort();
    if (this.abortFn === undefined) this.settle({ kind: 'gone', usage: this.usage });
  };
  private readonly onTimer = (): void => {
    if (this.paused) {
      // The client is slow to read, not the engine silent: wait for the client's drain.
      this.timer = setTimeout(this.onTimer, this.opts.idleTimeout);
      return;
    }
    if (this.sawByte) {
      // One timer for both limits: past the first byte it fires only after idleTimeout of silence.
      const left = this.lastActivity + this.opts.idleTimeout - performance.now();
      if (left > 1) {
        this.timer = setTimeout(this.onTimer, left);
        return;
      }
    }
    this.timedOut = true;
    this.abort();
    // Not connected yet: nothing will call back before the connect timeout; settle now.
    if (this.abortFn === undefined) this.onError(new GatewayAbort('timeout'));
  };
  private readonly onDrain = (): void => {
    this.lastActivity = performance.now();
    this.paused = false;
    clearTimeout(this.sendTimer);
    this.resumeFn?.();
  };
  private readonly onSendTimer = (): void => {
    const res = this.input.res;
    const queued = res.writableLength;
    if (queued < this.queued) {
      // Still taking bytes, just slowly: watch the next period.
      this.queued = queued;
      this.sendTimer = setTimeout(this.onSendTimer, this.sendTimeout);
      return;
    }
    this.settle({ kind: 'gone', usage: this.usage, reason: 'send-timeout' });
    this.abort();
    res.destroy();
    this.input.onSendTimeout?.();
  };

  constructor(
    private readonly opts: CallOptions,
    private readonly input: CallInput,
    private readonly resolve: (out: CallOutcome) => void,
  ) {
    this.timer = setTimeout(this.onTimer, opts.firstByteTimeout);
    input.res.on('close', this.onClose);
    input.live?.add(this);
  }

  private get sendTimeout(): number {
    return this.opts.sendTimeout ?? DEFAULT_SEND_TIMEOUT;
  }

  stop(err: BrixletError): void {
    if (this.phase === DONE) return;
    const res = this.input.res;
    if (this.streaming && res.headersSent) {
      this.settle({ kind: 'answered', status: err.statusCode, usage: this.usage, failure: 'shutdown' });
      this.abort();
      if (!res.destroyed) res.end(sseErrorEvents(err));
      return;
    }
    this.settle({ kind: 'failed', reason: 'shutdown', retry: false, error: err });
    this.abort();
  }

  private get engine(): string {
    return this.input.decision.engine.name;
  }

  private abort(): void {
    this.abortFn?.(new GatewayAbort('aborted by the gateway'));
  }

  private settle(out: CallOutcome): void {
    if (this.phase === DONE) return;
    this.phase = DONE;
    clearTimeout(this.timer);
    clearTimeout(this.sendTimer);
    this.input.live?.delete(this);
    this.input.res.off('close', this.onClose);
    this.input.res.off('drain', this.onDrain);
    this.resolve(out);
  }

  private timeoutError(): BrixletError {
    return new BrixletError('BRX_ERR_GATEWAY_TIMEOUT', { engine: this.engine, timeoutMs: this.sawByte ? this.opts.idleTimeout : this.opts.firstByteTimeout });
  }

  onConnect(abort: (err: Error) => void): void {
    this.abortFn = abort;
    if (this.phase === DONE || this.clientGone || this.timedOut) abort(new GatewayAbort('settled before connect'));
  }

  onRequestSent(): void {
    this.sent = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.phase === DONE) return true;
    if (statusCode < 200) return true;
    this.phase = BODY;
    this.status = statusCode;
    this.resumeFn = resume;
    const { headers, eventStream } = clientResponseHeaders(rawHeaders);
    this.streaming = eventStream;
    const extra = this.input.extraHeaders;
    for (const k in extra) headers[k] = extra[k];
    this.headers = headers;
    return true;
  }

  /** From the first byte on, the timer watches silence (idleTimeout) instead of the first-byte limit. */
  private armIdle(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, this.opts.idleTimeout);
  }

  /** The first body byte: the engine is past prefill. Streams send their headers now. */
  private firstByte(): void {
    this.sawByte = true;
    this.input.decision.firstToken();
    // A small answer usually ends with its first chunk: re-arm only for streams (here) or bodies that go on (onData).
    if (!this.streaming) return;
    this.armIdle();
    this.input.onFirstByte?.(this.lastActivity);
    this.headers['x-accel-buffering'] = 'no';
    this.input.res.writeHead(this.status, this.headers);
  }

  onData(chunk: Buffer): boolean {
    if (this.phase !== BODY) return true;
    this.lastActivity = performance.now();
    if (!this.sawByte) this.firstByte();
    else if (!this.streaming && this.chunks.length === 1) this.armIdle();
    this.size += chunk.length;
    if (this.streaming) {
      this.usage.feed(chunk);
      if (!this.input.res.write(chunk) && !this.paused) {
        this.paused = true;
        this.input.res.once('drain', this.onDrain);
        this.queued = this.input.res.writableLength;
        this.sendTimer = setTimeout(this.onSendTimer, this.sendTimeout);
      }
      return !this.paused;
    }
    if (this.size > this.opts.responseLimit) {
      this.chunks = [];
      // Settle first: the abort calls back onError, which must find the attempt done.
      this.settle({ kind: 'failed', reason: 'too-large', retry: false, error: new BrixletError('BRX_ERR_GATEWAY_RESPONSE_TOO_LARGE', { engine: this.engine, limit: this.opts.responseLimit }) });
      this.abort();
      return true;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.phase !== BODY) return;
    const res = this.input.res;
    if (!this.sawByte) {
      this.lastActivity = performance.now();
      this.firstByte();
    }
    if (this.streaming) {
      res.end();
      this.settle({ kind: 'answered', status: this.status, usage: this.usage });
      return;
    }
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.usage.scanBody(body);
    this.headers['content-length'] = body.length;
    this.settle({ kind: 'answered', status: this.status, usage: this.usage });
    if (!res.destroyed) {
      res.writeHead(this.status, this.headers);
      res.end(body);
      // The engine is done; a client that never takes the answer must not hold it (and its socket)
      // forever. Only what the kernel did not take is watched: a timer per answer would be hot-path cost.
      if (res.writableLength > 0) watchSend(res, this.sendTimeout, this.input.onSendTimeout);
    }
  }

  onError(err: Error): void {
    if (this.phase === DONE) return;
    const res = this.input.res;
    if (this.clientGone) return this.settle({ kind: 'gone', usage: this.usage });
    const started = this.phase === BODY && this.streaming && res.headersSent;
    if (!started) {
      // Retry only what never reached the engine; a connect failure never did.
      const connect = this.phase === PREFILL && CONNECT_CODES.has(errorCode(err));
      const retry = connect || !this.sent;
      if (this.timedOut) return this.settle({ kind: 'failed', reason: 'timeout', retry, error: this.timeoutError() });
      const reason: RetryReason = connect ? 'connect' : 'reset';
      return this.settle({ kind: 'failed', reason, retry, error: new BrixletError('BRX_ERR_GATEWAY_UPSTREAM', { engine: this.engine, reason: errorText(err) }, { cause: err }) });
    }
    // Mid-stream: the client has a 200 and part of the answer. End it with an error event, never a hang.
    const failure = this.timedOut ? 'idle-timeout' : 'midstream';
    const error = this.timedOut ? this.timeoutError() : new BrixletError('BRX_ERR_GATEWAY_UPSTREAM', { engine: this.engine, reason: `stream broke after ${this.usage.events} event(s): ${errorText(err)}` });
    if (!res.destroyed) res.end(sseErrorEvents(error));
    this.settle({ kind: 'answered', status: this.timedOut ? 504 : 502, usage: this.usage, failure });
  }
}

/** Destroys a finished response the client stops taking: no byte accepted for `timeoutMs` while some are queued. */
export function watchSend(res: Pick<ServerResponse, 'writableLength' | 'writableFinished' | 'destroyed' | 'destroy' | 'once'>, timeoutMs: number, onTimeout: (() => void) | undefined): void {
  let queued = res.writableLength;
  const check = (): void => {
    if (res.writableFinished || res.destroyed) return;
    const now = res.writableLength;
    if (now < queued) {
      queued = now;
      timer = setTimeout(check, timeoutMs);
      return;
    }
    res.destroy();
    onTimeout?.();
  };
  let timer = setTimeout(check, timeoutMs);
  const stop = (): void => clearTimeout(timer);
  res.once('finish', stop);
  res.once('close', stop);
}

export function callUpstream(opts: CallOptions, input: CallInput): Promise<CallOutcome> {
  return new Promise<CallOutcome>((resolve) => {
    const attempt = new Attempt(opts, input, resolve);
    try {
      input.target.pool.dispatch({ path: input.target.basePath + input.url, method: 'POST', headers: input.headers, body: input.body }, attempt);
    } catch (err) {
      attempt.onError(err as Error);
    }
  });
}
