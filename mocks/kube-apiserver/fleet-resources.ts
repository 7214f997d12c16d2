/**
 * The orchestrator's resources on the fake API server, shared by the reconciler tests
 * (test/coordinator/orchestrator/fleet-world.ts) and bench:orchestrator (bench/orchestrator/cluster.ts):
 * the ModelFleet kind with the status and scale subresources of the chart's CRD, the store ids of
 * fleets and backend objects, and the backend CRDs — the test data's (KubeRay's RayCluster,
 * LeaderWorkerSet; large, so parsed once per process) when present, else minimal ones that accept
 * any object. Pods differ between the two (the bench writes Running pods in one create), so each
 * declares its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FLEET_REF, type FleetBackend, LWS_REF, RAYCLUSTER_REF } from '../../src/coordinator/orchestrator/types.js';
import type { ResourceDefinition, StoredObject } from './resource-store.js';

export const FLEET_DEF: ResourceDefinition = {
  group: FLEET_REF.group,
  version: FLEET_REF.version,
  kind: 'ModelFleet',
  plural: FLEET_REF.plural,
  namespaced: true,
  status: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
};

/** Store ids (`plural.group`) of fleets and of each backend's objects. */
export const FLEETS = `${FLEET_REF.plural}.${FLEET_REF.group}`;
export const RAYS = `${RAYCLUSTER_REF.plural}.${RAYCLUSTER_REF.group}`;
export const LWSS = `${LWS_REF.plural}.${LWS_REF.group}`;

/** Where each backend's CRD lies below a test data folder (BRIXLET_TESTDATA). */
export function backendCrdFiles(testdata: string): Readonly<Record<FleetBackend, string>> {
  return { ray: join(testdata, 'crds', 'ray.io_rayclusters.yaml'), lws: join(testdata, 'crds', 'leaderworkerset.x-k8s.io_leaderworkersets.yaml') };
}

/** Whether the test data folder has both backend CRDs. */
export function haveBackendCrds(testdata: string): boolean {
  const files = backendCrdFiles(testdata);
  return existsSync(files.ray) && existsSync(files.lws);
}

/**
 * A CRD for `backend` serving `versions` (default: v1, the version brixlet writes; the last one is
 * stored) under `schema` (default: any object).
 */
export function minimalBackendCrd(backend: FleetBackend, versions: readonly string[] = ['v1'], schema: Record<string, unknown> = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }): StoredObject {
  const [group, kind, plural] = backend === 'ray' ? [RAYCLUSTER_REF.group, 'RayCluster', RAYCLUSTER_REF.plural] : [LWS_REF.group, 'LeaderWorkerSet', LWS_REF.plural];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, listKind: `${kind}List`, singular: kind.toLowerCase() },
      versions: versions.map((name, i) => ({
        name,
        served: true,
        storage: i === versions.length - 1,
        schema: { openAPIV3Schema: schema },
        // LeaderWorkerSet has a scale subresource; RayCluster has none.
        subresources: { status: {}, ...(backend === 'lws' && { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } }) },
      })),
    },
  };
}

const parsed = new Map<string, StoredObject>();

/** The test data's CRD for `backend` (a copy; the file is parsed once per process). Throws when absent. */
export function testdataBackendCrd(backend: FleetBackend, testdata: string): StoredObject {
  const file = backendCrdFiles(testdata)[backend];
  let crd = parsed.get(file);
  if (crd === undefined) {
    crd = parse(readFileSync(file, 'utf8')) as StoredObject;
    parsed.set(file, crd);
  }
  return structuredClone(crd);
}
