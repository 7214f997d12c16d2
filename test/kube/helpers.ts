// Shared by the src/kube tests: a fake API server with a namespaced custom resource (status
// subresource) and a cluster-scoped core resource, and a client configured for it.
import { startFakeApiServer, type FakeApiServer, type ResourceDefinition } from '../../mocks/kube-apiserver/index.js';
import type { ResourceRef } from '../../src/kube/types.js';

export const RAY_DEF: ResourceDefinition = { group: 'ray.io', version: 'v1', kind: 'RayCluster', plural: 'rayclusters', namespaced: true, status: true };
export const CLUSTER_DEF: ResourceDefinition = { group: 'brixlet.io', version: 'v1alpha1', kind: 'Fleet', plural: 'fleets', namespaced: false, status: true };
export const NODE_DEF: ResourceDefinition = { version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };

export const RAY: ResourceRef = { group: 'ray.io', version: 'v1', plural: 'rayclusters', namespaced: true };
export const FLEET: ResourceRef = { group: 'brixlet.io', version: 'v1alpha1', plural: 'fleets', namespaced: false };
export const NODES: ResourceRef = { group: '', version: 'v1', plural: 'nodes', namespaced: false };

export const RAY_ID = 'rayclusters.ray.io';

export function startServer(opts: Parameters<typeof startFakeApiServer>[0] = {}): Promise<FakeApiServer> {
  return startFakeApiServer({ resources: [RAY_DEF, CLUSTER_DEF, NODE_DEF], namespace: 'serving', ...opts });
}
