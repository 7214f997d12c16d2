/**
 * The coordinator's OpenAI-compatible gateway listener (:8080): /v1/models, /v1/chat/completions and
 * /v1/completions routed over the engine set, plus /healthz for load balancers. Metrics and
 * readiness live on the control port. The app owns its upstream connection pools and closes them
 * with the listener. On close it drains: requests in flight finish, and streams still open when
 * the drain time is nearly up get the same SSE error ending as an engine failure (never a cut).
 */
import { BrixletError } from '../common/errors.js';
import { type BrixletServer, createServer } from '../common/http/create-server.js';
import { registerOpsRoutes } from '../common/http/ops-routes.js';
import type { Config } from '../common/config/schema.js';
import type { Logger } from '../common/logger.js';
import type { AppMetrics } from '../common/metrics.js';
import type { EngineSetView } from './engines/types.js';
import type { LoadMonitor } from './gateway/load-monitor.js';
import { DecayedLoadMonitor } from './optimizer/load-monitor.js';
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
  // Absent: no body timeout, no buffered-bytes bound, the default send timeout.
  Partial<Pick<Config['gateway'], 'tokenizer' | 'bodyTimeout' | 'sendTimeout' | 'maxBufferedBody'>> & {
    /** shutdown.timeout: streams still open shortly before it ends get an SSE error ending. Absent: no deadline. */
    readonly drainTimeout?: number;
  };

/** Time left after ending the open streams for their endings to go out and the rest of shutdown to run. */
export function drainMargin(drainTimeout: number): number {
  return Math.min(1000, Math.floor(drainTimeout / 5));
}

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
  if (s.bodyTimeout !== undefined) {
    // fastify leaves Node's request timeout off (0): a client trickling its headers or a body
    // fastify reads (every route but the fast path's) would hold its connection forever. Node
    // checks it coarsely (every 30 s); the fast path times its bodies to the millisecond.
    app.server.requestTimeout = app.server.headersTimeout + s.bodyTimeout;
  }
  const pools = new UpstreamPools({ connectTimeout: s.connectTimeout });
  // Draining: proxied responses bypass fastify, so nothing marks their keep-alive connections to
  // close; connections that finish their last response are closed here until the server is done.
  let idleCloser: NodeJS.Timeout | undefined;
  let drainDeadline: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    idleCloser = setInterval(() => app.server.closeIdleConnections(), 50);
    idleCloser.unref();
    const timeoutMs = s.drainTimeout;
    if (timeoutMs !== undefined) {
      const margin = drainMargin(timeoutMs);
      drainDeadline = setTimeout(() => {
        const n = proxy.stopAll(new BrixletError('BRX_ERR_GATEWAY_SHUTTING_DOWN', { timeoutMs }));
        if (n > 0) deps.log.warn({ requests: n, timeoutMs }, 'drain time nearly up: ended the requests still open with an error');
        // A client that does not read even its ending must not hold the shutdown past its deadline.
        drainDeadline = setTimeout(() => app.server.closeAllConnections(), margin / 2);
        drainDeadline.unref();
      }, timeoutMs - margin);
      drainDeadline.unref();
    }
  });
  app.addHook('onClose', async () => {
    clearInterval(idleCloser);
    clearTimeout(drainDeadline);
    await pools.dispose();
  });
  const monitor = deps.monitor ?? new DecayedLoadMonitor();
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
    ...(s.sendTimeout !== undefined && { sendTimeout: s.sendTimeout }),
    responseLimit: s.responseLimit,
    retries: s.retries,
    maxInFlight: s.maxInFlight,
    ...(s.maxBufferedBody !== undefined && { maxBufferedBody: s.maxBufferedBody }),
    bodyLimit: s.bodyLimit,
    ...(deps.tokenizer !== undefined && { tokenizer: deps.tokenizer }),
    ...(s.tokenizer === 'engine' && { engineTokenizer: createEngineTokenizer(pools, { timeoutMs: Math.min(s.firstByteTimeout, 2000) }) }),
  });
  registerGatewayRoutes(app, {
    engines: deps.engines,
    proxy,
    bodyLimit: s.bodyLimit,
    ...(s.bodyTimeout !== undefined && { bodyTimeout: s.bodyTimeout }),
    onBodyTimeout: () => routerMetrics.clientTimeout('body'),
    createdAt: Math.floor((deps.startedAt ?? new Date()).getTime() / 1000),
  });
  return { app, monitor, pools, proxy, routerMetrics };
}
