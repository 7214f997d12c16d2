/**
 * The registry's routes on the control port: agents PUT their report to /v1/nodes/:name; anyone
 * may list and read nodes; DELETE forgets one. With control.tokenFile set, the writing routes need
 * the shared bearer token, checked (in constant time) before the body is read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BrixletError } from '../../common/errors.js';
import type { BrixletServer } from '../../common/http/create-server.js';
import { NodeReport } from '../../common/node-report.js';
import { NodeList, NodeParams, NodeView, ReportReply } from './node-schemas.js';
import type { Registry } from './registry.js';

export interface NodeRouteDeps {
  readonly registry: Registry;
  /** The shared report token (control.tokenFile); undefined = reports are not authenticated. */
  readonly token?: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Both sides are hashed to 32 bytes first, so the compare takes the same time whatever was sent. */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null;
}

export async function registerNodeRoutes(app: BrixletServer, deps: NodeRouteDeps): Promise<void> {
  const { registry } = deps;
  const notFound = (name: string): never => {
    throw new BrixletError('BRX_ERR_REGISTRY_NODE_NOT_FOUND', { name });
  };

  app.get('/v1/nodes', { schema: { summary: 'Nodes known from agent reports, by name, with their state (ready or stale) and unhealthy GPU count.', response: { 200: NodeList } } }, async () => ({
    nodes: registry.listNodes(),
  }));
  app.get(
    '/v1/nodes/:name',
    { schema: { summary: 'One node: its last report (inventory, accelerators, KV shard) and state.', params: NodeParams, response: { 200: NodeView } } },
    async (request) => registry.getNode(request.params.name) ?? notFound(request.params.name),
  );

  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    if (deps.token !== undefined) {
      const expected = digest(deps.token);
      scope.addHook('onRequest', async (request) => {
        if (!bearerMatches(request.headers.authorization, expected)) throw new BrixletError('BRX_ERR_REGISTRY_UNAUTHORIZED');
      });
    }
    scope.put(
      '/v1/nodes/:name',
      {
        schema: {
          summary: 'An agent\'s report (inventory, accelerator health, KV shard summary): adds or refreshes the node.',
          description: 'Sent by agents at start, on change and every heartbeat. Needs the bearer token when the coordinator has --control.token-file.',
          params: NodeParams,
          body: NodeReport,
          response: { 200: ReportReply },
        },
      },
      async (request) => {
        const { name } = request.params;
        if (request.body.name !== name) {
          throw new BrixletError('BRX_ERR_REGISTRY_INVALID_NODE', { reason: `/name is ${JSON.stringify(request.body.name)} but the URL names ${JSON.stringify(name)}` });
        }
        const node = registry.upsertNode(request.body);
        return { node, heartbeatMs: node.heartbeatMs ?? registry.defaultHeartbeatMs };
      },
    );
    scope.delete(
      '/v1/nodes/:name',
      { schema: { summary: 'Forgets a node (its engines are routable again until it reports).', params: NodeParams, response: { 200: NodeView } } },
      async (request) => {
        const node = registry.getNode(request.params.name) ?? notFound(request.params.name);
        registry.removeNode(node.name);
        return node;
      },
    );
  });
}
