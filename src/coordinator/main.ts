/**
 * Composes and starts the coordinator: the node registry (agents report to it), the engine set
 * (static engines, engines `brixlet up` started, Kubernetes pods) with its prober, the router with
 * its prefix index, the OpenAI-compatible gateway and the control API. Everything is added to the
 * runtime's store and released in reverse order on shutdown: listeners first (in-flight requests
 * drain), then upstream pools, the engine set and its sources, the Kubernetes client, the registry.
 */
import type { Registry as PromRegistry } from 'prom-client';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { listen } from '../common/http/listen.js';
import { type DisposableStore, toDisposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { createAppMetrics } from '../common/metrics.js';
import { BrixletError } from '../common/errors.js';
import { readReportToken } from '../common/node-report.js';
import { Readiness } from '../common/readiness.js';
import type { KubeClient } from '../kube/kube-client.js';
import type { RunningOrchestrator } from './orchestrator/setup.js';
import { buildControlApp } from './control-app.js';
import { createEngineSet, type EngineSet } from './engines/engine-set.js';
import { registryNodeView } from './engines/node-view.js';
import { parseEngineList } from './engines/static-engines.js';
import type { EngineSpec } from './engines/types.js';
import type { EngineState } from './router/types.js';
import { buildGatewayApp } from './gateway-app.js';
import type { LoadMonitor } from './gateway/load-monitor.js';
import { DecayedLoadMonitor } from './optimizer/load-monitor.js';
import type { Planner } from './optimizer/planner.js';
import { setupOptimizer } from './optimizer/setup.js';
import { createControlAuth } from './registry/control-auth.js';
import type { KubeNodeAuth } from './registry/kube-node-auth.js';
import { deriveNodeToken } from './registry/node-token.js';
import { derivePeerSecret, randomPeerSecret } from './registry/pair-keys.js';
import { createPoolMembership, type PoolMembership } from './registry/pool-membership.js';
import { Registry } from './registry/registry.js';
import { renderKvEventMetrics } from './gateway/kv-event-metrics.js';
import { HybridPrefixIndex } from './router/hybrid-prefix-index.js';
import { KvEventFeed, kvEventEndpointOf, parseKvEventEndpoints } from './router/kv-event-feed.js';
import { createKvEventIndex } from './router/kv-event-index.js';
import { createPrefixIndex } from './router/prefix-index.js';
import { Router } from './router/router.js';

export interface CoordinatorRuntime {
  readonly config: DeepReadonly<Config>;
  readonly log: Logger;
  readonly processRegistry: PromRegistry;
  readonly store: DisposableStore;
  readonly version: string;
}

export interface CoordinatorExtras {
  /** Engines started next to the coordinator (`brixlet up --engines N`), added to the configured ones. */
  readonly engines?: readonly EngineSpec[];
  /** Replaces the Kubernetes client discovery, node conditions and token reviews would create (tests). */
  readonly kube?: KubeClient;
  /** The cluster secret when control.tokenFile names none (`brixlet up` makes one in memory). */
  readonly secret?: string;
}

export interface RunningCoordinator {
  readonly gatewayUrl: string;
  readonly controlUrl: string;
  readonly registry: Registry;
  /** The KV pool membership published at GET /v1/ring. */
  readonly membership: PoolMembership;
  readonly engines: EngineSet;
  readonly router: Router;
  readonly monitor: LoadMonitor;
  /** The GPU optimizer's planner, when --optimizer.enabled (or profiles) turned it on. */
  readonly planner?: Planner;
  readonly readiness: Readiness;
  /** The node token of `name` under the cluster secret, for an agent in the same process; undefined without a secret. */
  nodeToken(name: string): string | undefined;
}

/** 127.0.0.0/8, ::1 and localhost: a listener only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export async function startCoordinator(rt: CoordinatorRuntime, extras: CoordinatorExtras = {}): Promise<RunningCoordinator> {
  const log = rt.log.child({ component: 'coordinator' });
  const { gateway: g, control: c, kube: k } = rt.config;
  // Settings errors first, before anything is started.
  const specs = [...parseEngineList(g.engines), ...(extras.engines ?? [])];
  if (g.kvEvents && g.tokenizer !== 'engine') {
    throw new BrixletError('BRX_ERR_ENGINE_CONFIG', {
      reason:
        '--gateway.kv-events needs --gateway.tokenizer engine (KV events name blocks by their token ids): drop --gateway.tokenizer characters (kv-events defaults it to engine) or set it to engine',
    });
  }
  const secret = c.tokenFile === '' ? extras.secret : await readReportToken(c.tokenFile, '--control.token-file');
  const credentials = secret !== undefined || c.auth === 'kubernetes';
  // Reports decide routing and taints: beyond loopback they are never open by accident.
  if (!credentials && !isLoopbackHost(c.host)) {
    if (!c.insecure) throw new BrixletError('BRX_ERR_CONTROL_INSECURE', { host: c.host || '(all addresses)' });
    log.warn(
      { host: c.host, code: 'BRX_ERR_CONTROL_INSECURE' },
      'INSECURE: --control.insecure: the control API takes node reports and deletes from anyone who reaches it; a forged report can take every engine of a node out of routing (brixlet_control_writes_unauthenticated = 1)',
    );
  } else if (!credentials) {
    log.info({ host: c.host }, 'control API writes are not authenticated (loopback only); --control.token-file adds credentials');
  }

  const registry = rt.store.add(new Registry({ staleAfter: c.staleAfter, maxHeartbeatMs: c.maxHeartbeat, log }));
  let kube = extras.kube;
  // The Kubernetes client is loaded only when used: it costs ~80 MiB of RSS (test/cli/startup-imports).
  if (kube === undefined && (g.engineSelector !== '' || c.nodeConditions || c.auth === 'kubernetes' || rt.config.optimizer.scale || rt.config.optimizer.deploymentSelector !== '' || rt.config.orchestrator.enabled)) {
    const { createKubeClient } = await import('../kube/kube-client.js');
    kube = rt.store.add(createKubeClient({ kubeconfig: k.kubeconfig || undefined, ...(k.namespace !== '' && { namespace: k.namespace }), log }));
  }
  if (c.nodeConditions && kube !== undefined) {
    const { startNodeConditions } = await import('./registry/node-conditions.js');
    rt.store.add(startNodeConditions(registry, kube, log));
  }

  let kubeAuth: KubeNodeAuth | undefined;
  if (c.auth === 'kubernetes' && kube !== undefined) {
    const { createKubeNodeAuth } = await import('./registry/kube-node-auth.js');
    const serviceAccounts = c.serviceAccounts.split(',').filter((sa) => sa !== '');
    kubeAuth = createKubeNodeAuth(kube, { serviceAccounts, namespace: kube.namespace, audience: c.tokenAudience, log });
    log.info({ serviceAccounts, namespace: kube.namespace, audience: c.tokenAudience || undefined }, 'agents report with their ServiceAccount tokens (TokenReview)');
  }
  const auth = createControlAuth({ ...(secret !== undefined && { secret }), ...(kubeAuth !== undefined && { kube: kubeAuth }) });
  // Pair keys derive from the cluster secret (they survive a restart); in kubernetes mode, or with
  // no secret, from random bytes of this process (agents refetch: the version rises on restart).
  const peerSecret = c.auth !== 'kubernetes' && secret !== undefined ? derivePeerSecret(secret) : randomPeerSecret();
  const membership = rt.store.add(createPoolMembership(registry, { peerSecret, log }));

  const engines = rt.store.add(createEngineSet({ specs, nodes: registryNodeView(registry), log: rt.log.child({ component: 'engines' }), probeInterval: g.probeInterval }));
  const approx = createPrefixIndex({ blockTokens: g.prefixBlock, capacity: g.prefixCapacity });
  const kvFeed = g.kvEvents ? await startKvEventFeed(rt, engines) : undefined;
  const prefix = kvFeed === undefined ? approx : new HybridPrefixIndex(approx, kvFeed.index);
  const router = new Router({ defaultPolicy: g.policy, prefix, log: rt.log.child({ component: 'router' }) });
  // An engine that left, or came back after failing /health (likely restarted), holds no cached prefixes.
  engines.onChange((e) => {
    if (e.kind === 'removed' || e.kind === 'healthy') router.forgetEngine(e.engine.uid);
  });
  if (g.engineSelector !== '' && kube !== undefined) {
    const { kubeEngineSource } = await import('./engines/kube-discovery.js');
    await engines.addSource(kubeEngineSource(kube, { selector: g.engineSelector, ...(k.namespace !== '' && { namespace: k.namespace }), port: g.enginePort, log }));
  }
  engines.start();

  const readiness = new Readiness();
  // Not ready until every engine known at start was probed once (engines found later never gate it).
  let unprobed: string[] = engines.all().map((e) => e.uid);
  readiness.add({
    name: 'engines',
    check() {
      if (unprobed.length === 0) return undefined;
      unprobed = unprobed.filter((uid) => engines.get(uid) !== undefined && engines.probedAt(uid) === undefined);
      return unprobed.length === 0 ? undefined : `${unprobed.length} engine(s) not probed yet`;
    },
  });
  const metrics = createAppMetrics(rt.processRegistry);
  if (kvFeed !== undefined) metrics.addTextSource(() => renderKvEventMetrics(kvFeed));
  const monitor = new DecayedLoadMonitor();
  const o = rt.config.optimizer;
  const optimizer = await setupOptimizer({ config: o, namespace: k.namespace || 'default', monitor, registry, metrics, log: rt.log.child({ component: 'optimizer' }), ...(kube !== undefined && { kube }) });
  if (optimizer !== undefined) rt.store.add(optimizer);
  // The router follows the plan's split of request shapes over GPU types before its policy.
  if (optimizer?.split !== undefined) router.setCandidateFilter(optimizer.split);
  // ModelFleets reconciled (by the Lease holder); loaded only when enabled, like the Kubernetes client.
  let orchestrator: RunningOrchestrator | undefined;
  if (rt.config.orchestrator.enabled && kube !== undefined) {
    const { createOrchestrator } = await import('./orchestrator/setup.js');
    const orch = rt.config.orchestrator;
    orchestrator = rt.store.add(await createOrchestrator({ config: orch, namespace: orch.namespace || k.namespace, kube, registry, metrics, log: rt.log.child({ component: 'orchestrator' }) }));
  }
  const control = await buildControlApp({
    log: rt.log.child({ component: 'control' }),
    metrics,
    readiness,
    registry,
    engines,
    version: rt.version,
    bodyLimit: c.bodyLimit,
    auth,
    membership,
    ...(orchestrator !== undefined && { orchestrator: { view: () => orchestrator.view() } }),
    ...(optimizer !== undefined && { optimizer: { planner: optimizer.planner, load: monitor, aibrixCompat: o.aibrixCompat, scaleDownWindowMs: o.scaleDownWindow, ...(optimizer.split !== undefined && { split: optimizer.split }) } }),
  });
  rt.store.add(toDisposable('control listener', () => control.close()));
  // The drain time bounds how long open streams may run on after SIGTERM before they get an error ending.
  const settings = { ...g, drainTimeout: rt.config.shutdown.timeout };
  const gateway = await buildGatewayApp({ log: rt.log.child({ component: 'gateway' }), metrics, version: rt.version, engines, router, settings, monitor });
  rt.store.add(toDisposable('gateway listener', () => gateway.app.close()));
  engines.onChange((e) => {
    if (e.kind === 'removed') gateway.routerMetrics.forgetEngine(e.engine.name);
  });

  const controlUrl = await listen(control, { host: c.host, port: c.port, server: 'control', flag: '--control.port' });
  const gatewayUrl = await listen(gateway.app, { host: g.host, port: g.port, server: 'gateway', flag: '--gateway.port' });
  log.info({ engines: engines.size, policy: g.policy, discovery: g.engineSelector || undefined }, 'coordinator started');
  const nodeToken = (name: string): string | undefined => (secret === undefined ? undefined : deriveNodeToken(secret, name));
  return { gatewayUrl, controlUrl, registry, membership, engines, router, monitor: gateway.monitor, ...(optimizer !== undefined && { planner: optimizer.planner }), readiness, nodeToken };
}

/**
 * --gateway.kv-events: one subscription per engine (its endpoint listed by name, else its host on
 * --gateway.kv-events-port), following the engine set; the index is the exact one the router
 * consults while an engine's events are live.
 */
async function startKvEventFeed(rt: CoordinatorRuntime, engines: EngineSet): Promise<KvEventFeed> {
  const g = rt.config.gateway;
  const log = rt.log.child({ component: 'kv-events' });
  const { KvEventSubscriber } = await import('../common/kv-events/subscriber.js');
  const index = createKvEventIndex({ capacity: g.kvEventsCapacity, staleMs: g.kvEventsStale });
  const feed = new KvEventFeed({ index, factory: (o) => new KvEventSubscriber(o), log });
  const listed = parseKvEventEndpoints(g.kvEventsEndpoints);
  const follow = (e: EngineState): void => feed.add(e.uid, e.name, kvEventEndpointOf(e, listed, g.kvEventsPort, g.kvEventsReplayPort));
  for (const e of engines.all()) follow(e);
  engines.onChange((ev) => {
    if (ev.kind === 'removed') void feed.remove(ev.engine.uid);
    else if (ev.kind === 'added' || ev.kind === 'updated') follow(ev.engine);
  });
  feed.start();
  rt.store.add(toDisposable('kv-events subscriptions', () => feed.close()));
  log.info({ engines: engines.size, staleMs: g.kvEventsStale, capacity: g.kvEventsCapacity }, 'routing on engines\' KV events while they flow');
  return feed;
}
