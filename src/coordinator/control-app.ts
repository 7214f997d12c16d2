/**
 * The coordinator's control listener (:8081): health, metrics, the node registry (agents report
 * here), when the coordinator has an engine set the engines view, and with the GPU optimizer its
 * plan, profiles and the replica metrics autoscalers read.
 */
import { Gauge } from 'prom-client';
import { type BrixletServer, createServer } from '../common/http/create-server.js';
import { registerOpsRoutes } from '../common/http/ops-routes.js';
import type { Logger } from '../common/logger.js';
import type { AppMetrics } from '../common/metrics.js';
import type { Readiness } from '../common/readiness.js';
import { registerEngineRoutes } from './engines/routes.js';
import type { ControlAuth } from './registry/control-auth.js';
import type { EngineSetView } from './engines/types.js';
import { type OptimizerRouteDeps, registerOptimizerRoutes } from './optimizer/routes.js';
import { type OrchestratorRouteDeps, registerOrchestratorRoutes } from './orchestrator/routes.js';
import type { PoolMembership } from './registry/pool-membership.js';
import type { Registry } from './registry/registry.js';
import { registerRingRoutes } from './registry/ring-routes.js';
import { registerNodeRoutes } from './registry/routes.js';

export interface ControlAppDeps {
  readonly log: Logger;
  readonly metrics: AppMetrics;
  readonly readiness: Readiness;
  readonly registry: Registry;
  readonly version: string;
  readonly bodyLimit: number;
  /** Who may write (node reports, DELETE); absent or not enabled = every write is taken. */
  readonly auth?: ControlAuth;
  /** The KV pool membership, served at GET /v1/ring and versioned in report replies, when given. */
  readonly membership?: PoolMembership;
  /** The gateway's engines, served at GET /v1/engines when given. */
  readonly engines?: EngineSetView;
  /** The GPU optimizer's routes (plan, explain, profiles, /metrics/:namespace/:deployment), when it runs. */
  readonly optimizer?: Omit<OptimizerRouteDeps, 'auth'>;
  /** The orchestrator's fleets view (GET /v1/orchestrator/fleets), when --orchestrator.enabled. */
  readonly orchestrator?: OrchestratorRouteDeps;
}

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
  const { auth, membership } = deps;
  await registerNodeRoutes(app, { registry: deps.registry, ...(auth !== undefined && { auth }), ...(membership !== undefined && { membership }) });
  if (membership !== undefined) registerRingRoutes(app, { membership, ...(auth !== undefined && { auth }) });
  if (deps.engines !== undefined) registerEngineRoutes(app, deps.engines);
  if (deps.optimizer !== undefined) await registerOptimizerRoutes(app, { ...deps.optimizer, ...(auth !== undefined && { auth }) });
  if (deps.orchestrator !== undefined) registerOrchestratorRoutes(app, deps.orchestrator);
  registerRegistryMetrics(deps.metrics, deps.registry, deps.auth?.enabled === true);
  return app;
}

function registerRegistryMetrics(metrics: AppMetrics, registry: Registry, authenticated: boolean): void {
  const registers = [metrics.registry];
  // Read at scrape time from the registry: nothing to keep in step on the report path.
  if (metrics.registry.getSingleMetric('brixlet_registry_nodes') !== undefined) return;
  new Gauge({
    name: 'brixlet_control_writes_unauthenticated',
    help: '1 when the control API takes node reports and deletes without credentials (no --control.token-file, no --control.auth kubernetes), else 0.',
    registers,
  }).set(authenticated ? 0 : 1);
  new Gauge({
    name: 'brixlet_registry_nodes',
    help: 'Nodes known from agent reports, by state (ready, stale).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      let stale = 0;
      const nodes = registry.listNodes();
      for (const n of nodes) if (n.state === 'stale') stale += 1;
      this.set({ state: 'ready' }, nodes.length - stale);
      this.set({ state: 'stale' }, stale);
    },
  });
  new Gauge({
    name: 'brixlet_registry_unhealthy_accelerators',
    help: 'Accelerators the agents report unhealthy, summed over nodes.',
    registers,
    collect() {
      let n = 0;
      for (const node of registry.listNodes()) n += node.unhealthyGpus;
      this.set(n);
    },
  });
}
