/** The operational routes every brixlet listener with an admin role serves. */
import { Type } from '@sinclair/typebox';
import type { AppMetrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';
import type { BrixletServer } from './create-server.js';

export interface OpsRoutesOptions {
  readonly readiness?: Readiness;
  readonly metrics?: AppMetrics;
}

const Status = Type.Object({ status: Type.String() });
const ReadyState = Type.Object({ status: Type.String(), reasons: Type.Array(Type.String()) });

export function registerOpsRoutes(app: BrixletServer, options: OpsRoutesOptions): void {
  app.get('/healthz', { schema: { summary: 'Liveness: the process is up and serving.', response: { 200: Status } } }, async () => ({
    status: 'ok',
  }));

  const { readiness, metrics } = options;
  if (readiness !== undefined) {
    app.get(
      '/readyz',
      { schema: { summary: 'Readiness: 200 when every component is ready, 503 with the reasons otherwise.', response: { 200: ReadyState, 503: ReadyState } } },
      async (_req, reply) => {
        const state = readiness.state();
        return reply.code(state.ready ? 200 : 503).send({ status: state.ready ? 'ready' : 'not ready', reasons: [...state.reasons] });
      },
    );
  }

  if (metrics !== undefined) {
    app.get('/metrics', { schema: { summary: 'Prometheus exposition (text format 0.0.4).' } }, async (_req, reply) => {
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    });
  }

  openApiRoute(app);
}

/** `GET /openapi.json`: the OpenAPI 3.1 document fastify-swagger collected from the route schemas. */
export function openApiRoute(app: BrixletServer): void {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
