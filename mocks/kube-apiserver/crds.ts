/**
 * CustomResourceDefinitions in the fake server: `customresourcedefinitions.apiextensions.k8s.io`
 * is always served, and a CRD stored there (through the API or `installCrd`) makes its kind
 * servable, as the real server's apiextensions controller does: the CRD's storage version is
 * registered with its status/scale subresources, discovery lists it, and it is marked
 * `NamesAccepted` and `Established`. Deleting the CRD deletes its objects and unregisters it.
 */
import { ApiStatusError } from './api-status.js';
import { resourceId, type ResourceDefinition, type ResourceStore, type StoredObject } from './resource-store.js';

export const CRD_DEFINITION: ResourceDefinition = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  namespaced: false,
  status: true,
};

export const CRD_ID = resourceId(CRD_DEFINITION);

interface CrdVersion {
  name?: string;
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: unknown; scale?: { specReplicasPath?: string; statusReplicasPath?: string; labelSelectorPath?: string } };
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { kind?: string; plural?: string; listKind?: string };
  versions?: CrdVersion[];
}

const invalid = (name: string, why: string): ApiStatusError =>
  new ApiStatusError(422, 'Invalid', `CustomResourceDefinition.apiextensions.k8s.io "${name}" is invalid: ${why}`, { name, group: CRD_DEFINITION.group, kind: CRD_DEFINITION.plural });

/**
 * The resource a CRD declares: its storage version (the fake keeps one version per resource;
 * the other served versions are not routed).
 */
export function definitionFromCrd(crd: StoredObject): ResourceDefinition {
  const name = crd.metadata.name ?? '';
  const spec = (crd.spec ?? {}) as CrdSpec;
  const { group, names } = spec;
  if (!group || !names?.plural || !names.kind) throw invalid(name, 'spec.group, spec.names.plural and spec.names.kind are required');
  if (name !== `${names.plural}.${group}`) throw invalid(name, `metadata.name: must be spec.names.plural+"."+spec.group (${names.plural}.${group})`);
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') throw invalid(name, 'spec.scope: must be Namespaced or Cluster');
  const versions = spec.versions ?? [];
  const storage = versions.filter((v) => v.storage === true);
  const version = storage[0];
  if (storage.length !== 1 || !version?.name) throw invalid(name, 'spec.versions: exactly one version must be the storage version');
  const scale = version.subresources?.scale;
  return {
    group,
    version: version.name,
    kind: names.kind,
    plural: names.plural,
    namespaced: spec.scope === 'Namespaced',
    ...(names.listKind ? { listKind: names.listKind } : {}),
    ...(version.subresources?.status !== undefined ? { status: true } : {}),
    ...(scale?.specReplicasPath && scale.statusReplicasPath
      ? { scale: { specReplicasPath: scale.specReplicasPath, statusReplicasPath: scale.statusReplicasPath, ...(scale.labelSelectorPath ? { labelSelectorPath: scale.labelSelectorPath } : {}) } }
      : {}),
  };
}

function establishedStatus(crd: StoredObject, now: Date): Record<string, unknown> {
  const spec = (crd.spec ?? {}) as CrdSpec;
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const condition = (type: string, reason: string, message: string): Record<string, unknown> => ({ type, status: 'True', lastTransitionTime: at, reason, message });
  return {
    conditions: [condition('NamesAccepted', 'NoConflicts', 'no conflicts found'), condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
    acceptedNames: spec.names ?? {},
    storedVersions: (spec.versions ?? []).filter((v) => v.storage).map((v) => v.name),
  };
}

const isEstablished = (crd: StoredObject): boolean =>
  ((crd.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');

/**
 * Keeps registered resources in step with the stored CRDs. Changes the store makes in answer run
 * on a later tick, so watchers see the CRD's own event first, as with a real controller.
 */
export function attachCrdController(store: ResourceStore): () => void {
  return store.subscribe((event) => {
    if (event.resource !== CRD_ID) return;
    const crd = event.object;
    if (event.type === 'DELETED') {
      let def: ResourceDefinition;
      try {
        def = definitionFromCrd(crd);
      } catch {
        return;
      }
      setImmediate(() => dropResource(store, def));
      return;
    }
    // A CRD written through the API was checked on the way in; one that no longer parses is ignored.
    let def: ResourceDefinition;
    try {
      def = definitionFromCrd(crd);
    } catch {
      return;
    }
    store.register(def);
    if (!isEstablished(crd)) {
      setImmediate(() => {
        const current = store.get(CRD_ID, undefined, crd.metadata.name ?? '');
        if (current && !isEstablished(current)) store.update(CRD_ID, undefined, current.metadata.name ?? '', { ...current, status: establishedStatus(current, new Date()) }, 'status');
      });
    }
  });
}

/** Deletes every object of a resource, then unregisters it (its URLs answer 404 afterwards). */
export function dropResource(store: ResourceStore, def: ResourceDefinition): void {
  const id = resourceId(def);
  if (!store.definitions().some((d) => resourceId(d) === id)) return;
  for (const obj of store.list(id)) {
    try {
      store.remove(id, obj.metadata.namespace, obj.metadata.name ?? '', { force: true });
    } catch {
      // already gone
    }
  }
  store.unregister(id);
}

/**
 * Stores a CRD (created, or replaced when one of that name exists) already Established, and
 * registers its resource at once. Returns the stored CRD.
 */
export function installCrd(store: ResourceStore, crd: StoredObject): StoredObject {
  const body = structuredClone(crd);
  definitionFromCrd(body);
  const name = body.metadata.name ?? '';
  const existing = store.get(CRD_ID, undefined, name);
  const saved = existing
    ? store.update(CRD_ID, undefined, name, { ...body, metadata: { ...body.metadata, resourceVersion: undefined } })
    : store.create(CRD_ID, undefined, body);
  return store.update(CRD_ID, undefined, name, { ...saved, status: establishedStatus(saved, new Date()) }, 'status');
}

/** Deletes a CRD, its objects and its resource at once (not on a later tick). */
export function uninstallCrd(store: ResourceStore, name: string): boolean {
  const crd = store.get(CRD_ID, undefined, name);
  if (!crd) return false;
  const def = definitionFromCrd(crd);
  dropResource(store, def);
  store.remove(CRD_ID, undefined, name, { force: true });
  return true;
}

/** Validation the API applies to a CRD before storing it (the rest of apiextensions' checks are not modelled). */
export function validateCrdWrite(obj: StoredObject): void {
  definitionFromCrd(obj);
}
