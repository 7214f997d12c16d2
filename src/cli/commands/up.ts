/**
 * `brixlet up`: coordinator and agent in one process, the agent reporting to the coordinator; with
 * --engines N also N mock engines (src/mock-engine) registered with the gateway,
 * so `curl` against the gateway gets routed answers without a GPU.
 */
import { randomBytes } from 'node:crypto';
import { toDisposable } from '../../common/lifecycle.js';
import type { EngineSpec } from '../../coordinator/engines/types.js';
import { startCoordinator } from '../../coordinator/main.js';
import { type RunningMockEngine, startMockEngines } from '../../mock-engine/index.js';
import { stringOption, usage } from '../args.js';
import { type Command, CONFIG_OPTION, JSON_OPTION, type ParsedArgs } from '../types.js';
import { ROUTING_HELP } from './coordinator.js';
import { KV_ROLE } from './kv.js';
import { kvRoleText, timeScaleText } from './mock-engine.js';
import { createUpShards, MAX_UP_AGENTS, membershipAt, parseUpAgentsArg, startUpAgents } from './up-agents.js';
import { decideUpOptimizer, shippedProfiles } from './up-optimizer.js';
import { serve, type ServiceRuntime } from '../serve.js';

export interface UpEngineArgs {
  /** Mock engines to start (0 = none). */
  readonly engines: number;
  readonly gpus: readonly string[];
  readonly model: string;
  /** Model time per wall time; Infinity answers at once. */
  readonly timeScale: number;
}

const MAX_ENGINES = 64;

/** --engines, --engine-gpus, --engine-model, --engine-time-scale; BRX_ERR_CLI_USAGE on a bad value. */
export function parseUpEngineArgs(args: ParsedArgs): UpEngineArgs {
  const n = stringOption(args, 'engines');
  let engines = 0;
  if (n !== undefined) {
    engines = Number(n);
    if (!/^\d+$/.test(n.trim()) || engines > MAX_ENGINES) throw usage(`--engines must be a whole number from 0 to ${MAX_ENGINES}, got '${n}'`);
  }
  const gpusRaw = stringOption(args, 'engine-gpus');
  const gpus = gpusRaw === undefined ? ['h100'] : gpusRaw.split(',').map((s) => s.trim().toLowerCase());
  if (gpus.some((g) => g === '')) throw usage(`--engine-gpus must be a comma-separated list of GPU profiles, got '${gpusRaw ?? ''}'`);
  const scaleRaw = stringOption(args, 'engine-time-scale');
  let timeScale = 1;
  if (scaleRaw !== undefined) {
    timeScale = /^(inf|infinity)$/i.test(scaleRaw.trim()) ? Infinity : Number(scaleRaw);
    if (!(timeScale > 0)) throw usage(`--engine-time-scale must be a positive number or inf, got '${scaleRaw}'`);
  }
  const model = stringOption(args, 'engine-model') ?? 'mock-llama-3-8b';
  if (model.trim() === '') throw usage('--engine-model must not be empty');
  return { engines, gpus, model, timeScale };
}

/**
 * Starts the mock engines (closed with the runtime) and returns them as engine specs of source `up`.
 * Engine i offloads to and loads from the KV shard kvSockets[i mod n] (agents round robin).
 */
async function startUpEngines(rt: ServiceRuntime, a: UpEngineArgs, kvSockets: readonly string[]): Promise<{ handles: RunningMockEngine[]; specs: EngineSpec[] }> {
  if (a.engines === 0) return { handles: [], specs: [] };
  // With --gateway.kv-events each engine publishes its KV events on free loopback ports the gateway subscribes to.
  const events = rt.config.gateway.kvEvents ? { kvEventsEndpoint: 'tcp://127.0.0.1:0', kvEventsReplayEndpoint: 'tcp://127.0.0.1:0' } : {};
  const handles = await startMockEngines(a.engines, { host: '127.0.0.1', port: 0, gpus: a.gpus, model: a.model, timeScale: a.timeScale, name: 'engine', kvSockets, ...events });
  rt.store.add(toDisposable('mock engines', () => Promise.all(handles.map((h) => h.close())).then(() => undefined)));
  const specs = handles.map(
    (h): EngineSpec => ({
      uid: h.url,
      name: h.name,
      url: h.url,
      models: h.models,
      gpuType: h.profile.name,
      source: 'up',
      ...(h.kvEvents !== undefined && { kvEvents: { endpoint: h.kvEvents.endpoint, ...(h.kvEvents.replayEndpoint !== undefined && { replayEndpoint: h.kvEvents.replayEndpoint }) } }),
    }),
  );
  return { handles, specs };
}

function engineRole(h: RunningMockEngine, timeScale: number): string {
  return `mock engine ${h.profile.name}, ${timeScaleText(timeScale)}, model ${h.models.join(', ')}${kvRoleText(h)}`;
}

export const upCommand: Command = {
  name: 'up',
  summary: 'Run the coordinator and an agent in one process on this machine',
  usage: 'brixlet up [--agents N] [--engines N [--engine-gpus h100,a10] [--engine-model NAME] [--engine-time-scale X] [--no-optimizer]] [--gateway.port N] [--control.port N] [--agent.port N] [--json] [flags]',
  description: [
    'The embedded default: no Kubernetes and no external services. Starts the OpenAI-compatible',
    'gateway, the control API and this node\'s agent, which reports to the coordinator, and prints',
    'their URLs. SIGTERM or Ctrl-C drains in-flight requests and exits 0. Use port 0 for a free port;',
    'with --json the URLs are printed as one JSON line. Accelerators are auto-detected (NVML, DCMI);',
    'without a GPU, --accel sim:<scenario> simulates a node from mocks/scenarios/. The agent hosts the',
    'node KV cache shard; its socket is listed as kvSocket (--kv.socket; try `brixlet kv stats`).',
    '--no-kv.enabled turns it off.',
    '',
    'The control API authenticates writes from the start: up makes a random cluster secret that lives',
    'only in this process and gives its own agent the derived node token, so an unauthenticated',
    'PUT or DELETE on /v1/nodes gets 401 with no set-up. To let agents on other machines join, give',
    'up a secret file (--control.token-file FILE, see `brixlet token`) and each agent its node token.',
    '',
    `--agents N (1 to ${MAX_UP_AGENTS}, default 1) runs N agents in the process, so the KV pool across`,
    'nodes can be seen on one machine: agent i is node <node>-i (--agent.node-name, else the host',
    'name) with its own slab directory (--kv.dir with -i), socket (kv-i.sock beside --kv.socket),',
    'agent port (--agent.port + i) and KV peer port (--kv.peer-port + i; both step by 2 where the two',
    'runs would overlap, as the defaults 9464 and 9465 do; port 0 stays 0), each reporting with its own',
    'node token. Each gets --kv.capacity. GET /v1/ring on the control port lists the pool\'s members;',
    'the --json line lists every agent under "agents" (node, url, kvSocket, peerAddress) after the',
    'first agent\'s fields, and `brixlet kv --socket PATH` talks to any of them. --kv.pools needs',
    '--agents 1.',
    '',
    '--engines N also starts N mock vLLM engines on loopback (see `brixlet mock-engine --help`),',
    'registered with the gateway and listed as engine-0 … engine-N-1: --engine-gpus cycles GPU',
    'profiles over them (h100, a100, l20, a10: a heterogeneous fleet), --engine-model names the model',
    'they serve (default mock-llama-3-8b), --engine-time-scale X runs their latency model X times',
    'faster than real time (inf: no latency). Each engine is attached to an agent\'s KV socket (round',
    'robin over --agents): a prompt its own prefix cache misses is looked up in the shard and hit',
    'blocks are loaded instead of recomputed; what it prefills is offloaded (see --kv-socket in',
    '`brixlet mock-engine --help`; --no-kv.enabled leaves them unattached). Then:',
    '  curl -i localhost:8080/v1/chat/completions -d \'{"model":"mock-llama-3-8b","messages":[{"role":"user","content":"hi"}]}\'',
    'shows the chosen engine in x-brixlet-target and the policy in x-brixlet-policy.',
    'With --gateway.kv-events the engines publish their KV events (vLLM\'s ZMQ wire) and the gateway',
    'routes on the blocks they report (x-brixlet-policy: cost; prefix=kv-events), tokenizing prompts',
    'with the engines (--gateway.tokenizer engine, the default with kv-events).',
    '',
    'With --engines, the GPU optimizer plans from the gateway\'s live load with no set-up: the mock',
    'engines\' GPU models come with profiles made by `brixlet profile` (profiles/, scripts/mock-profiles.sh),',
    'one deployment per GPU type (engine-l20, engine-a10 … in --kube.namespace, else default, running',
    'that type\'s engines). GET /v1/optimizer/plan and /v1/optimizer/explain on the control port show the',
    'mix and the request shapes behind it; each new plan is logged at info. A GPU type with no shipped',
    'profile is left as it is. Your own --optimizer.profiles or --optimizer.deployments replace this;',
    '--no-optimizer or --optimizer.enabled off turn it off. Other --optimizer.* flags apply (e.g.',
    '--optimizer.interval 2s).',
    '',
    ...ROUTING_HELP,
  ].join('\n'),
  examples: [
    'brixlet up',
    'brixlet up --engines 4 --engine-gpus h100,a10',
    'brixlet up --engines 4 --engine-gpus l20,a10 --optimizer.interval 2s',
    'brixlet up --agents 2 --kv.capacity 256MiB --json',
    'brixlet up --engines 4 --gateway.policy prefix-cache --log.level debug',
    'brixlet up --accel sim:healthy-8x-h100',
    'brixlet up --gateway.port 0 --control.port 0 --agent.port 0 --json',
  ],
  configSections: ['log', 'agent', 'accel', 'nvml', 'dcmi', 'faults', 'kv', 'gateway', 'control', 'optimizer', 'orchestrator', 'kube', 'shutdown'],
  options: [
    { name: 'agents', type: 'string', valueName: 'N', description: `Run N agents (nodes <node>-0 …) in the process, each with its own KV shard and ports (default 1; at most ${MAX_UP_AGENTS}).` },
    { name: 'engines', type: 'string', valueName: 'N', description: 'Start N mock engines behind the gateway (default 0).' },
    { name: 'engine-gpus', type: 'string', valueName: 'LIST', description: 'GPU profiles cycled over the mock engines: h100, a100, l20, a10 (default h100).' },
    { name: 'engine-model', type: 'string', valueName: 'NAME', description: 'Model the mock engines serve (default mock-llama-3-8b).' },
    { name: 'engine-time-scale', type: 'string', valueName: 'X', description: 'Mock engine model time per wall time (default 1; inf = no latency).' },
    { name: 'no-optimizer', type: 'boolean', description: 'With --engines: no GPU optimizer over the engines\' GPU types (on by default where profiles are shipped for them).' },
    JSON_OPTION,
    CONFIG_OPTION,
  ],
  run: async (ctx) => {
    const engineArgs = parseUpEngineArgs(ctx.args);
    return serve(ctx, async (rt) => {
      const agentCount = parseUpAgentsArg(ctx.args, rt.config);
      // Stored before the coordinator, so shutdown drains the gateway first and the KV sockets after
      // it: engines still finishing requests keep their KV access until then.
      const shards = await createUpShards(rt, agentCount);
      // After the shards (closed before them: offloads in flight finish first), before the coordinator.
      const mocks = await startUpEngines(rt, engineArgs, shards.flatMap((s) => (s.kv.socketPath === undefined ? [] : [s.kv.socketPath])));
      // Credentials without set-up: a cluster secret that lives only in this process (unless
      // --control.token-file names one, so agents elsewhere can join), and the in-process agent
      // reports with its node token. Nothing else can write to the control API, whatever it binds.
      const secret = rt.config.control.tokenFile === '' ? randomBytes(32).toString('base64url') : undefined;
      // The GPU optimizer over the engines' GPU types, from the profiles shipped for them.
      const plan = decideUpOptimizer({
        engineGpus: mocks.handles.map((h) => h.profile.name),
        model: engineArgs.model,
        namespace: rt.config.kube.namespace || 'default',
        optimizer: rt.config.optimizer,
        sources: ctx.loadConfig().sources,
        off: ctx.args.options['no-optimizer'] === true,
        shipped: shippedProfiles(),
      });
      for (const note of plan.notes) rt.log.info(note);
      const coordinator = await startCoordinator({ ...rt, config: { ...rt.config, optimizer: plan.optimizer } }, { engines: mocks.specs, ...(secret !== undefined && { secret }) });
      // Every node is listed, and every agent follows the ring that lists them all, by the time the URLs are printed.
      const agents = await startUpAgents(rt, shards, { controlUrl: coordinator.controlUrl, nodeToken: (name) => coordinator.nodeToken(name) });
      await Promise.all(agents.map((a) => membershipAt(a.running.membership, coordinator.membership.version, 5_000)));
      const [first] = agents as [(typeof agents)[0]];
      const { accel, kv, running: agent } = first;
      const more = agents.slice(1);
      // Engines answer /health before the first request: route from the first curl on.
      await coordinator.engines.probeNow();
      const engineUrls = Object.fromEntries(mocks.handles.map((h) => [h.name, h.url]));
      const planned = plan.deployments.filter((d) => d.planned).map((d) => `${d.namespace}/${d.name}`);
      const optimizerUrls = coordinator.planner === undefined ? {} : { optimizer: `${coordinator.controlUrl}/v1/optimizer/plan`, optimizerExplain: `${coordinator.controlUrl}/v1/optimizer/explain` };
      return {
        title: agents.length === 1 ? 'coordinator and agent in one process' : `coordinator and ${agents.length} agents in one process`,
        urls: {
          gateway: coordinator.gatewayUrl,
          control: coordinator.controlUrl,
          agent: agent.url,
          ...(kv.socketPath !== undefined && { kvSocket: kv.socketPath }),
          ...Object.fromEntries(more.flatMap((a, i) => [[`agent-${i + 1}`, a.running.url], ...(a.kv.socketPath !== undefined ? [[`kvSocket-${i + 1}`, a.kv.socketPath]] : [])])),
          ...engineUrls,
          ...optimizerUrls,
        },
        // Only with several agents: the single-agent line stays as it was (gateway, control, agent, kvSocket).
        json: more.length === 0 ? {} : {
          agents: agents.map((a) => ({ node: a.node, url: a.running.url, ...(a.kv.socketPath !== undefined && { kvSocket: a.kv.socketPath }), ...(a.running.peerAddress() !== undefined && { peerAddress: a.running.peerAddress() }) })),
        },
        roles: {
          ...Object.fromEntries(more.flatMap((a, i) => [[`agent-${i + 1}`, `node ${a.node} (/v1/kvcache, /metrics)`], [`kvSocket-${i + 1}`, `KV socket of ${a.node}`]])),
          gateway: `OpenAI-compatible API (/v1/chat/completions, /v1/models), policy ${rt.config.gateway.policy}, ${coordinator.engines.size} engine(s)`,
          control: 'registry, KV ring, engines and metrics (/v1/nodes, /v1/ring, /v1/engines, /metrics)',
          agent: `node ${agent.nodeName}, ${accel.summary()} (/v1/accelerators, /v1/kvcache, /metrics)`,
          kvSocket: KV_ROLE,
          ...Object.fromEntries(mocks.handles.map((h) => [h.name, engineRole(h, engineArgs.timeScale)])),
          optimizer: `GPU plan: GPUs per type, the split of request shapes over them${planned.length > 0 ? ` (${planned.join(', ')})` : ''}; per deployment /v1/optimizer/deployments/NS/NAME`,
          optimizerExplain: 'why: profiles, loaded request shapes, caps, each deployment',
        },
        beforeDrain: () => {
          coordinator.readiness.setDraining();
          for (const a of agents) a.running.readiness.setDraining();
        },
      };
    });
  },
};
