/**
 * The agent's KV cache component (--kv.enabled, the default): starts the node's KV shard (slab
 * files, index, lease socket) before the HTTP app is built, so a directory held by another agent or
 * a tmpfs without room stops the agent at start-up; serves the shard summary at GET /v1/kvcache and
 * the brixlet_kvcache_* metrics on the agent's /metrics. Disabled, it starts nothing and
 * /v1/kvcache answers 404 BRX_ERR_KV_DISABLED. On shutdown the socket drains before it closes.
 */
import { existsSync } from 'node:fs';
import type { Static } from '@sinclair/typebox';
import { Registry } from 'prom-client';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import type { BrixletServer } from '../common/http/create-server.js';
import type { Logger } from '../common/logger.js';
import { kvOptionsFromConfig } from '../kvcache/options.js';
import { startKvService } from '../kvcache/service.js';
import type { KvService } from '../kvcache/types.js';
import { KvSummaryView } from './kv-schemas.js';
import type { AgentComponent, AgentContext } from './types.js';

export interface KvComponent extends AgentComponent {
  readonly enabled: boolean;
  /** The running shard; undefined when disabled. */
  readonly service?: KvService;
  /** The socket engines connect to (after the per-user fallback); undefined when disabled. */
  readonly socketPath?: string;
}

/**
 * How long shutdown waits for engines to finish the leases they hold: half the shutdown budget
 * (what is left after the gateway drained), never past the lease TTL, after which leases end anyway.
 */
export function kvDrainTimeout(config: DeepReadonly<Pick<Config, 'kv'> & Partial<Pick<Config, 'shutdown'>>>): number {
  const budget = config.shutdown === undefined ? 5_000 : Math.floor(config.shutdown.timeout / 2);
  return Math.min(config.kv.leaseTtl, budget);
}

export async function createKvComponent(config: DeepReadonly<Pick<Config, 'kv'> & Partial<Pick<Config, 'shutdown'>>>, log: Logger): Promise<KvComponent> {
  if (!config.kv.enabled) {
    return {
      name: 'kvcache',
      enabled: false,
      register: (app: BrixletServer) => {
        // Schema-less and hidden: a switched-off shard advertises nothing in /openapi.json.
        app.get('/v1/kvcache', { schema: { hide: true } }, async (): Promise<never> => {
          throw new BrixletError('BRX_ERR_KV_DISABLED');
        });
      },
      dispose: () => undefined,
    };
  }
  // The shard's metrics are created with it, before the app's registry exists; register() moves
  // them over, so they are scraped with the rest of the agent's /metrics.
  const registry = new Registry();
  const service = await startKvService(kvOptionsFromConfig(config.kv), { log, registry });
  let closed = false;
  let disposing: Promise<void> | undefined;
  return {
    name: 'kvcache',
    enabled: true,
    service,
    socketPath: service.socketPath,
    readiness: {
      name: 'kvcache',
      // A removed socket file leaves engines unable to connect although the shard still runs.
      check: () => (closed ? 'shard closed' : existsSync(service.socketPath) ? undefined : `socket ${service.socketPath} is gone`),
    },
    register(app: BrixletServer, ctx: AgentContext) {
      for (const { name } of registry.getMetricsAsArray()) {
        const metric = registry.getSingleMetric(name);
        if (metric !== undefined) ctx.metrics.registry.registerMetric(metric);
      }
      app.get(
        '/v1/kvcache',
        { schema: { summary: 'The node KV cache shard: capacity, bytes by state, entries, hit ratio, leases, namespaces.', response: { 200: KvSummaryView } } },
        // The summary is deeply readonly; the schema type is not (kv-schemas.ts checks they match).
        async () => service.summary() as Static<typeof KvSummaryView>,
      );
    },
    // Shutdown: new work is refused (SHUTTING_DOWN) while engines finish the leases they hold,
    // then the socket closes. `brixlet up` disposes this after the gateway has drained.
    dispose() {
      return (disposing ??= (async () => {
        await service.drain(kvDrainTimeout(config));
        closed = true;
        await service.close();
      })());
    },
  };
}
