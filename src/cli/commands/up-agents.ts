/**
 * `brixlet up --agents N`: N agents in the one process, so the KV pool across nodes can be seen on a
 * laptop. Agent i is node <node>-i (--agent.node-name, else the host name) with its own slab
 * directory (<kv.dir>-i), socket (kv-i.sock beside --kv.socket), agent port and KV peer port, each
 * reporting to the in-process coordinator with its own node token. N = 1 is `brixlet up` as it
 * always was: the configured names and paths, unchanged.
 *
 * Ports: agent i listens on --agent.port + i·S and its peer listener on --kv.peer-port + i·S, where
 * S is 1, or 2 when the two runs of ports would overlap (the defaults 9464 and 9465 do); port 0
 * stays 0 (a free port for the agent; the peer listener off). Unless --kv.peer-advertise is set,
 * each agent advertises its peer listener at the host this process reaches its agent on (loopback
 * for a wildcard bind), as `up` reports the agents' URLs: the agents share this machine.
 */
import { basename, dirname, join } from 'node:path';
import { createAccelComponent, type AccelComponent } from '../../agent/accel-component.js';
import { createFaultComponent } from '../../agent/fault-component.js';
import { createKvComponent, type KvComponent } from '../../agent/kv-component.js';
import { agentNodeName, type RunningAgent, startAgent } from '../../agent/main.js';
import type { DeepReadonly } from '../../common/config/load-config.js';
import type { Config } from '../../common/config/schema.js';
import type { MembershipSource } from '../../kvcache/membership.js';
import { prepareSocketPath } from '../../kvcache/service.js';
import { stringOption, usage } from '../args.js';
import type { ParsedArgs } from '../types.js';
import type { ServiceRuntime } from '../serve.js';

export const MAX_UP_AGENTS = 16;

/** --agents N (default 1); BRX_ERR_CLI_USAGE on a bad value or with --kv.pools. */
export function parseUpAgentsArg(args: ParsedArgs, config?: DeepReadonly<Pick<Config, 'kv'>>): number {
  const raw = stringOption(args, 'agents');
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > MAX_UP_AGENTS) throw usage(`--agents must be a whole number from 1 to ${MAX_UP_AGENTS}, got '${raw}'`);
  if (n > 1 && config !== undefined && config.kv.pools !== '') throw usage('--agents above 1 cannot be combined with --kv.pools: every agent would claim the same pool sockets and directories');
  return n;
}

/** The step between the ports of consecutive agents (see the file's comment). */
export function portStep(agentPort: number, peerPort: number, n: number): number {
  if (n <= 1 || agentPort === 0 || peerPort === 0) return 1;
  return Math.abs(agentPort - peerPort) < n ? 2 : 1;
}

const suffixed = (path: string, i: number): string => `${path.replace(/\/+$/, '')}-${i}`;

/** The configuration agent `i` of `n` runs with (n = 1: the configuration itself). */
export function agentConfig(config: DeepReadonly<Config>, i: number, n: number, kvSocket: string): DeepReadonly<Config> {
  if (n === 1) return config;
  const agentPort = config.agent.port;
  const { peerPort } = config.kv;
  const step = portStep(agentPort, peerPort, n);
  const socketName = basename(kvSocket).replace(/(\.sock)?$/, `-${i}$1`);
  return {
    ...config,
    agent: { ...config.agent, nodeName: `${agentNodeName(config)}-${i}`, port: agentPort === 0 ? 0 : agentPort + i * step },
    kv: {
      ...config.kv,
      dir: suffixed(config.kv.dir, i),
      socket: join(dirname(kvSocket), socketName),
      peerPort: peerPort === 0 ? 0 : peerPort + i * step,
      peerAdvertise: config.kv.peerAdvertise !== '' || peerPort === 0 ? config.kv.peerAdvertise : `${reachableHost(config.agent.host)}:${peerPort + i * step}`,
    },
    // The fault rule file is the machine's: only agent 0 serves /v1/faults.
    faults: i === 0 ? config.faults : { ...config.faults, enabled: false },
  };
}

export interface UpAgent {
  readonly node: string;
  readonly config: DeepReadonly<Config>;
  readonly kv: KvComponent;
  readonly accel?: AccelComponent;
  readonly running?: RunningAgent;
}

/**
 * Creates the agents' KV shards (before the coordinator, so they drain after it); agents start with
 * startUpAgents once the coordinator listens.
 */
export async function createUpShards(rt: ServiceRuntime, n: number): Promise<UpAgent[]> {
  // Resolved once (the per-user fallback of the default socket), so every agent's socket lands beside it.
  const socket = n === 1 ? rt.config.kv.socket : prepareSocketPath(rt.config.kv.socket, rt.log);
  const out: UpAgent[] = [];
  for (let i = 0; i < n; i++) {
    const config = agentConfig(rt.config, i, n, socket);
    const kv = rt.store.add(await createKvComponent(config, rt.log));
    out.push({ node: agentNodeName(config), config, kv });
  }
  return out;
}

export interface UpAgentsOptions {
  readonly controlUrl: string;
  readonly nodeToken: (name: string) => string | undefined;
}

/** Starts every agent, each reporting with its own node token; returns them with their running state. */
export async function startUpAgents(rt: ServiceRuntime, shards: readonly UpAgent[], opts: UpAgentsOptions): Promise<Required<UpAgent>[]> {
  const started: Required<UpAgent>[] = [];
  for (const s of shards) {
    const art: ServiceRuntime = shards.length === 1 ? rt : { ...rt, config: s.config, log: rt.log.child({ node: s.node }) };
    // Before the accelerators: a bad token file stops the agent before any library is opened.
    const faults = await createFaultComponent({ config: s.config, log: art.log });
    const accel = await createAccelComponent({ config: s.config, log: art.log, nodeName: s.node, decorate: faults.decorate });
    const token = opts.nodeToken(s.node);
    const running = await startAgent(art, [accel, faults, s.kv], {
      disposedByCaller: [s.kv],
      coordinator: opts.controlUrl,
      ...(token !== undefined && { coordinatorToken: token }),
      advertiseListenUrl: true,
    });
    started.push({ ...s, accel, running });
  }
  // Every agent is listed, then every agent hears the version that lists them all.
  for (const a of started) await a.running.reporter?.reportNow();
  for (const a of started) await a.running.reporter?.reportNow();
  return started;
}

/** The host this process reaches a listener bound to `host` on: loopback for a wildcard bind. */
function reachableHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Resolves when `source` holds `version` or after `ms` (never rejects: start-up goes on either way). */
export function membershipAt(source: MembershipSource, version: number, ms: number): Promise<void> {
  if (source.current().version === version) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const off = source.onChange((m) => {
      if (m.version === version) done();
    });
  });
}
