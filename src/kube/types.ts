/** Shapes shared by the Kubernetes helpers: what a resource is, and the parts of objects we read. */

/** A resource type, the way URLs name it. */
export interface ResourceRef {
  /** API group; '' for the core group (`/api/v1`). */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural (`rayclusters`, `podchaos`). */
  readonly plural: string;
  readonly namespaced: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface KubeList<T extends KubeObject> {
  readonly items: T[];
  /** The list's resourceVersion: where a watch continues from. */
  readonly resourceVersion: string;
}

/** `name` for cluster-scoped objects, `namespace/name` otherwise (the cache key). */
export function objectKey(obj: KubeObject): string {
  const meta = obj.metadata ?? {};
  return meta.namespace ? `${meta.namespace}/${meta.name ?? ''}` : (meta.name ?? '');
}

/** `/apis/{group}/{version}[/namespaces/{ns}]/{plural}` (or `/api/v1/…` for the core group). */
export function collectionPath(ref: ResourceRef, namespace?: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  const ns = ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${ref.plural}`;
}

/** `plural.group` (or `plural` for core), as kubectl and error messages name resources. */
export function resourceName(ref: ResourceRef): string {
  return ref.group ? `${ref.plural}.${ref.group}` : ref.plural;
}
