/**
 * The OpenAI-compatible routes of the gateway: /v1/models (union of the healthy engines' models),
 * /v1/chat/completions and /v1/completions (proxied by CompletionProxy). The completion routes are
 * served from the Node.js server ahead of fastify (fast-path.ts); they are also declared to fastify,
 * for the OpenAPI document and for app.inject(), and take the same code path from there (admitted
 * in onRequest, before fastify reads the body; other methods answered 405). Request
 * bodies are kept as the bytes the client sent — parsed only to validate and route, forwarded
 * unchanged — whatever content type the client declared (vLLM reads JSON from `curl -d` too).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BrixletServer } from '../../common/http/create-server.js';
import type { EngineSetView } from '../engines/types.js';
import { BrixletError } from '../../common/errors.js';
import type { Ticket } from './admission.js';
import { installFastPath, normaliseTarget, type RawHandler } from './fast-path.js';
import type { OpenAiEndpoint } from './openai-body.js';
import type { CompletionProxy } from './proxy.js';

export interface GatewayRouteDeps {
  readonly engines: EngineSetView;
  readonly proxy: CompletionProxy;
  readonly bodyLimit: number;
  /** Time to receive a whole request body (ms); 0 = none. */
  readonly bodyTimeout?: number;
  /** Called when a body timed out (for a metric). */
  readonly onBodyTimeout?: () => void;
  /** `created` of model entries (seconds since the epoch). */
  readonly createdAt: number;
}

const ModelList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(Type.Object({ id: Type.String(), object: Type.Literal('model'), created: Type.Integer(), owned_by: Type.String() })),
});

export const COMPLETION_ROUTES: Readonly<Record<string, OpenAiEndpoint>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
};

export function registerGatewayRoutes(app: BrixletServer, deps: GatewayRouteDeps): void {
  const { proxy } = deps;
  app.get(
    '/v1/models',
    { schema: { summary: 'Models served by at least one healthy engine (OpenAI list format).', response: { 200: ModelList } } },
    async () => ({
      object: 'list' as const,
      data: deps.engines.models().map((id) => ({ id, object: 'model' as const, created: deps.createdAt, owned_by: 'brixlet' })),
    }),
  );

  const routes = new Map<string, RawHandler>();
  for (const [path, endpoint] of Object.entries(COMPLETION_ROUTES)) {
    routes.set(path, (req, res, body, reqId, ticket) => proxy.handle(endpoint, req, res, body, reqId, ticket));
  }
  installFastPath(app.server, {
    routes,
    bodyLimit: deps.bodyLimit,
    ...(deps.bodyTimeout !== undefined && { bodyTimeout: deps.bodyTimeout }),
    ...(deps.onBodyTimeout !== undefined && { onBodyTimeout: deps.onBodyTimeout }),
    admit: (declared) => proxy.admit(declared),
    sendError: (req, res, reqId, err) => void proxy.sendError(req, res, reqId, err),
  });
  const tickets = new WeakMap<object, Ticket>();

  // The same routes through fastify (app.inject(), OpenAPI): raw bodies, then the proxy on the raw request.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    for (const [path, endpoint] of Object.entries(COMPLETION_ROUTES)) {
      scope.route({
        method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
        url: path,
        schema: { hide: true },
        handler: async (request, reply) => {
          void reply.hijack();
          proxy.sendError(request.raw, reply.raw, request.id, new BrixletError('BRX_ERR_HTTP_METHOD_NOT_ALLOWED', { method: request.method, path, allow: 'POST' }));
        },
      });
      scope.post(
        path,
        {
          schema: {
            summary: `OpenAI ${endpoint === 'chat' ? 'chat completions' : 'completions'}, proxied to an engine (stream or not).`,
            description:
              'Routed by the routing-strategy header or the configured policy; the chosen engine is returned in x-brixlet-target, the policy in x-brixlet-policy.',
          },
          // Admitted from the headers, before fastify reads the body (as the fast path does).
          onRequest: async (request, reply) => {
            const declared = Number(request.headers['content-length']);
            if (declared > deps.bodyLimit) return;
            try {
              const ticket = proxy.admit(Number.isInteger(declared) && declared > 0 ? declared : 0);
              tickets.set(request.raw, ticket);
              // Whatever ends the request (a 413 from the parser included) frees the admission.
              reply.raw.once('close', () => ticket.release());
            } catch (err) {
              void reply.header('retry-after', '1');
              throw err;
            }
          },
        },
        async (request: FastifyRequest, reply: FastifyReply) => {
          void reply.hijack();
          const ticket = tickets.get(request.raw);
          tickets.delete(request.raw);
          // Engines get the origin form, as from the fast path (which rewrites req.url itself).
          request.raw.url = normaliseTarget(request.raw.url)?.url ?? path;
          proxy.handle(endpoint, request.raw, reply.raw, (request.body as Buffer | undefined) ?? Buffer.alloc(0), request.id, ticket);
        },
      );
    }
  });
}
