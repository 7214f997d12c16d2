/** Composes and starts the coordinator: registry, gateway and control listeners. */
import type { Registry as PromRegistry } from 'prom-client';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { listen } from '../common/http/listen.js';
import { type DisposableStore, toDisposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { createAppMetrics } from '../common/metrics.js';
import { Readiness } from '../common/readiness.js';
import { buildControlApp } from './control-app.js';
import { buildGatewayApp } from './gateway-app.js';
import { Registry } from './registry/registry.js';

export interface CoordinatorRuntime {
  readonly config: DeepReadonly<Config>;
  readonly log: Logger;
  readonly processRegistry: PromRegistry;
  readonly store: DisposableStore;
  readonly version: string;
}

export interface RunningCoordinator {
  readonly gatewayUrl: string;
  readonly controlUrl: string;
  readonly registry: Registry;
  readonly readiness: Readiness;
}

export async function startCoordinator(rt: CoordinatorRuntime): Promise<RunningCoordinator> {
  const log = rt.log.child({ component: 'coordinator' });
  const registry = new Registry();
  const readiness = new Readiness();
  const metrics = createAppMetrics(rt.processRegistry);
  const { gateway: g, control: c } = rt.config;

  const control = await buildControlApp({ log, metrics, readiness, registry, version: rt.version, bodyLimit: c.bodyLimit });
  rt.store.add(toDisposable('control listener', () => control.close()));
  const gateway = await buildGatewayApp({
    log: rt.log.child({ component: 'gateway' }),
    metrics,
    registry,
    version: rt.version,
    bodyLimit: g.bodyLimit,
  });
  rt.store.add(toDisposable('gateway listener', () => gateway.close()));

  const controlUrl = await listen(control, { host: c.host, port: c.port, server: 'control', flag: '--control.port' });
  const gatewayUrl = await listen(gateway, { host: g.host, port: g.port, server: 'gateway', flag: '--gateway.port' });
  return { gatewayUrl, controlUrl, registry, readiness };
}
