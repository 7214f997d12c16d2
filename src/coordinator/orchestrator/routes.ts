/**
 * GET /v1/orchestrator/fleets on the control port: every ModelFleet with its status (replicas,
 * revision, conditions, each replica and why it is not ready), who leads the orchestrator, and
 * whether each backend's CRD is installed. The leader answers from what it last reconciled; a
 * follower reads the fleets (and the status the leader wrote) from the API server.
 */
import { Type } from '@sinclair/typebox';
import type { BrixletServer } from '../../common/http/create-server.js';
import type { FleetView } from './reconciler.js';
import type { ModelFleet } from './types.js';

export interface OrchestratorView {
  readonly namespace: string;
  /** This coordinator's identity in the Lease. */
  readonly identity: string;
  /** The Lease holder as last seen (undefined: unknown or leader election off). */
  readonly leader?: string;
  readonly isLeader: boolean;
  readonly leaderElection: boolean;
  readonly backends: Readonly<Record<'ray' | 'lws', { readonly crd: string; readonly installed: boolean }>>;
  readonly fleets: FleetView[];
}

export interface OrchestratorRouteDeps {
  view(): Promise<OrchestratorView>;
}

const Condition = Type.Object({ type: Type.String(), status: Type.String(), reason: Type.String(), message: Type.String(), lastTransitionTime: Type.String() });
const ReplicaStatus = Type.Object({
  name: Type.String(),
  revision: Type.String(),
  ready: Type.Boolean(),
  reasons: Type.Optional(Type.Array(Type.String())),
  restarts: Type.Number(),
  nodes: Type.Optional(Type.Array(Type.String())),
});
const Backend = Type.Object({ crd: Type.String(), installed: Type.Boolean() });

export const OrchestratorFleetsView = Type.Object({
  namespace: Type.String(),
  identity: Type.String({ description: 'This coordinator\'s identity in the Lease brixlet-orchestrator.' }),
  leader: Type.Optional(Type.String({ description: 'The Lease holder: the coordinator that reconciles.' })),
  isLeader: Type.Boolean(),
  leaderElection: Type.Boolean(),
  backends: Type.Object({ ray: Backend, lws: Backend }),
  fleets: Type.Array(
    Type.Object({
      namespace: Type.String(),
      name: Type.String(),
      backend: Type.String(),
      generation: Type.Optional(Type.Number()),
      reconciledAt: Type.Optional(Type.String()),
      status: Type.Object({
        observedGeneration: Type.Optional(Type.Number()),
        replicas: Type.Optional(Type.Number()),
        readyReplicas: Type.Optional(Type.Number()),
        updatedReplicas: Type.Optional(Type.Number()),
        availableReplicas: Type.Optional(Type.Number()),
        currentRevision: Type.Optional(Type.String()),
        selector: Type.Optional(Type.String()),
        conditions: Type.Optional(Type.Array(Condition)),
        replicaStatuses: Type.Optional(Type.Array(ReplicaStatus)),
      }),
    }),
  ),
});

/** A ModelFleet read from the API server, as the view shows it (the status the leader last wrote). */
export function fleetViewOf(f: ModelFleet, namespace: string): FleetView {
  return {
    namespace: f.metadata?.namespace ?? namespace,
    name: f.metadata?.name ?? '',
    backend: f.spec?.backend === 'lws' ? 'lws' : 'ray',
    ...(f.metadata?.generation !== undefined && { generation: f.metadata.generation }),
    status: f.status ?? {},
  };
}

export function registerOrchestratorRoutes(app: BrixletServer, deps: OrchestratorRouteDeps): void {
  app.get(
    '/v1/orchestrator/fleets',
    { schema: { summary: 'ModelFleets with their status and replica reasons, the orchestrator leader and backend CRD presence.', response: { 200: OrchestratorFleetsView } } },
    async () => deps.view(),
  );
}
