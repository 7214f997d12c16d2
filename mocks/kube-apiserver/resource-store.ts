/**
 * The fake API server's storage: objects per registered resource, one global resourceVersion
 * counter (like etcd's revision), and a bounded event history that watches replay from. Object
 * semantics follow the real server where clients can tell the difference: uid/creationTimestamp
 * set once, generation bumped on spec changes, status ignored on create and on main-resource
 * writes when the status subresource is on, optimistic concurrency on resourceVersion, finalizers.
 */
import { randomUUID } from 'node:crypto';
import { ApiStatusError } from './api-status.js';

export interface ScaleSubresource {
  /** Dotted path of the desired replicas, e.g. `.spec.replicas`. */
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string;
}

export interface ResourceDefinition {
  /** API group; '' or omitted for the core group (`/api/v1`). */
  readonly group?: string;
  readonly version: string;
  readonly kind: string;
  /** Lower-case plural used in URLs (`podchaos`, `rayclusters`). */
  readonly plural: string;
  readonly namespaced: boolean;
  readonly listKind?: string;
  /** Serve the `/status` subresource (and ignore status on create and main-resource writes). */
  readonly status?: boolean;
  readonly scale?: ScaleSubresource;
}

export interface KubeObjectMeta {
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
  [key: string]: unknown;
}

export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObjectMeta;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly resource: string;
  readonly revision: number;
  readonly object: StoredObject;
  /** The object before this change (MODIFIED only): selector transitions need it. */
  readonly previous?: StoredObject;
}

/** `plural` for the core group, `plural.group` otherwise (kubectl's resource naming). */
export const resourceId = (def: Pick<ResourceDefinition, 'plural' | 'group'>): string => (def.group ? `${def.plural}.${def.group}` : def.plural);

export const groupVersion = (def: ResourceDefinition): string => (def.group ? `${def.group}/${def.version}` : def.version);

const key = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // the API server's generateName alphabet

function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function specOf(obj: StoredObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

export class ResourceStore {
  private readonly defs = new Map<string, ResourceDefinition>();
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly validators = new Map<string, (obj: StoredObject) => void>();
  /** uids deleted with propagationPolicy Orphan: their dependents lose the reference instead. */
  private readonly orphaning = new Set<string>();
  private rev = 0;
  private compactedAt = 0;

  constructor(
    resources: readonly ResourceDefinition[],
    private readonly historyLimit = 1000,
    private readonly now: () => Date = () => new Date(),
  ) {
    for (const def of resources) this.register(def);
  }

  register(def: ResourceDefinition): void {
    this.defs.set(resourceId(def), def);
    if (!this.objects.has(resourceId(def))) this.objects.set(resourceId(def), new Map());
  }

  /** Forgets a resource and its objects without events (CRD removal deletes the objects first). */
  unregister(id: string): void {
    this.defs.delete(id);
    this.objects.delete(id);
  }

  /** A check run on every create and main-resource update of `id`; it throws an ApiStatusError to refuse. */
  setValidator(id: string, validate: (obj: StoredObject) => void): void {
    this.validators.set(id, validate);
  }

  definitions(): ResourceDefinition[] {
    return [...this.defs.values()];
  }

  definition(id: string): ResourceDefinition {
    const def = this.defs.get(id);
    if (!def) throw new Error(`fake API server: resource ${id} is not registered`);
    return def;
  }

  /** The current revision: what a list returns as its resourceVersion. */
  get revision(): number {
    return this.rev;
  }

  /** Revisions at or below this one are gone from the history: watching from them gets 410. */
  get oldestWatchable(): number {
    return this.compactedAt;
  }

  get(id: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const obj = this.bucket(id).get(key(namespace, name));
    return obj && structuredClone(obj);
  }

  /** The stored object's resourceVersion, without copying the object (undefined when absent). */
  resourceVersionOf(id: string, namespace: string | undefined, name: string): string | undefined {
    return this.bucket(id).get(key(namespace, name))?.metadata.resourceVersion;
  }

  /** Objects of a resource, in one namespace or (namespace undefined) all of them. */
  list(id: string, namespace?: string): StoredObject[] {
    const out: StoredObject[] = [];
    for (const obj of this.bucket(id).values()) {
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(structuredClone(obj));
    }
    return out;
  }

  /**
   * Creates an object the way POST does (generateName, uid, timestamps; status dropped when it is
   * a subresource). `check` sees the object about to be stored (API writes pass the CRD validation).
   */
  create(id: string, namespace: string | undefined, body: StoredObject, check?: (next: StoredObject, old: undefined) => void): StoredObject {
    const def = this.definition(id);
    const obj = structuredClone(body);
    obj.metadata = { ...(obj.metadata ?? {}) };
    const meta = obj.metadata;
    if (def.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw new ApiStatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace ?? meta.namespace ?? 'default';
    } else delete meta.namespace;
    if (!meta.name) {
      if (!meta.generateName) throw new ApiStatusError(422, 'Invalid', `${def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: def.plural, group: def.group ?? '' });
      do {
        meta.name = meta.generateName + Array.from({ length: 5 }, () => NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)]).join('');
      } while (this.bucket(id).has(key(meta.namespace, meta.name)));
    }
    if (this.bucket(id).has(key(meta.namespace, meta.name))) {
      throw new ApiStatusError(409, 'AlreadyExists', `${resourceId(def)} "${meta.name}" already exists`, { name: meta.name, group: def.group ?? '', kind: def.plural });
    }
    obj.apiVersion = groupVersion(def);
    obj.kind = def.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(this.now());
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.resourceVersion;
    if (def.status) delete obj.status;
    this.validators.get(id)?.(obj);
    check?.(obj, undefined);
    return this.commit(id, 'ADDED', obj);
  }

  /**
   * Replaces an object as PUT does. `part` 'main' keeps the stored status when status is a
   * subresource; 'status' takes only the status from `body`. A resourceVersion in the body must
   * match the stored one (409 otherwise); none means an unconditional update. `check` sees the
   * object about to be stored and the stored one (either part).
   */
  update(id: string, namespace: string | undefined, name: string, body: StoredObject, part: 'main' | 'status' = 'main', check?: (next: StoredObject, old: StoredObject) => void): StoredObject {
    const def = this.definition(id);
    const existing = this.bucket(id).get(key(namespace, name));
    if (!existing) throw this.notFound(def, name);
    const wanted = body.metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== existing.metadata.resourceVersion) throw this.conflict(def, name);
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw new ApiStatusError(400, 'BadRequest', `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    let next: StoredObject;
    if (part === 'status') {
      next = structuredClone(existing);
      if (body.status === undefined) delete next.status;
      else next.status = structuredClone(body.status);
    } else {
      next = structuredClone(body);
      next.metadata = { ...(next.metadata ?? {}) };
      if (def.status) {
        if (existing.status === undefined) delete next.status;
        else next.status = structuredClone(existing.status);
      }
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'generation', 'name', 'namespace'] as const) {
        if (existing.metadata[k] === undefined) delete next.metadata[k];
        else (next.metadata as Record<string, unknown>)[k] = existing.metadata[k];
      }
      next.apiVersion = groupVersion(def);
      next.kind = def.kind;
      if (specOf(next) !== specOf(existing)) next.metadata.generation = (existing.metadata.generation ?? 0) + 1;
      this.validators.get(id)?.(next);
    }
    check?.(next, structuredClone(existing));
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) return this.commit(id, 'DELETED', next, existing);
    return this.commit(id, 'MODIFIED', next, existing);
  }

  /**
   * Deletes as DELETE does: with finalizers left, only marks deletionTimestamp (`force` skips
   * them). Dependents (ownerReferences to this uid) are collected on a later tick, unless
   * `propagationPolicy` is `Orphan`, which strips the reference from them instead.
   */
  remove(id: string, namespace: string | undefined, name: string, opts: { force?: boolean; propagationPolicy?: string } = {}): StoredObject {
    const def = this.definition(id);
    const existing = this.bucket(id).get(key(namespace, name));
    if (!existing) throw this.notFound(def, name);
    if (opts.propagationPolicy === 'Orphan' && existing.metadata.uid) this.orphaning.add(existing.metadata.uid);
    if (existing.metadata.finalizers?.length && !opts.force) {
      if (existing.metadata.deletionTimestamp) return structuredClone(existing);
      const next = structuredClone(existing);
      next.metadata.deletionTimestamp = timestamp(this.now());
      return this.commit(id, 'MODIFIED', next, existing);
    }
    return this.commit(id, 'DELETED', structuredClone(existing), existing);
  }

  /** Forgets the event history: a watch from any earlier resourceVersion now gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedAt = this.rev;
  }

  /** Events after `revision` still in the history, oldest first. */
  eventsSince(revision: number): StoreEvent[] {
    return this.history.filter((e) => e.revision > revision);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notFound(def: ResourceDefinition, name: string): ApiStatusError {
    return new ApiStatusError(404, 'NotFound', `${resourceId(def)} "${name}" not found`, { name, group: def.group ?? '', kind: def.plural });
  }

  private conflict(def: ResourceDefinition, name: string): ApiStatusError {
    return new ApiStatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${resourceId(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: def.group ?? '', kind: def.plural },
    );
  }

  private bucket(id: string): Map<string, StoredObject> {
    const bucket = this.objects.get(id);
    if (!bucket) throw new Error(`fake API server: resource ${id} is not registered`);
    return bucket;
  }

  private commit(id: string, type: WatchEventType, obj: StoredObject, previous?: StoredObject): StoredObject {
    this.rev += 1;
    obj.metadata.resourceVersion = String(this.rev);
    const k = key(obj.metadata.namespace, obj.metadata.name ?? '');
    if (type === 'DELETED') this.bucket(id).delete(k);
    else this.bucket(id).set(k, obj);
    const event: StoreEvent = { type, resource: id, revision: this.rev, object: structuredClone(obj), ...(type === 'MODIFIED' && previous ? { previous: structuredClone(previous) } : {}) };
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedAt = dropped[dropped.length - 1]?.revision ?? this.compactedAt;
    }
    for (const listener of this.listeners) listener(event);
    const uid = obj.metadata.uid;
    if (type === 'DELETED' && uid) setImmediate(() => this.collectDependents(uid));
    return structuredClone(obj);
  }

  private uidExists(uid: string): boolean {
    for (const bucket of this.objects.values()) for (const obj of bucket.values()) if (obj.metadata.uid === uid) return true;
    return false;
  }

  /**
   * The garbage collector, simply: once an owner is gone, a dependent none of whose other owners
   * exists is deleted (in the background, so its own dependents follow on later ticks); one with a
   * live owner left, or whose owner was deleted with Orphan, only loses the reference.
   */
  private collectDependents(ownerUid: string): void {
    const orphan = this.orphaning.delete(ownerUid);
    if (this.uidExists(ownerUid)) return;
    for (const [id, bucket] of [...this.objects]) {
      for (const obj of [...bucket.values()]) {
        const refs = (obj.metadata.ownerReferences ?? []) as { uid?: string }[];
        if (!refs.some((r) => r.uid === ownerUid)) continue;
        const others = refs.filter((r) => r.uid !== ownerUid);
        const name = obj.metadata.name ?? '';
        try {
          if (orphan || others.some((r) => r.uid !== undefined && this.uidExists(r.uid))) {
            const next = structuredClone(obj);
            if (others.length) next.metadata.ownerReferences = others;
            else delete next.metadata.ownerReferences;
            this.commit(id, 'MODIFIED', next, obj);
          } else this.remove(id, obj.metadata.namespace, name);
        } catch {
          // removed meanwhile
        }
      }
    }
  }
}
