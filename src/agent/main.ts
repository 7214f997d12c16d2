/**
 * Composes and starts the agent: app, components, listener and, with a coordinator, the reporter.
 * Used by `brixlet agent` and `brixlet up`.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import { listen } from '../common/http/listen.js';
import { type DisposableStore, toDisposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { createAppMetrics } from '../common/metrics.js';
import { readReportToken } from '../common/node-report.js';
import { Readiness } from '../common/readiness.js';
import { type MembershipSource, soloMembership } from '../kvcache/membership.js';
import type { KvService } from '../kvcache/types.js';
import { buildAgentApp } from './agent-app.js';
import { cachedHostInventory } from './inventory.js';
import { createReporter, type ReportAccelSource, type Reporter } from './reporter.js';
import { createRingFollower, registerRingMetrics, staticMembership } from './ring-follower.js';
import type { AgentComponent } from './types.js';

export interface AgentRuntime {
  readonly config: DeepReadonly<Config>;
  readonly log: Logger;
  readonly processRegistry: Registry;
  readonly store: DisposableStore;
  readonly version: string;
}

export interface AgentStartOptions {
  /** Report to this control URL instead of agent.coordinator (`brixlet up` passes its own coordinator's). */
  readonly coordinator?: string;
  /** Bearer token for the reports, instead of reading agent.coordinatorTokenFile (`brixlet up`: its node token). */
  readonly coordinatorToken?: string;
  /** What the reports authenticate with, read already (brixlet agent reads it before the accelerators). */
  readonly credentials?: ReportCredentials;
  /**
   * Report the URL this process reaches the agent at (loopback for a wildcard bind) unless
   * agent.advertiseUrl is set: `brixlet up`, where coordinator and agent share the machine.
   */
  readonly advertiseListenUrl?: boolean;
  /**
   * Components already in the store, disposed by the caller at its chosen point: `brixlet up` adds
   * the KV shard before the gateway, so the socket drains only after the gateway has drained.
   */
  readonly disposedByCaller?: readonly AgentComponent[];
}

export interface RunningAgent {
  /** Where this process can reach the agent (loopback for a wildcard bind). */
  readonly url: string;
  /** What the agent reports as its URL: agent.advertiseUrl, else http://<host name>:<port>. */
  readonly agentUrl: string;
  readonly nodeName: string;
  readonly components: readonly string[];
  readonly readiness: Readiness;
  /** Present when the agent reports to a coordinator; disposed with the runtime's store. */
  readonly reporter?: Reporter;
  /** The KV pool membership the agent follows (also on every component's AgentContext). */
  readonly membership: MembershipSource;
  /** The KV peer address this agent reports (undefined: none, the peer transport is off). */
  peerAddress(): string | undefined;
}

/** The node name the agent reports: `agent.nodeName`, else the host name. */
export function agentNodeName(config: DeepReadonly<Pick<Config, 'agent'>>): string {
  return config.agent.nodeName || hostname();
}

/** The report token from agent.coordinatorTokenFile (undefined when unset); BRX_ERR_REGISTRY_TOKEN when unreadable. */
export async function readAgentReportToken(config: DeepReadonly<Pick<Config, 'agent'>>): Promise<string | undefined> {
  const file = config.agent.coordinatorTokenFile;
  return file === '' ? undefined : readReportToken(file, '--agent.coordinator-token-file');
}

/** How the reporter authenticates: a fixed node token, or a token file read before every report. */
export interface ReportCredentials {
  readonly token?: string;
  readonly tokenSource?: () => Promise<string>;
}

const MAX_SA_TOKEN_BYTES = 16 * 1024;

/**
 * The pod's ServiceAccount token. The kubelet writes it (mode 0644 inside the pod's own volume)
 * and rotates it, so it is read before every report and not held to the 0600 rule of token files.
 */
export async function readServiceAccountToken(path: string): Promise<string> {
  const fail = (reason: string, cause?: unknown): BrixletError =>
    new BrixletError('BRX_ERR_REGISTRY_TOKEN', { path: path || '(none)', reason: `${reason} (--agent.service-account-token-file)` }, cause === undefined ? {} : { cause });
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw fail((err as Error).message, err);
  }
  if (text === '' || text.length > MAX_SA_TOKEN_BYTES || /\s/.test(text)) throw fail('it does not hold one token');
  return text;
}

/**
 * What this agent reports with: agent.coordinatorAuth kubernetes = its ServiceAccount token (read
 * once now, so a missing file stops the agent at start, then before every report); token = the
 * node token in agent.coordinatorTokenFile (none when unset).
 */
export async function agentReportCredentials(config: DeepReadonly<Pick<Config, 'agent'>>): Promise<ReportCredentials> {
  if (config.agent.coordinatorAuth === 'kubernetes') {
    const path = config.agent.serviceAccountTokenFile;
    await readServiceAccountToken(path);
    return { tokenSource: () => readServiceAccountToken(path) };
  }
  const token = await readAgentReportToken(config);
  return token === undefined ? {} : { token };
}

/** agent.advertiseUrl, else the listen URL with a wildcard bind replaced by the host name. */
export function advertisedUrl(config: DeepReadonly<Pick<Config, 'agent'>>, port: number): string {
  if (config.agent.advertiseUrl !== '') return config.agent.advertiseUrl;
  const host = config.agent.host;
  if (host === '0.0.0.0' || host === '::' || host === '') return `http://${hostname()}:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

export async function startAgent(rt: AgentRuntime, components: readonly AgentComponent[] = [], opts: AgentStartOptions = {}): Promise<RunningAgent> {
  const log = rt.log.child({ component: 'agent' });
  const nodeName = agentNodeName(rt.config);
  const coordinator = opts.coordinator ?? rt.config.agent.coordinator;
  // Before anything listens: an unreadable token file stops the agent at start-up.
  const credentials: ReportCredentials =
    coordinator === '' ? {} : opts.coordinatorToken !== undefined ? { token: opts.coordinatorToken } : (opts.credentials ?? (await agentReportCredentials(rt.config)));
  const readiness = new Readiness();
  // Before the components: they get the membership at register(), and the follower is disposed after them.
  const ring = coordinator === '' ? undefined : rt.store.add(createRingFollower({ coordinator, nodeName, ...credentials, log }));
  const membership: MembershipSource = ring ?? staticMembership(soloMembership(nodeName));
  for (const c of components) if (opts.disposedByCaller?.includes(c) !== true) rt.store.add(c);
  const metrics = createAppMetrics(rt.processRegistry);
  registerRingMetrics(metrics.registry, membership);
  const app = await buildAgentApp({
    config: rt.config,
    log,
    metrics,
    readiness,
    version: rt.version,
    nodeName,
    components,
    membership,
  });
  rt.store.add(toDisposable('agent listener', () => app.close()));
  const url = await listen(app, { host: rt.config.agent.host, port: rt.config.agent.port, server: 'agent', flag: '--agent.port' });
  log.info({ url, node: nodeName }, 'agent listening');
  const agentUrl = opts.advertiseListenUrl === true && rt.config.agent.advertiseUrl === '' ? url : advertisedUrl(rt.config, Number(new URL(url).port));
  const names = components.filter((c) => c.enabled !== false).map((c) => c.name);
  // The KV peer listener's advertised address, reported with the shard so the coordinator's ring fills.
  const peer = components.find(hasPeerAddress);
  const peerAddress = peer === undefined ? undefined : () => peer.peerAddress();
  let reporter: Reporter | undefined;
  if (coordinator !== '') {
    const accel = components.find(hasSampler)?.sampler;
    const kv = components.find(hasKvService)?.service;
    reporter = rt.store.add(
      createReporter({
        coordinator,
        ...credentials,
        nodeName,
        agentUrl,
        version: rt.version,
        components: names,
        heartbeatMs: rt.config.agent.heartbeat,
        ...(accel !== undefined && { accel }),
        ...(kv !== undefined && { kv }),
        ...(peerAddress !== undefined && { peerAddress }),
        ...(ring !== undefined && { onRingVersion: (v: number) => ring.offer(v) }),
        inventory: cachedHostInventory(undefined, log),
        log,
      }),
    );
    reporter.start();
    log.info({ coordinator, agentUrl, heartbeatMs: rt.config.agent.heartbeat }, 'reporting to the coordinator');
  }
  return { url, agentUrl, nodeName, components: components.map((c) => c.name), readiness, membership, peerAddress: () => peerAddress?.(), ...(reporter !== undefined && { reporter }) };
}

function hasSampler(c: AgentComponent): c is AgentComponent & { readonly sampler: ReportAccelSource } {
  return 'sampler' in c && c.sampler !== undefined;
}

/** A component that knows this agent's KV peer address (the peer listener, once it listens). */
function hasPeerAddress(c: AgentComponent): c is AgentComponent & { peerAddress(): string | undefined } {
  return 'peerAddress' in c && typeof c.peerAddress === 'function';
}

function hasKvService(c: AgentComponent): c is AgentComponent & { readonly service: KvService } {
  return 'service' in c && c.service !== undefined;
}
