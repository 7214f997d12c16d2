/** The coordinator's control listener (:8081): health, metrics, registry. */
import { Type } from '@sinclair/typebox';
import { type BrixletServer, createServer } from '../common/http/create-server.js';
import { registerOpsRoutes } from '../common/http/ops-routes.js';
import type { Logger } from '../common/logger.js';
import type { AppMetrics } from '../common/metrics.js';
import type { Readiness } from '../common/readiness.js';
import { NodeView, type Registry } from './registry/registry.js';

export interface ControlAppDeps {
  readonly log: Logger;
  readonly metrics: AppMetrics;
  readonly readiness: Readiness;
  readonly registry: Registry;
  readonly version: string;
  readonly bodyLimit: number;
}

const NodeList = Type.Object({ nodes: Type.Array(NodeView) });

export async function buildControlApp(deps: ControlAppDeps): Promise<BrixletServer> {
  const app = await createServer({
    name: 'control',
    title: 'brixlet coordinator control API',
    version: deps.version,
    log: deps.log,
    bodyLimit: deps.bodyLimit,
    metrics: deps.metrics,
  });
  registerOpsRoutes(app, { readiness: deps.readiness, metrics: deps.metrics });
  app.get('/v1/nodes', { schema: { summary: 'Nodes known from agent reports, by name.', response: { 200: NodeList } } }, async () => ({
    nodes: deps.registry.listNodes(),
  }));
  return app;
}
