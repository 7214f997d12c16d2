/**
 * Serves the proxied completion routes straight from the listener's Node.js server, ahead of
 * fastify: for a small completion, fastify's routing, hooks and reply cost as much CPU as the
 * proxying itself (bench:router). Every other request — and the same routes through app.inject()
 * in tests — goes to fastify unchanged. A request is admitted (in-flight slot, body bytes) from its
 * headers before its body is read; the body is read here with the listener's limit (413 over it)
 * and within the body timeout (408, then the connection closes); the request id is the client's
 * x-request-id or a new one. Targets are routed and forwarded by their normalised origin-form path
 * (absolute form, fragments and dot segments resolved); another method on a completion path gets
 * 405 with Allow. While the server closes, requests still arriving on kept-alive connections get
 * 503, as fastify answers them.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { BrixletError } from '../../common/errors.js';
import type { Ticket } from './admission.js';

export type RawHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer, reqId: string, ticket?: Ticket) => void;
export type ErrorSender = (req: IncomingMessage, res: ServerResponse, reqId: string, err: unknown) => void;

export interface FastPathOptions {
  /** POST path (without query) → handler. */
  readonly routes: ReadonlyMap<string, RawHandler>;
  readonly bodyLimit: number;
  /** Time to receive the whole body once the headers are in (ms); 0 = none. */
  readonly bodyTimeout?: number;
  /** Admits a request from its headers (declared body length, 0 if unknown); throws the refusal. */
  readonly admit?: (declared: number) => Ticket;
  /** Called when a body timed out (for a metric). */
  readonly onBodyTimeout?: () => void;
  readonly sendError: ErrorSender;
  /** Prefix of generated request ids (default `gateway-p`). */
  readonly idPrefix?: string;
}

let seq = 0;

/** Declared bodies above this are read into one preallocated buffer. */
const LARGE_BODY = 64 * 1024;

export interface Target {
  /** Path without query, for routing. */
  readonly path: string;
  /** Origin-form path and query, as forwarded to an engine. */
  readonly url: string;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The request target in origin form: an absolute-form target (`http://host/v1/…`) gives its path
 * and query, a fragment is dropped, dot segments are resolved. Undefined for what has no path
 * (authority or asterisk form). Plain origin-form targets, nearly all of them, skip the URL parser.
 */
export function normaliseTarget(raw: string | undefined): Target | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url = raw;
  if (raw.charCodeAt(0) !== 0x2f || raw.includes('#') || raw.includes('/.') || raw.includes('\\')) {
    let parsed: URL | undefined;
    try {
      // A leading `//` is a path here, never an authority: prefix the origin ourselves.
      if (raw.charCodeAt(0) === 0x2f) parsed = new URL(`http://gateway${raw}`);
      else if (ABSOLUTE.test(raw)) parsed = new URL(raw);
    } catch {
      return undefined;
    }
    if (parsed === undefined) return undefined;
    url = parsed.pathname + parsed.search;
  }
  const q = url.indexOf('?');
  return { path: q === -1 ? url : url.slice(0, q), url };
}

function requestId(req: IncomingMessage, prefix: string): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given !== '' && given.length <= 128) return given;
  return `${prefix}${(++seq).toString(36)}`;
}

/**
 * Reads the whole body, or answers 413 once it passes `limit`, 408 when it is not in within the
 * body timeout, or the ticket's refusal when a chunked body outgrows the buffered-bytes bound; each
 * refusal closes the connection once answered. `ticket` already holds the declared length.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, reqId: string, opts: FastPathOptions, then: (body: Buffer) => void, ticket?: Ticket): void {
  let over = false;
  let timer: NodeJS.Timeout | undefined;
  const refuse = (err: BrixletError): void => {
    over = true;
    chunks.length = 0;
    clearTimeout(timer);
    ticket?.release();
    if (err.statusCode === 408) res.setHeader('connection', 'close');
    opts.sendError(req, res, reqId, err);
    // The rest of the upload is not wanted; drop the connection once the answer is out.
    if (res.writableFinished) req.destroy();
    else res.once('finish', () => req.destroy());
  };
  const chunks: Buffer[] = [];
  const declared = Number(req.headers['content-length']);
  if (declared > opts.bodyLimit) return refuse(new BrixletError('BRX_ERR_HTTP_BODY_TOO_LARGE', { limit: opts.bodyLimit }));
  const known = Number.isInteger(declared) && declared >= 0;
  const timeout = opts.bodyTimeout ?? 0;
  if (timeout > 0 && !req.complete) {
    timer = setTimeout(() => {
      if (over || req.complete) return;
      opts.onBodyTimeout?.();
      refuse(new BrixletError('BRX_ERR_HTTP_REQUEST_TIMEOUT', { timeoutMs: timeout }));
    }, timeout);
  }
  let size = 0;
  // A large declared body is copied into one buffer as it arrives: collecting chunks and joining
  // them at the end would hold it twice at its peak. Small ones (one chunk, usually) are not copied.
  const whole = known && declared > LARGE_BODY ? Buffer.allocUnsafe(declared) : undefined;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    const at = size;
    size += chunk.length;
    if (size > opts.bodyLimit) return refuse(new BrixletError('BRX_ERR_HTTP_BODY_TOO_LARGE', { limit: opts.bodyLimit }));
    if (!known && ticket !== undefined) {
      try {
        ticket.grow(chunk.length);
      } catch (err) {
        return refuse(err as BrixletError);
      }
    }
    // Node's parser never passes more than the declared length on.
    if (whole !== undefined) chunk.copy(whole, at);
    else chunks.push(chunk);
  });
  req.on('end', () => {
    clearTimeout(timer);
    if (over) return;
    if (whole !== undefined) then(size === whole.length ? whole : whole.subarray(0, size));
    else then(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
  // A client that drops mid-upload: nothing to answer.
  req.on('error', () => undefined);
  req.on('close', () => {
    clearTimeout(timer);
    if (!req.complete) ticket?.release();
  });
}

/** Puts the fast path in front of the server's existing request listeners (fastify's). */
export function installFastPath(server: Server, opts: FastPathOptions): void {
  const fallback = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const prefix = opts.idPrefix ?? 'gateway-p';
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = normaliseTarget(req.url);
    const handler = target === undefined ? undefined : opts.routes.get(target.path);
    if (handler === undefined) {
      for (const l of fallback) l.call(server, req, res);
      return;
    }
    const reqId = requestId(req, prefix);
    if (req.method !== 'POST') {
      req.resume();
      opts.sendError(req, res, reqId, new BrixletError('BRX_ERR_HTTP_METHOD_NOT_ALLOWED', { method: req.method ?? '', path: (target as Target).path, allow: 'POST' }));
      return;
    }
    // Engines get the origin form: never a client's absolute-form target or fragment.
    req.url = (target as Target).url;
    if (!server.listening) {
      // Closing (draining): a kept-alive client sent one more request; what fastify answers too.
      opts.sendError(req, res, reqId, new BrixletError('BRX_ERR_HTTP_NOT_READY', { server: 'gateway', reason: 'shutting down' }));
      return;
    }
    let ticket: Ticket | undefined;
    if (opts.admit !== undefined) {
      const declared = Number(req.headers['content-length']);
      try {
        // Over the body limit is a 413 whatever the load: admit only what readBody would read.
        ticket = declared > opts.bodyLimit ? undefined : opts.admit(Number.isInteger(declared) && declared > 0 ? declared : 0);
      } catch (err) {
        // Refused before reading: the body stays unread, so the connection cannot be reused.
        res.setHeader('connection', 'close');
        opts.sendError(req, res, reqId, err);
        res.once('finish', () => req.destroy());
        return;
      }
    }
    readBody(req, res, reqId, opts, (body) => handler(req, res, body, reqId, ticket), ticket);
  });
}
