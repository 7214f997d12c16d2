/**
 * Prometheus registries. One process registry carries the `brixlet_` process and Node.js metrics;
 * each app has its own registry, and its /metrics renders both. `brixlet up` (agent and coordinator
 * in one process) thus exports process metrics on each listener without registering them twice,
 * and metrics a component registers after start-up still show.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'brixlet_';

export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

export interface AppMetrics {
  /** Registry for the app's own metrics. */
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text /metrics serves: process metrics, then the app's own. */
  render(): Promise<string>;
}

export function createAppMetrics(processRegistry: Registry): AppMetrics {
  const registry = new Registry();
  return {
    registry,
    contentType: registry.contentType,
    async render() {
      const [proc, own] = await Promise.all([processRegistry.metrics(), registry.metrics()]);
      return own === '' ? proc : `${proc}${proc.endsWith('\n') ? '' : '\n'}${own}`;
    },
  };
}
