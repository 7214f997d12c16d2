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
import { hostname } from 'node:os';
import type { Static } from '@sinclair/typebox';
import { Registry } from 'prom-client';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import { bearerDigest, bearerMatches } from '../common/http/bearer.js';
import type { BrixletServer } from '../common/http/create-server.js';
import type { Logger } from '../common/logger.js';
import { readTokenFile, TOKEN_MIN_LENGTH } from '../common/token-file.js';
import type { DirectoryLookup } from '../kvcache/directory-types.js';
import { createDirectoryMetrics } from '../kvcache/directory/directory-metrics.js';
import { DirectoryStore } from '../kvcache/directory/directory-store.js';
import { PoolDirectory } from '../kvcache/directory/pool-directory.js';
import { DirectoryPublisher } from '../kvcache/directory/publisher.js';
import type { MembershipSource } from '../kvcache/membership.js';
import { kvPoolsFromConfig } from '../kvcache/options.js';
import { PeerClient } from '../kvcache/peer/peer-client.js';
import { createPeerMetrics } from '../kvcache/peer/peer-metrics.js';
import { createRingCache } from '../kvcache/ring.js';
import { type PeerPool, PeerServer } from '../kvcache/peer/peer-server.js';
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
  /** host:port other agents dial for this node's blocks; undefined while the peer listener is off. */
  peerAddress(): string | undefined;
  /** The peer listener once it listens (--kv.peer-port not 0). */
  readonly peerServer: () => PeerServer | undefined;
  /** The pool's peer client (the Transport of remote reads; --kv.peer-port not 0), once registered. */
  readonly peerClient: (pool: string) => PeerClient | undefined;
  /** The pool's directory (default: the default pool; --kv.peer-port not 0), once registered. */
  readonly directory: (pool?: string) => DirectoryLookup | undefined;
}

/**
 * --kv.peer-advertise, else the agent's reported host at the peer port: the host of
 * --agent.advertise-url, else the first of --kv.peer-host and --agent.host that is not a wildcard,
 * else the host name.
 */
export function peerAdvertiseAddress(config: DeepReadonly<{ kv: Pick<Config['kv'], 'peerAdvertise' | 'peerHost'>; agent?: Partial<Pick<Config['agent'], 'advertiseUrl' | 'host'>> }>, port: number): string {
  if (config.kv.peerAdvertise !== '') return config.kv.peerAdvertise;
  let host = '';
  const url = config.agent?.advertiseUrl ?? '';
  if (url !== '') {
    try {
      host = new URL(url).hostname;
    } catch {
      host = '';
    }
  }
  const specific = (h: string | undefined): boolean => h !== undefined && h !== '' && h !== '0.0.0.0' && h !== '::';
  if (host === '') host = specific(config.kv.peerHost) ? config.kv.peerHost : specific(config.agent?.host) ? (config.agent?.host as string) : hostname();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
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

type KvComponentConfig = DeepReadonly<Pick<Config, 'kv'> & Partial<Pick<Config, 'shutdown'>> & { agent?: Partial<Pick<Config['agent'], 'apiTokenFile' | 'advertiseUrl' | 'host'>> }>;

/**
 * Starts the peer listener for every pool (--kv.peer-port not 0). A failure to listen is logged and
 * leaves the agent serving its engines without peers: the peer side never takes the engine socket down.
 */
async function startPeerServer(config: KvComponentConfig, pools: readonly KvService[], membership: MembershipSource, ctx: AgentContext, log: Logger, stores: ReadonlyMap<string, DirectoryStore>): Promise<PeerServer | undefined> {
  const byName = new Map<string, PeerPool>();
  for (const p of pools) {
    const directory = stores.get(p.options.pool);
    if (p.blocks !== undefined) byName.set(p.options.pool, directory === undefined ? p.blocks : { ...p.blocks, directory });
  }
  const server = new PeerServer({ host: config.kv.peerHost, port: config.kv.peerPort, membership, pools: byName }, log.child({ component: 'kv-peer' }), createPeerMetrics(ctx.metrics.registry));
  try {
    await server.listen();
  } catch (err) {
    log.error({ err, host: config.kv.peerHost, port: config.kv.peerPort }, 'KV peer listener could not start (--kv.peer-port); serving local engines only');
    await server.close().catch(() => undefined);
    return undefined;
  }
  log.info({ host: config.kv.peerHost, port: server.address().port, advertise: peerAdvertiseAddress(config, server.address().port) }, 'KV peer listener listening');
  return server;
}

/**
 * One peer client per pool (a peer connection is bound to one pool), reading with the agent's node
 * name from the members the agent follows; it counts received bytes in brixlet_kvcache_peer_*.
 */
function createPeerClients(pools: readonly KvService[], membership: MembershipSource, ctx: AgentContext): Map<string, PeerClient> {
  const metrics = createPeerMetrics(ctx.metrics.registry);
  const self = membership.current().self;
  return new Map(pools.map((p) => [p.options.pool, new PeerClient({ self, pool: p.options.pool, membership, metrics })]));
}

/** One pool's directory parts: the store it keeps as a chain home, its shard's publisher, its reader. */
interface PoolDirectoryParts {
  readonly store: DirectoryStore;
  readonly publisher?: DirectoryPublisher;
  readonly reader: PoolDirectory;
}

/** A directory store per pool (the peer server serves PUBLISH and DIRECTORY_LOOKUP from them). */
function createDirectoryStores(config: KvComponentConfig, pools: readonly KvService[]): Map<string, DirectoryStore> {
  return new Map(pools.map((p) => [p.options.pool, new DirectoryStore({ ttlMs: config.kv.directoryTtl, maxEntries: config.kv.directoryMaxEntries })]));
}

/**
 * The pool directory of every pool (issue 13 part 2): the shard's hot blocks published to their
 * chains' homes through the pool's peer client, and the reader remote reads ask. Homes are the ring
 * of the membership the agent follows; alone (no coordinator) nothing is published.
 */
function startDirectories(config: KvComponentConfig, pools: readonly KvService[], stores: ReadonlyMap<string, DirectoryStore>, clients: ReadonlyMap<string, PeerClient>, membership: MembershipSource, ctx: AgentContext): Map<string, PoolDirectoryParts> {
  const ring = createRingCache();
  const out = new Map<string, PoolDirectoryParts>();
  for (const p of pools) {
    const pool = p.options.pool;
    const store = stores.get(pool) as DirectoryStore;
    const client = clients.get(pool);
    const metrics = createDirectoryMetrics(ctx.metrics.registry, pool, () => store.size);
    const shard = p.blocks?.shard;
    const publisher =
      shard === undefined
        ? undefined
        : new DirectoryPublisher({ shard, membership, ring, store, ...(client !== undefined ? { sender: client } : {}), queueMax: config.kv.publishQueue, ttlMs: config.kv.directoryTtl, metrics });
    const reader = new PoolDirectory({ membership, ring, store, ...(client !== undefined ? { sender: client } : {}), metrics });
    out.set(pool, { store, ...(publisher !== undefined ? { publisher } : {}), reader });
  }
  return out;
}

/**
 * Gives each pool's LOOKUP_REMOTE its remote path: the pool's peer client and its directory. A pool
 * without a directory keeps it off (the op then answers as LOOKUP).
 */
function enableRemoteReads(config: KvComponentConfig, pools: readonly KvService[], clients: ReadonlyMap<string, PeerClient>, directoryOf: (pool: string) => DirectoryLookup | undefined, self: string): void {
  const options = { minBlocks: config.kv.remoteMinBlocks, minShare: config.kv.remoteMinPercent / 100, budgetMs: config.kv.remoteBudget, maxBudgetMs: config.kv.remoteBudgetMax };
  for (const p of pools) {
    const transport = clients.get(p.options.pool);
    const directory = directoryOf(p.options.pool);
    if (transport !== undefined && directory !== undefined) p.enableRemoteRead?.({ transport, directory, self, options });
  }
}

export async function createKvComponent(config: KvComponentConfig, log: Logger): Promise<KvComponent> {
  if (!config.kv.enabled) {
    return {
      name: 'kvcache',
      enabled: false,
      pools: [],
      peerAddress: () => undefined,
      peerServer: () => undefined,
      peerClient: () => undefined,
      directory: () => undefined,
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
  let peer: PeerServer | undefined;
  let clients = new Map<string, PeerClient>();
  // Each pool's directory (the prefix directory, issue 13 part 2): remote reads stay off without one.
  const directories = new Map<string, DirectoryLookup>();
  let directoryParts = new Map<string, PoolDirectoryParts>();
  return {
    name: 'kvcache',
    enabled: true,
    service,
    pools,
    socketPath: service.socketPath,
    peerAddress: () => (peer === undefined ? undefined : peerAdvertiseAddress(config, peer.address().port)),
    peerServer: () => peer,
    peerClient: (pool) => clients.get(pool),
    directory: (pool = service.options.pool) => directories.get(pool),
    readiness: {
      name: 'kvcache',
      // A removed socket file leaves engines unable to connect although the shard still runs.
      check: () => {
        if (closed) return 'shard closed';
        const gone = pools.filter((p) => !existsSync(p.socketPath)).map((p) => p.socketPath);
        return gone.length === 0 ? undefined : `socket ${gone.join(', ')} is gone`;
      },
    },
    async register(app: BrixletServer, ctx: AgentContext) {
      if (config.kv.peerPort !== 0 && !closed) {
        const stores = createDirectoryStores(config, pools);
        peer = await startPeerServer(config, pools, ctx.membership, ctx, log, stores);
        clients = createPeerClients(pools, ctx.membership, ctx);
        directoryParts = startDirectories(config, pools, stores, clients, ctx.membership, ctx);
        for (const [pool, d] of directoryParts) directories.set(pool, d.reader);
        enableRemoteReads(config, pools, clients, (pool) => directories.get(pool), ctx.membership.current().self);
      }
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
        // Peers first: a remote read is new work, refused (SHUTTING_DOWN) like an engine's while draining.
        await peer?.close().catch(() => undefined);
        for (const d of directoryParts.values()) {
          d.reader.close();
          await d.publisher?.close();
        }
        // Remote reads in flight end at their budget; the shards wait for them before their slabs close.
        for (const p of pools) p.enableRemoteRead?.(undefined);
        await Promise.all([...clients.values()].map((c) => c.close().catch(() => undefined)));
        await Promise.all(pools.map((p) => p.drain(kvDrainTimeout(config))));
        closed = true;
        await Promise.all(pools.map((p) => p.close()));
      })());
    },
  };
}
