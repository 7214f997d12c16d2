/** `brixlet up`: coordinator and agent in one process, the agent registered with the coordinator. */
import { createAccelComponent } from '../../agent/accel-component.js';
import { createFaultComponent } from '../../agent/fault-component.js';
import { createKvComponent } from '../../agent/kv-component.js';
import { agentNodeName, startAgent } from '../../agent/main.js';
import { startCoordinator } from '../../coordinator/main.js';
import { type Command, CONFIG_OPTION, JSON_OPTION } from '../types.js';
import { KV_ROLE } from './kv.js';
import { serve } from '../serve.js';

export const upCommand: Command = {
  name: 'up',
  summary: 'Run the coordinator and an agent in one process on this machine',
  usage: 'brixlet up [--gateway.port N] [--control.port N] [--agent.port N] [--json] [flags]',
  description: [
    'The embedded default: no Kubernetes and no external services. Starts the OpenAI-compatible',
    'gateway, the control API and this node\'s agent, registers the agent with the coordinator and',
    'prints their URLs. SIGTERM or Ctrl-C drains in-flight requests and exits 0. Use port 0 for a',
    'free port; with --json the URLs are printed as one JSON line. Accelerators are auto-detected',
    '(NVML, DCMI); without a GPU, --accel sim:<scenario> simulates a node from mocks/scenarios/.',
    'The agent hosts the node KV cache shard; its socket is listed as kvSocket (--kv.socket; try',
    '`brixlet kv stats`). --no-kv.enabled turns it off.',
  ].join('\n'),
  examples: ['brixlet up', 'brixlet up --accel sim:healthy-8x-h100', 'brixlet up --gateway.port 0 --control.port 0 --agent.port 0 --json', 'BRIXLET_LOG_LEVEL=debug brixlet up'],
  configSections: ['log', 'agent', 'accel', 'nvml', 'dcmi', 'faults', 'kv', 'gateway', 'control', 'shutdown'],
  options: [JSON_OPTION, CONFIG_OPTION],
  run: (ctx) =>
    serve(ctx, async (rt) => {
      const coordinator = await startCoordinator(rt);
      // Before the accelerators: a bad token file stops the agent before any library is opened.
      const faults = await createFaultComponent({ config: rt.config, log: rt.log });
      const accel = await createAccelComponent({ config: rt.config, log: rt.log, nodeName: agentNodeName(rt.config), decorate: faults.decorate });
      const kv = await createKvComponent(rt.config, rt.log);
      const agent = await startAgent(rt, [accel, faults, kv]);
      coordinator.registry.upsertNode({ name: agent.nodeName, agentUrl: agent.url, version: rt.version, components: [...agent.components] });
      return {
        title: 'coordinator and agent in one process',
        urls: { gateway: coordinator.gatewayUrl, control: coordinator.controlUrl, agent: agent.url, ...(kv.socketPath !== undefined && { kvSocket: kv.socketPath }) },
        roles: {
          gateway: 'OpenAI-compatible API (/v1/models)',
          control: 'registry and metrics (/v1/nodes, /metrics)',
          agent: `node ${agent.nodeName}, ${accel.summary()} (/v1/accelerators, /v1/kvcache, /metrics)`,
          kvSocket: KV_ROLE,
        },
        beforeDrain: () => {
          coordinator.readiness.setDraining();
          agent.readiness.setDraining();
        },
      };
    }),
};
