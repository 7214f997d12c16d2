/** The coordinator's OpenAI-compatible gateway listener (:8080). */
import { Type } from '@sinclair/typebox';
import { type BrixletServer, createServer } from '../common/http/create-server.js';
import { registerOpsRoutes } from '../common/http/ops-routes.js';
import type { Logger } from '../common/logger.js';
import type { AppMetrics } from '../common/metrics.js';
import type { Registry } from './registry/registry.js';

export interface GatewayAppDeps {
  readonly log: Logger;
  readonly metrics: AppMetrics;
  readonly registry: Registry;
  readonly version: string;
  readonly bodyLimit: number;
  /** Used as `created` for model entries (seconds since the epoch). */
  readonly startedAt?: Date;
}

const ModelList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(
    Type.Object({ id: Type.String(), object: Type.Literal('model'), created: Type.Integer(), owned_by: Type.String() }),
  ),
});

export async function buildGatewayApp(deps: GatewayAppDeps): Promise<BrixletServer> {
  const app = await createServer({
    name: 'gateway',
    title: 'brixlet gateway (OpenAI-compatible)',
    version: deps.version,
    log: deps.log,
    bodyLimit: deps.bodyLimit,
    metrics: deps.metrics,
  });
  // Liveness for load balancers on the gateway port; metrics and readiness live on the control port.
  registerOpsRoutes(app, {});
  const created = Math.floor((deps.startedAt ?? new Date()).getTime() / 1000);
  app.get(
    '/v1/models',
    { schema: { summary: 'Models served by at least one registered engine (OpenAI list format).', response: { 200: ModelList } } },
    async () => ({
      object: 'list' as const,
      data: deps.registry.models().map((id) => ({ id, object: 'model' as const, created, owned_by: 'brixlet' })),
    }),
  );
  return app;
}
