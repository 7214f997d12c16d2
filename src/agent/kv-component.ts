/**
 * The agent's KV cache component (--kv.enabled, the default): starts the node's KV shard (slab
 * files, index, lease socket) before the HTTP app is built, so a directory held by another agent or
 * a tmpfs without room stops the agent at start-up; serves the shard summary at GET /v1/kvcache and
 * the brixlet_kvcache_* metrics on the agent's /metrics. Disabled, it starts nothing and
 * /v1/kvcache answers 404 BRX_ERR_KV_DISABLED. On shutdown the socket drains before it closes.
 *
 * Every pool (the --kv.* one, then --kv.pools) is its own shard. GET /v1/kvcache shows the default
 * pool at the top level (as before pools) and every pool under `pools`; namespace names, layouts
 * and slab paths name tenants and models, so they are shown only to a caller that sends the
 * --agent.api-token-file token, never without one configured.
 */
import { existsSync } from 'node:fs';
import type { Static } from '@sinclair/typebox';
import { Registry } from 'prom-client';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import { bearerDigest, bearerMatches } from '../common/http/bearer.js';
import type { BrixletServer } from '../common/http/create-server.js';
import type { Logger } from '../common/logger.js';
import { readTokenFile, TOKEN_MIN_LENGTH } from '../common/token-file.js';
import { kvPoolsFromConfig } from '../kvcache/options.js';
import { startKvService } from '../kvcache/service.js';
import type { KvService, KvSummary } from '../kvcache/types.js';
import { KvcacheView } from './kv-schemas.js';
import type { AgentComponent, AgentContext } from './types.js';

export interface KvComponent extends AgentComponent {
  readonly enabled: boolean;
  /** The default pool's shard; undefined when disabled. */
  readonly service?: KvService;
  /** Every pool's shard, the default one first; empty when disabled. */
  readonly pools: readonly KvService[];
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

/** What a caller without the API token sees: the figures, no namespace names, layouts or slab paths. */
export function redactSummary(s: KvSummary): KvSummary {
  return { ...s, slabs: { ...s.slabs, files: [] }, namespaces: s.namespaces.map((ns) => ({ ...ns, name: '', layout: '' })) };
}

async function apiTokenDigest(path: string | undefined): Promise<Buffer | undefined> {
  if (path === undefined || path === '') return undefined;
  const token = await readTokenFile(path, { flag: '--agent.api-token-file', code: 'BRX_ERR_KV_API_TOKEN' });
  if (token.length < TOKEN_MIN_LENGTH) throw new BrixletError('BRX_ERR_KV_API_TOKEN', { path, reason: `the token is shorter than ${TOKEN_MIN_LENGTH} characters (--agent.api-token-file)` });
  return bearerDigest(token);
}

type KvComponentConfig = DeepReadonly<Pick<Config, 'kv'> & Partial<Pick<Config, 'shutdown'>> & { agent?: Partial<Pick<Config['agent'], 'apiTokenFile'>> }>;

export async function createKvComponent(config: KvComponentConfig, log: Logger): Promise<KvComponent> {
  if (!config.kv.enabled) {
    return {
      name: 'kvcache',
      enabled: false,
      pools: [],
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
  // Read before any shard starts: a bad token file stops the agent without leaving slabs behind.
  const tokenDigest = await apiTokenDigest(config.agent?.apiTokenFile);
  const options = kvPoolsFromConfig(config.kv);
  const pools: KvService[] = [];
  try {
    for (const o of options) pools.push(await startKvService(o, { log, registry }));
  } catch (err) {
    for (const p of pools) await p.close().catch(() => undefined);
    throw err;
  }
  const service = pools[0] as KvService;
  let closed = false;
  let disposing: Promise<void> | undefined;
  return {
    name: 'kvcache',
    enabled: true,
    service,
    pools,
    socketPath: service.socketPath,
    readiness: {
      name: 'kvcache',
      // A removed socket file leaves engines unable to connect although the shard still runs.
      check: () => {
        if (closed) return 'shard closed';
        const gone = pools.filter((p) => !existsSync(p.socketPath)).map((p) => p.socketPath);
        return gone.length === 0 ? undefined : `socket ${gone.join(', ')} is gone`;
      },
    },
    register(app: BrixletServer, ctx: AgentContext) {
      for (const { name } of registry.getMetricsAsArray()) {
        const metric = registry.getSingleMetric(name);
        if (metric !== undefined) ctx.metrics.registry.registerMetric(metric);
      }
      app.get(
        '/v1/kvcache',
        {
          schema: {
            summary:
              'The node KV cache: the default pool at the top level, every pool under pools (capacity, bytes by state, entries, hit ratio, leases, namespaces). Namespace names, layouts and slab paths only with the --agent.api-token-file bearer token.',
            response: { 200: KvcacheView },
          },
        },
        async (request) => {
          const named = tokenDigest !== undefined && bearerMatches(request.headers.authorization, tokenDigest);
          const view = (s: KvSummary): KvSummary => (named ? s : redactSummary(s));
          const all = pools.map((p) => view(p.summary()));
          // The summaries are deeply readonly; the schema type is not (kv-schemas.ts checks they match).
          return { ...all[0], redacted: !named, pools: all } as Static<typeof KvcacheView>;
        },
      );
    },
    // Shutdown: new work is refused (SHUTTING_DOWN) while engines finish the leases they hold,
    // then the socket closes. `brixlet up` disposes this after the gateway has drained.
    dispose() {
      return (disposing ??= (async () => {
        await Promise.all(pools.map((p) => p.drain(kvDrainTimeout(config))));
        closed = true;
        await Promise.all(pools.map((p) => p.close()));
      })());
    },
  };
}
