/** Composes and starts the agent: app, components, listener. Used by `brixlet agent` and `brixlet up`. */
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { listen } from '../common/http/listen.js';
import { type DisposableStore, toDisposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { createAppMetrics } from '../common/metrics.js';
import { Readiness } from '../common/readiness.js';
import { buildAgentApp } from './agent-app.js';
import type { AgentComponent } from './types.js';

export interface AgentRuntime {
  readonly config: DeepReadonly<Config>;
  readonly log: Logger;
  readonly processRegistry: Registry;
  readonly store: DisposableStore;
  readonly version: string;
}

export interface RunningAgent {
  readonly url: string;
  readonly nodeName: string;
  readonly components: readonly string[];
  readonly readiness: Readiness;
}

/** The node name the agent reports: `agent.nodeName`, else the host name. */
export function agentNodeName(config: DeepReadonly<Pick<Config, 'agent'>>): string {
  return config.agent.nodeName || hostname();
}

export async function startAgent(rt: AgentRuntime, components: readonly AgentComponent[] = []): Promise<RunningAgent> {
  const log = rt.log.child({ component: 'agent' });
  const nodeName = agentNodeName(rt.config);
  const readiness = new Readiness();
  for (const c of components) rt.store.add(c);
  const app = await buildAgentApp({
    config: rt.config,
    log,
    metrics: createAppMetrics(rt.processRegistry),
    readiness,
    version: rt.version,
    nodeName,
    components,
  });
  rt.store.add(toDisposable('agent listener', () => app.close()));
  const url = await listen(app, { host: rt.config.agent.host, port: rt.config.agent.port, server: 'agent', flag: '--agent.port' });
  log.info({ url, node: nodeName }, 'agent listening');
  return { url, nodeName, components: components.map((c) => c.name), readiness };
}
