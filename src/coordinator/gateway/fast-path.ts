/**
 * Serves the proxied completion routes straight from the listener's Node.js server, ahead of
 * fastify: for a small completion, fastify's routing, hooks and reply cost as much CPU as the
 * proxying itself (bench:router). Every other request — and the same routes through app.inject()
 * in tests — goes to fastify unchanged. The request body is read here with the listener's limit
 * (413 over it); the request id is the client's x-request-id or a new one. While the server closes,
 * requests still arriving on kept-alive connections get 503, as fastify answers them.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { BrixletError } from '../../common/errors.js';

export type RawHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer, reqId: string) => void;
export type ErrorSender = (req: IncomingMessage, res: ServerResponse, reqId: string, err: unknown) => void;

export interface FastPathOptions {
  /** POST path (without query) → handler. */
  readonly routes: ReadonlyMap<string, RawHandler>;
  readonly bodyLimit: number;
  readonly sendError: ErrorSender;
  /** Prefix of generated request ids (default `gateway-p`). */
  readonly idPrefix?: string;
}

let seq = 0;

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function requestId(req: IncomingMessage, prefix: string): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given !== '' && given.length <= 128) return given;
  return `${prefix}${(++seq).toString(36)}`;
}

/** Reads the whole body, or answers 413 once it passes `limit`. */
export function readBody(req: IncomingMessage, res: ServerResponse, reqId: string, opts: FastPathOptions, then: (body: Buffer) => void): void {
  const tooLarge = (): void => {
    opts.sendError(req, res, reqId, new BrixletError('BRX_ERR_HTTP_BODY_TOO_LARGE', { limit: opts.bodyLimit }));
    // The rest of the upload is not wanted; drop the connection once the answer is out.
    res.once('finish', () => req.destroy());
  };
  const declared = Number(req.headers['content-length']);
  if (declared > opts.bodyLimit) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > opts.bodyLimit) {
      over = true;
      chunks.length = 0;
      return tooLarge();
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) then(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
  // A client that drops mid-upload: nothing to answer.
  req.on('error', () => undefined);
}

/** Puts the fast path in front of the server's existing request listeners (fastify's). */
export function installFastPath(server: Server, opts: FastPathOptions): void {
  const fallback = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const prefix = opts.idPrefix ?? 'gateway-p';
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const handler = req.method === 'POST' ? opts.routes.get(pathOf(req.url)) : undefined;
    if (handler === undefined) {
      for (const l of fallback) l.call(server, req, res);
      return;
    }
    const reqId = requestId(req, prefix);
    if (!server.listening) {
      // Closing (draining): a kept-alive client sent one more request; what fastify answers too.
      opts.sendError(req, res, reqId, new BrixletError('BRX_ERR_HTTP_NOT_READY', { server: 'gateway', reason: 'shutting down' }));
      return;
    }
    readBody(req, res, reqId, opts, (body) => handler(req, res, body, reqId));
  });
}
