/**
 * Everything a fleet renders to, offline: `replicas` RayClusters (`ray`) or one LeaderWorkerSet
 * (`lws`). The reconciler renders replica by replica itself; this is what `brixlet fleet render`
 * prints and what the tests validate against the backends' CRDs.
 */
import type { KubeObject } from '../../kube/types.js';
import { type FleetContext, validateFleet } from './fleet-spec.js';
import { renderLeaderWorkerSet } from './render-lws.js';
import { renderRayCluster } from './render-ray.js';
import { renderSuffix, replicaName, templateRevision } from './revision.js';

export interface RenderFleetOptions extends FleetContext {
  /** Suffixes of the RayClusters' names, by replica index (default: derived from fleet and revision, stable). */
  readonly replicaSuffixes?: readonly string[];
  readonly avoidNodes?: readonly string[];
}

/** Validates (BRX_ERR_FLEET_INVALID) and renders a ModelFleet object. */
export function renderFleet(obj: unknown, opts: RenderFleetOptions = {}): KubeObject[] {
  const fleet = validateFleet(obj, opts);
  const { spec } = fleet;
  const revision = templateRevision(spec);
  const identity = fleet.metadata;
  if (spec.backend === 'lws') return [renderLeaderWorkerSet(identity, spec, { revision, ...(opts.avoidNodes && { avoidNodes: opts.avoidNodes }) }) as KubeObject];
  return Array.from({ length: spec.replicas }, (_, i) => {
    const suffix = opts.replicaSuffixes?.[i] ?? renderSuffix(identity.name, revision, i);
    const name = replicaName(identity.name, revision, suffix);
    return renderRayCluster(identity, spec, { revision, replicaName: name, ...(opts.avoidNodes && { avoidNodes: opts.avoidNodes }) }) as KubeObject;
  });
}
