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
  /**
   * Adds pre-rendered exposition text (for families rendered once per snapshot, such as the
   * accelerator metrics); the function runs on every scrape and must be cheap. Returns a remover.
   */
  addTextSource(source: () => string): () => void;
  /** The exposition text /metrics serves: process metrics, the app's own, then text sources. */
  render(): Promise<string>;
}

export function createAppMetrics(processRegistry: Registry): AppMetrics {
  const registry = new Registry();
  const sources = new Set<() => string>();
  return {
    registry,
    contentType: registry.contentType,
    addTextSource(source) {
      sources.add(source);
      return () => sources.delete(source);
    },
    async render() {
      const parts = await Promise.all([processRegistry.metrics(), registry.metrics()]);
      for (const s of sources) parts.push(s());
      return parts
        .filter((p) => p !== '')
        .map((p) => (p.endsWith('\n') ? p : `${p}\n`))
        .join('');
    },
  };
}
