/** `brixlet agent`: the per-node DaemonSet process. */
import { createAccelComponent } from '../../agent/accel-component.js';
import { createFaultComponent } from '../../agent/fault-component.js';
import { createKvComponent } from '../../agent/kv-component.js';
import { agentNodeName, agentReportCredentials, startAgent } from '../../agent/main.js';
import { type Command, CONFIG_OPTION, JSON_OPTION } from '../types.js';
import { KV_ROLE } from './kv.js';
import { serve } from '../serve.js';

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the per-node agent (the DaemonSet process)',
  usage: 'brixlet agent [--agent.port N] [--agent.node-name NAME] [flags]',
  description: [
    'Serves this node\'s agent API on --agent.port (default 9464): /healthz, /readyz, /metrics,',
    '/v1/info, /v1/accelerators, /v1/kvcache and /openapi.json. On Kubernetes, set --agent.node-name (BRIXLET_AGENT_NODE_NAME)',
    'from the downward API so reports carry the node name rather than the pod\'s host name.',
    'With --faults.enabled --faults.token-file FILE it also serves the fault-injection API (/v1/faults,',
    'brixlet fault); without, those routes answer 403.',
    'It hosts the node\'s KV cache shard (--kv.*, on by default): slab files in --kv.dir (a tmpfs such',
    'as /dev/shm) and the lease socket --kv.socket engines connect to (docs/kv-protocol.md, brixlet kv);',
    '--no-kv.enabled turns it off.',
    'With --coordinator URL (the coordinator\'s control port) it reports this node there: host inventory,',
    'accelerator health and the KV shard summary, at start, on change (at most once a second) and every',
    '--agent.heartbeat (default 10s); the coordinator marks the node stale after a few missed heartbeats.',
    '--agent.coordinator-token-file FILE sends this node\'s token (brixlet token node NAME --secret-file',
    'SECRET derives it from the coordinator\'s --control.token-file; mode 0600); on Kubernetes,',
    '--agent.coordinator-auth kubernetes sends the pod\'s ServiceAccount token instead (re-read every',
    'report; the coordinator must be in kubernetes auth mode). A node may report only itself.',
    '--agent.advertise-url sets the URL the coordinator uses to reach this agent. A coordinator that is',
    'down is retried quietly; the agent keeps serving.',
  ].join('\n'),
  examples: [
    'brixlet agent',
    'BRIXLET_AGENT_NODE_NAME=gpu-node-1 brixlet agent --agent.port 9464',
    'brixlet agent --kv.capacity 64GiB --kv.dir /dev/shm/brixlet --kv.socket /run/brixlet/kv.sock',
    'brixlet agent --no-kv.enabled',
    'brixlet agent --coordinator http://brixlet-coordinator:8081 --agent.node-name gpu-node-1 --agent.coordinator-token-file /etc/brixlet/node-token',
    'brixlet agent --coordinator http://brixlet-coordinator:8081 --agent.coordinator-auth kubernetes',
  ],
  configSections: ['log', 'agent', 'accel', 'nvml', 'dcmi', 'faults', 'kv', 'shutdown'],
  options: [JSON_OPTION, CONFIG_OPTION],
  run: (ctx) =>
    serve(ctx, async (rt) => {
      // Before the accelerators: a bad token file stops the agent before any library is opened.
      const credentials = rt.config.agent.coordinator === '' ? undefined : await agentReportCredentials(rt.config);
      const faults = await createFaultComponent({ config: rt.config, log: rt.log });
      const accel = await createAccelComponent({ config: rt.config, log: rt.log, nodeName: agentNodeName(rt.config), decorate: faults.decorate });
      const kv = await createKvComponent(rt.config, rt.log);
      const agent = await startAgent(rt, [accel, faults, kv], credentials === undefined ? {} : { credentials });
      return {
        title: `agent for node ${agent.nodeName}, ${accel.summary()}${rt.config.agent.coordinator === '' ? '' : `, reporting to ${rt.config.agent.coordinator}`}`,
        urls: { agent: agent.url, ...(kv.socketPath !== undefined && { kvSocket: kv.socketPath }) },
        roles: { agent: '/v1/accelerators, /v1/kvcache, /v1/info, /metrics, /healthz, /readyz', kvSocket: KV_ROLE },
        beforeDrain: () => agent.readiness.setDraining(),
      };
    }),
};
