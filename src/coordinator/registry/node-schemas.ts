/**
 * Shapes of the registry's HTTP API (/v1/nodes on the control port): a node as the coordinator
 * sees it (the agent's last report plus what the coordinator derived), route parameters and replies.
 */
import { type Static, Type } from '@sinclair/typebox';
import { NodeReport } from '../../common/node-report.js';

export const NodeState = Type.Union([Type.Literal('ready'), Type.Literal('stale')], {
  description: 'stale = no report for control.staleAfter heartbeats: the node\'s engines leave routing.',
});
export type NodeState = Static<typeof NodeState>;

export const NodeView = Type.Composite([
  NodeReport,
  Type.Object({
    firstSeen: Type.String({ format: 'date-time' }),
    lastSeen: Type.String({ format: 'date-time' }),
    state: NodeState,
    /** When the node went stale (lastSeen + staleAfter heartbeats); absent while ready. */
    staleSince: Type.Optional(Type.String({ format: 'date-time' })),
    unhealthyGpus: Type.Integer({ minimum: 0, description: 'Accelerators reported unhealthy: the node\'s engines (or the engines on those GPUs) leave routing.' }),
  }),
]);
export type NodeView = Static<typeof NodeView>;

export const NodeList = Type.Object({ nodes: Type.Array(NodeView) });

export const NodeParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) });

export const ReportReply = Type.Object({
  node: NodeView,
  heartbeatMs: Type.Integer({
    description: 'The heartbeat the coordinator judges this node by: the reported one capped at --control.max-heartbeat, else its default. An agent reporting less often than this goes stale.',
  }),
  ringVersion: Type.Optional(Type.Integer({ minimum: 0, description: 'The KV pool membership version (GET /v1/ring): an agent holding another one fetches the ring.' })),
});
