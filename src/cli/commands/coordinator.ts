/** `brixlet coordinator`: the central routing gateway and control API. */
import { startCoordinator } from '../../coordinator/main.js';
import { type Command, CONFIG_OPTION, JSON_OPTION } from '../types.js';
import { serve } from '../serve.js';

export const coordinatorCommand: Command = {
  name: 'coordinator',
  summary: 'Run the coordinator: OpenAI-compatible gateway and control API',
  usage: 'brixlet coordinator [--gateway.port N] [--control.port N] [flags]',
  description: [
    'Serves the OpenAI-compatible gateway on --gateway.port (default 8080) and the control API',
    '(/healthz, /readyz, /metrics, /v1/nodes, /openapi.json) on --control.port (default 8081).',
  ].join('\n'),
  examples: ['brixlet coordinator', 'brixlet coordinator --gateway.port 80 --log.level debug'],
  configSections: ['log', 'gateway', 'control', 'shutdown'],
  options: [JSON_OPTION, CONFIG_OPTION],
  run: (ctx) =>
    serve(ctx, async (rt) => {
      const c = await startCoordinator(rt);
      return {
        title: 'coordinator',
        urls: { gateway: c.gatewayUrl, control: c.controlUrl },
        roles: { gateway: 'OpenAI-compatible API (/v1/models)', control: 'registry and metrics (/v1/nodes, /metrics)' },
        beforeDrain: () => c.readiness.setDraining(),
      };
    }),
};
