/** The `/scale` subresource: an autoscaling/v1 Scale view over the replica paths a resource declares. */
import { ApiStatusError } from './api-status.js';
import type { ScaleSubresource, StoredObject } from './resource-store.js';

function segments(path: string): string[] {
  return path.replace(/^\./, '').split('.');
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of segments(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = segments(path);
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    cur = (next !== null && typeof next === 'object' ? next : (cur[k] = {})) as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] ?? ''] = value;
}

export function toScale(obj: StoredObject, scale: ScaleSubresource): Record<string, unknown> {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  const selector = scale.labelSelectorPath ? getPath(obj, scale.labelSelectorPath) : undefined;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: getPath(obj, scale.specReplicasPath) ?? 0 },
    status: { replicas: getPath(obj, scale.statusReplicasPath) ?? 0, ...(typeof selector === 'string' ? { selector } : {}) },
  };
}

/** The object to store for a Scale write: the desired replicas copied into the spec path. */
export function parseScale(existing: StoredObject, scaleBody: StoredObject, scale: ScaleSubresource): StoredObject {
  const replicas = (scaleBody.spec as { replicas?: unknown } | undefined)?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw new ApiStatusError(422, 'Invalid', `Scale.autoscaling "${existing.metadata.name ?? ''}" is invalid: spec.replicas: Invalid value: must be a non-negative integer`);
  }
  const next = structuredClone(existing);
  setPath(next, scale.specReplicasPath, replicas);
  const rv = scaleBody.metadata?.resourceVersion;
  if (rv !== undefined) next.metadata.resourceVersion = rv;
  return next;
}
