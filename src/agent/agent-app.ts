/** The agent's HTTP app (fastify factory; tested with inject()). main composes it with the components. */
import { Type } from '@sinclair/typebox';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { type BrixletServer, createServer } from '../common/http/create-server.js';
import { registerOpsRoutes } from '../common/http/ops-routes.js';
import type { Logger } from '../common/logger.js';
import type { AppMetrics } from '../common/metrics.js';
import type { Readiness } from '../common/readiness.js';
import { type MembershipSource, soloMembership } from '../kvcache/membership.js';
import { staticMembership } from './ring-follower.js';
import type { AgentComponent } from './types.js';

export interface AgentAppDeps {
  readonly config: DeepReadonly<Config>;
  readonly log: Logger;
  readonly metrics: AppMetrics;
  readonly readiness: Readiness;
  readonly version: string;
  /** The node name the agent reports (config or host name). */
  readonly nodeName: string;
  readonly components?: readonly AgentComponent[];
  readonly startedAt?: Date;
  /** The KV pool membership handed to components (default: this node alone). */
  readonly membership?: MembershipSource;
}

export const AgentInfo = Type.Object({
  name: Type.Literal('brixlet-agent'),
  version: Type.String(),
  node: Type.String(),
  components: Type.Array(Type.String(), { description: 'Enabled components, in start order.' }),
  startedAt: Type.String({ format: 'date-time' }),
  uptimeSeconds: Type.Number(),
});

export async function buildAgentApp(deps: AgentAppDeps): Promise<BrixletServer> {
  const app = await createServer({
    name: 'agent',
    title: 'brixlet agent',
    version: deps.version,
    log: deps.log,
    bodyLimit: deps.config.agent.bodyLimit,
    metrics: deps.metrics,
  });
  registerOpsRoutes(app, { readiness: deps.readiness, metrics: deps.metrics });

  const components = deps.components ?? [];
  const startedAt = deps.startedAt ?? new Date();
  const membership = deps.membership ?? staticMembership(soloMembership(deps.nodeName));
  app.get('/v1/info', { schema: { summary: 'Agent identity, version and enabled components.', response: { 200: AgentInfo } } }, async () => ({
    name: 'brixlet-agent' as const,
    version: deps.version,
    node: deps.nodeName,
    components: components.filter((c) => c.enabled !== false).map((c) => c.name),
    startedAt: startedAt.toISOString(),
    uptimeSeconds: (Date.now() - startedAt.getTime()) / 1000,
  }));

  for (const c of components) {
    if (c.readiness !== undefined) deps.readiness.add(c.readiness);
    await c.register?.(app, { metrics: deps.metrics, log: deps.log, nodeName: deps.nodeName, membership });
  }
  return app;
}
