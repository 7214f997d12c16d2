/**
 * The registry's routes on the control port: agents PUT their report to /v1/nodes/:name; anyone
 * may list and read nodes (reports hold no secrets); DELETE forgets one. Writes are checked by the
 * control auth (control-auth.ts) before the body is read: a node may write only its own report,
 * DELETE needs the cluster secret.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BrixletError } from '../../common/errors.js';
import type { BrixletServer } from '../../common/http/create-server.js';
import { NodeReport } from '../../common/node-report.js';
import type { ControlAuth } from './control-auth.js';
import { NodeList, NodeParams, NodeView, ReportReply } from './node-schemas.js';
import type { PoolMembership } from './pool-membership.js';
import type { Registry } from './registry.js';

export interface NodeRouteDeps {
  readonly registry: Registry;
  /** Who may write; absent = every write is taken (a loopback or --control.insecure coordinator). */
  readonly auth?: ControlAuth;
  /** The KV pool membership: its version rides on every report reply. */
  readonly membership?: PoolMembership;
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
    const { auth } = deps;
    if (auth?.enabled === true) {
      scope.addHook('onRequest', async (request) => {
        const { name } = request.params as { name?: string };
        await auth.check(request.headers.authorization, request.method === 'PUT' ? 'report' : 'delete', name ?? '');
      });
    }
    scope.put(
      '/v1/nodes/:name',
      {
        schema: {
          summary: 'An agent\'s report (inventory, accelerator health, KV shard summary): adds or refreshes the node.',
          description:
            'Sent by agents at start, on change and every heartbeat. Needs this node\'s credentials (its node token, its agent ServiceAccount token with --control.auth kubernetes, or the cluster secret); a report whose bootId is the stored one must carry a higher seq (409 otherwise).',
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
        // Without them a recorded report could be sent again: bootId and seq make a replay detectable.
        if (auth?.enabled === true && (request.body.bootId === undefined || request.body.seq === undefined)) {
          throw new BrixletError('BRX_ERR_REGISTRY_INVALID_NODE', { reason: 'bootId and seq are required: this control API authenticates reports and refuses replayed ones' });
        }
        const node = registry.upsertNode(request.body);
        const { membership } = deps;
        return { node, heartbeatMs: registry.heartbeatOf(node), ...(membership !== undefined && { ringVersion: membership.version }) };
      },
    );
    scope.delete(
      '/v1/nodes/:name',
      { schema: { summary: 'Forgets a node (its engines are routable again until it reports). Needs the cluster secret.', params: NodeParams, response: { 200: NodeView } } },
      async (request) => {
        const node = registry.getNode(request.params.name) ?? notFound(request.params.name);
        registry.removeNode(node.name);
        return node;
      },
    );
  });
}
