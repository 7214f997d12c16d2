/**
 * The coordinator's OpenAI-compatible gateway listener (:8080): /v1/models, /v1/chat/completions and
 * /v1/completions routed over the engine set, plus /healthz for load balancers. Metrics and
 * readiness live on the control port. The app owns its upstream connection pools and closes them
 * with the listener.
 */
import { type BrixletServer, createServer } from '../common/http/create-server.js';
import { registerOpsRoutes } from '../common/http/ops-routes.js';
import type { Config } from '../common/config/schema.js';
import type { Logger } from '../common/logger.js';
import type { AppMetrics } from '../common/metrics.js';
import type { EngineSetView } from './engines/types.js';
import { InMemoryLoadMonitor, type LoadMonitor } from './gateway/load-monitor.js';
import { CompletionProxy, type GatewayRouter } from './gateway/proxy.js';
import { createRouterMetrics, type RouterMetrics } from './gateway/router-metrics.js';
import { registerGatewayRoutes } from './gateway/routes.js';
import type { Tokenizer } from './gateway/tokenizer.js';
import { createEngineTokenizer } from './gateway/engine-tokenizer.js';
import { UpstreamPools } from './gateway/upstream-pools.js';

export type GatewaySettings = Pick<
  Config['gateway'],
  'bodyLimit' | 'connectTimeout' | 'firstByteTimeout' | 'idleTimeout' | 'responseLimit' | 'retries' | 'maxInFlight'
> &
  Partial<Pick<Config['gateway'], 'tokenizer'>>;

export interface GatewayAppDeps {
  readonly log: Logger;
  readonly metrics: AppMetrics;
  readonly version: string;
  readonly engines: EngineSetView;
  readonly router: GatewayRouter;
  readonly settings: Readonly<GatewaySettings>;
  /** Where finished requests' tokens go (the optimizer's input); default an in-memory monitor. */
  readonly monitor?: LoadMonitor;
  readonly tokenizer?: Tokenizer;
  /** Used as `created` for model entries. */
  readonly startedAt?: Date;
}

export interface GatewayApp {
  readonly app: BrixletServer;
  readonly monitor: LoadMonitor;
  readonly pools: UpstreamPools;
  readonly proxy: CompletionProxy;
  readonly routerMetrics: RouterMetrics;
}

export async function buildGatewayApp(deps: GatewayAppDeps): Promise<GatewayApp> {
  const s = deps.settings;
  const app = await createServer({
    name: 'gateway',
    title: 'brixlet gateway (OpenAI-compatible)',
    version: deps.version,
    log: deps.log,
    bodyLimit: s.bodyLimit,
    metrics: deps.metrics,
  });
  // Liveness for load balancers on the gateway port; metrics and readiness live on the control port.
  registerOpsRoutes(app, {});
  const pools = new UpstreamPools({ connectTimeout: s.connectTimeout });
  // Draining: proxied responses bypass fastify, so nothing marks their keep-alive connections to
  // close; connections that finish their last response are closed here until the server is done.
  let idleCloser: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    idleCloser = setInterval(() => app.server.closeIdleConnections(), 50);
    idleCloser.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(idleCloser);
    await pools.dispose();
  });
  const monitor = deps.monitor ?? new InMemoryLoadMonitor();
  const routerMetrics = createRouterMetrics(deps.metrics, deps.engines);
  const proxy = new CompletionProxy({
    engines: deps.engines,
    router: deps.router,
    pools,
    metrics: routerMetrics,
    monitor,
    log: deps.log,
    firstByteTimeout: s.firstByteTimeout,
    idleTimeout: s.idleTimeout,
    responseLimit: s.responseLimit,
    retries: s.retries,
    maxInFlight: s.maxInFlight,
    bodyLimit: s.bodyLimit,
    ...(deps.tokenizer !== undefined && { tokenizer: deps.tokenizer }),
    ...(s.tokenizer === 'engine' && { engineTokenizer: createEngineTokenizer(pools, { timeoutMs: Math.min(s.firstByteTimeout, 2000) }) }),
  });
  registerGatewayRoutes(app, {
    engines: deps.engines,
    proxy,
    bodyLimit: s.bodyLimit,
    createdAt: Math.floor((deps.startedAt ?? new Date()).getTime() / 1000),
  });
  return { app, monitor, pools, proxy, routerMetrics };
}
