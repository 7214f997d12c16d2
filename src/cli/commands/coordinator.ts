/** `brixlet coordinator`: the central routing gateway and control API. */
import { ROUTING_POLICIES } from '../../common/config/schema.js';
import { startCoordinator } from '../../coordinator/main.js';
import { type Command, CONFIG_OPTION, JSON_OPTION } from '../types.js';
import { serve } from '../serve.js';

/** Help lines shared with `brixlet up`: how the gateway finds engines and routes to them. */
export const ROUTING_HELP = [
  'Engines: --gateway.engines URL[#gpu-type],… (static vLLM OpenAI servers), and/or',
  '--gateway.engine-selector app=vllm to discover Running+Ready pods through the Kubernetes API',
  '(--kube.namespace; port: the container port named http, else --gateway.engine-port; model from',
  'the model.aibrix.ai/name label, GPU type from brixlet.io/gpu-type; Ray multi-node replicas: heads',
  'only). Each engine\'s /health, /v1/models and /metrics are read every --gateway.probe-interval;',
  'engines failing /health, on stale nodes or on unhealthy GPUs are left out (GET /v1/engines on',
  'the control port says why).',
  '',
  'Routing: --gateway.policy (default cost) or, per request, the routing-strategy header:',
  `${ROUTING_POLICIES.slice(0, 5).join(', ')},`,
  `${ROUTING_POLICIES.slice(5).join(', ')}.`,
  'Responses carry x-brixlet-target (engine), x-brixlet-policy and target-pod (engine host:port);',
  'x-brixlet-prefill-weight / x-brixlet-decode-weight tune the cost policy per request. Prompts',
  'count characters as tokens unless --gateway.tokenizer engine asks an engine\'s /tokenize.',
  'A request is retried on another engine (--gateway.retries) only before any byte reached the',
  'client; an engine failing mid-stream ends the stream with an SSE error event. Metrics',
  'brixlet_router_* are on the control port\'s /metrics; --log.level debug logs every decision.',
];

export const coordinatorCommand: Command = {
  name: 'coordinator',
  summary: 'Run the coordinator: OpenAI-compatible gateway and control API',
  usage: 'brixlet coordinator [--gateway.port N] [--control.port N] [--gateway.engines URL,…] [flags]',
  description: [
    'Serves the OpenAI-compatible gateway on --gateway.port (default 8080: /v1/chat/completions,',
    '/v1/completions, /v1/models) and the control API (/healthz, /readyz, /metrics, /v1/nodes,',
    '/v1/engines, /openapi.json) on --control.port (default 8081). Agents report to the control port;',
    '--node-conditions taints nodes with unhealthy GPUs.',
    '',
    'Control writes need credentials. --control.token-file FILE holds the cluster secret (brixlet token',
    'secret): the admin credential (DELETE /v1/nodes/NAME) and the key of the node tokens each agent',
    'reports with (brixlet token node NAME; a node token writes only its own node\'s report). On',
    'Kubernetes, --control.auth kubernetes accepts the agents\' ServiceAccount tokens instead (TokenReview;',
    'the node comes from the token\'s pod; --control.service-accounts; RBAC: create tokenreviews, get pods).',
    'A control listener beyond loopback (--control.host, default 0.0.0.0) without either does not start',
    '(exit 2) unless --control.insecure, which runs it open and logs a warning. Reports claiming a heartbeat',
    'above --control.max-heartbeat (1m) are judged by it; a replayed report (same bootId, old seq) gets 409.',
    '',
    ...ROUTING_HELP,
    '',
    'GPU optimizer: --optimizer.profiles [MODEL=]FILE,… (AIBrix profile JSON, one per GPU type) or',
    '--optimizer.enabled on plans the cheapest GPU mix per model from the gateway\'s load and serves it on the',
    'control port: GET /metrics/NS/DEPLOYMENT (AIBrix\'s vllm:deployment_replicas; --optimizer.aibrix-compat',
    'for 1/100 units), /v1/optimizer/deployments/NS/DEPLOYMENT (KEDA metrics-api JSON; brixlet optimize keda',
    'prints the ScaledObject), /v1/optimizer/plan, /v1/optimizer/explain, GET|PUT /v1/optimizer/profiles.',
    'The gateway follows the plan\'s split: each request shape goes to the GPU types in the plan\'s shares',
    '(x-brixlet-policy: cost; split=l20), the policy picks within the type; --no-optimizer.route-split turns it off.',
  ].join('\n'),
  examples: [
    'brixlet coordinator --control.token-file /etc/brixlet/cluster-secret --gateway.engines http://10.0.0.5:8000#h100,http://10.0.0.6:8000#a10',
    'brixlet coordinator --control.auth kubernetes --gateway.engine-selector app=vllm --kube.namespace llm',
    'brixlet coordinator --control.host 127.0.0.1 --gateway.policy prefix-cache --log.level debug',
    'curl -H "routing-strategy: least-request" localhost:8080/v1/chat/completions -d \'{"model":"m","messages":[{"role":"user","content":"hi"}]}\'',
  ],
  configSections: ['log', 'gateway', 'control', 'optimizer', 'orchestrator', 'kube', 'shutdown'],
  options: [JSON_OPTION, CONFIG_OPTION],
  run: (ctx) =>
    serve(ctx, async (rt) => {
      const c = await startCoordinator(rt);
      return {
        title: 'coordinator',
        urls: { gateway: c.gatewayUrl, control: c.controlUrl },
        roles: {
          gateway: `OpenAI-compatible API (/v1/chat/completions, /v1/models), ${c.engines.size} engine(s) configured`,
          control: 'registry, KV ring, engines and metrics (/v1/nodes, /v1/ring, /v1/engines, /metrics)',
        },
        beforeDrain: () => c.readiness.setDraining(),
      };
    }),
};
