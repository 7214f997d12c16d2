/**
 * The fastify factory every brixlet listener starts from: TypeBox schemas, body limit, one error
 * shape (errors of Node's HTTP parser included), JSON 404s, request ids, OpenAPI collection and
 * per-route HTTP metrics.
 */
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController, type RawServerDefault } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { BrixletError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AppMetrics } from '../metrics.js';
import { mapError } from './error-reply.js';

export type BrixletServer = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;

export interface ServerOptions {
  /** Listener name in logs, metrics and OpenAPI: `agent`, `gateway`, `control`. */
  readonly name: string;
  readonly title: string;
  readonly version: string;
  readonly log: Logger;
  readonly bodyLimit: number;
  readonly metrics: AppMetrics;
  /**
   * Time to receive a whole request, headers and body (ms; default 30 s). fastify leaves Node's at 0,
   * which lets a client trickling bytes hold its connection forever. Node checks it coarsely (every
   * 30 s); the gateway times its completion bodies itself (--gateway.body-timeout).
   */
  readonly requestTimeout?: number;
}

const DEFAULT_REQUEST_TIMEOUT = 30_000;

let requestSeq = 0;

export async function createServer(options: ServerOptions): Promise<BrixletServer> {
  const { name, bodyLimit } = options;
  const app = fastify({
    loggerInstance: options.log,
    // Per-request info lines would put logging on the request path; errors are logged by the handler below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    requestTimeout: options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
    requestIdHeader: 'x-request-id',
    genReqId: () => `${name}-${(++requestSeq).toString(36)}`,
    return503OnClosing: true,
    // Parser errors (malformed request, headers too large, request timeout) in the one error shape.
    clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex) {
      answerClientError(err, socket, this.server.requestTimeout);
    },
    // Errors fastify raises before routing (a malformed URL) get the same JSON shape as the rest.
    frameworkErrors: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const mapped = mapError(err, request, bodyLimit);
      void reply.code(mapped.statusCode).send(mapped.body);
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Node's default headers timeout (60 s) would outlast a shorter whole-request timeout.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, app.server.requestTimeout);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, version: options.version },
    },
  });

  const { requests, duration } = httpMetrics(options.metrics.registry);

  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ server: name, route, method: request.method, status: String(reply.statusCode) });
    duration.observe({ server: name, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err, request, reply) => {
    const mapped = mapError(err, request, bodyLimit);
    if (mapped.serverFault) request.log.error({ err, reqId: request.id }, 'request failed');
    else request.log.debug({ code: mapped.body.error.code, reqId: request.id }, 'request rejected');
    // RFC 6750: a 401 names the scheme the client must use (every brixlet credential is a bearer token).
    if (mapped.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="brixlet"');
    return reply.code(mapped.statusCode).send(mapped.body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    const mapped = mapError(new BrixletError('BRX_ERR_HTTP_NOT_FOUND', { method: request.method, url: request.url }), request, bodyLimit);
    return reply.code(404).send(mapped.body);
  });

  return app;
}

/** The error Node's HTTP parser reported, as a brixlet error (431, 408 or 400). */
export function clientErrorOf(err: NodeJS.ErrnoException, requestTimeoutMs: number): BrixletError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new BrixletError('BRX_ERR_HTTP_HEADERS_TOO_LARGE', {});
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new BrixletError('BRX_ERR_HTTP_REQUEST_TIMEOUT', { timeoutMs: requestTimeoutMs });
    default:
      return new BrixletError('BRX_ERR_HTTP_BAD_REQUEST', { reason: `malformed HTTP request${err.code === undefined ? '' : ` (${err.code})`}` });
  }
}

/**
 * Answers a parser error on the raw socket — no request object exists — and closes it, as Node's
 * default does, unless the peer is gone or a response has begun on it.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, requestTimeoutMs: number): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!socket.writable || inProgress) {
    socket.destroy();
    return;
  }
  const mapped = mapError(clientErrorOf(err, requestTimeoutMs), { method: '', url: '' }, 0);
  const text = JSON.stringify(mapped.body);
  socket.end(
    `HTTP/1.1 ${mapped.statusCode} ${STATUS_CODES[mapped.statusCode] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    () => socket.destroy(),
  );
}

/** HTTP metrics, created once per registry: listeners sharing a registry share the series, told apart by `server`. */
function httpMetrics(registry: Registry) {
  const requests =
    (registry.getSingleMetric('brixlet_http_requests_total') as Counter<'server' | 'route' | 'method' | 'status'> | undefined) ??
    new Counter({
      name: 'brixlet_http_requests_total',
      help: 'HTTP requests served, by listener, route template, method and status code.',
      labelNames: ['server', 'route', 'method', 'status'] as const,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('brixlet_http_request_duration_seconds') as Histogram<'server' | 'route'> | undefined) ??
    new Histogram({
      name: 'brixlet_http_request_duration_seconds',
      help: 'HTTP request handling time, by listener and route template.',
      labelNames: ['server', 'route'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    });
  return { requests, duration };
}
