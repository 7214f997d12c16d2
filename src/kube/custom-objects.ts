/**
 * Typed access to one custom resource through the client's CustomObjectsApi, with the patch
 * content types set explicitly: the client otherwise sends `application/json-patch+json`, and
 * custom resources do not accept strategic merge patches.
 */
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { KubeError, toKubeError } from './kube-error.js';
import { resourceName, type KubeList, type KubeObject, type ResourceRef } from './types.js';

export interface ListOptions {
  readonly namespace?: string;
  /** List every namespace of a namespaced resource. */
  readonly allNamespaces?: boolean;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface CustomObjects<T extends KubeObject> {
  readonly ref: ResourceRef;
  get(name: string, namespace?: string): Promise<T>;
  /** Like get, but undefined instead of BRX_ERR_KUBE_NOT_FOUND. */
  find(name: string, namespace?: string): Promise<T | undefined>;
  list(opts?: ListOptions): Promise<KubeList<T>>;
  create(body: T, namespace?: string): Promise<T>;
  /** PUT; a resourceVersion in `body` makes it conditional (BRX_ERR_KUBE_CONFLICT when stale). */
  replace(body: T & { metadata: { name: string } }, namespace?: string): Promise<T>;
  /** RFC 7386 merge patch: `null` deletes a key; lists are replaced whole. */
  mergePatch(name: string, patch: unknown, namespace?: string): Promise<T>;
  /** RFC 6902 JSON patch operations. */
  jsonPatch(name: string, ops: readonly JsonPatchOp[], namespace?: string): Promise<T>;
  /** Merge patch of the status subresource: only `status` changes. */
  patchStatus(name: string, status: unknown, namespace?: string): Promise<T>;
  /** Returns false when the object did not exist and `ignoreNotFound` is set. */
  delete(name: string, opts?: { namespace?: string; ignoreNotFound?: boolean }): Promise<boolean>;
}

export interface JsonPatchOp {
  readonly op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

const mergePatchHeader = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatchHeader = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export function createCustomObjects<T extends KubeObject>(api: CustomObjectsApi, ref: ResourceRef, defaultNamespace: string): CustomObjects<T> {
  if (!ref.group) {
    throw new KubeError('BRX_ERR_KUBE_CONFIG', `custom objects need an API group; ${ref.plural} is in the core group`);
  }
  const res = resourceName(ref);
  const base = { group: ref.group, version: ref.version, plural: ref.plural };
  const ns = (namespace: string | undefined): string => namespace ?? defaultNamespace;
  const label = (verb: string, name: string, namespace?: string): string => `${verb} ${res} ${ref.namespaced ? `${ns(namespace)}/` : ''}${name}`;

  async function call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw toKubeError(err, what);
    }
  }

  const patch = (name: string, body: unknown, namespace: string | undefined, header: typeof mergePatchHeader, verb: string): Promise<T> =>
    call(label(verb, name, namespace), () =>
      ref.namespaced
        ? api.patchNamespacedCustomObject({ ...base, namespace: ns(namespace), name, body }, header)
        : api.patchClusterCustomObject({ ...base, name, body }, header),
    ) as Promise<T>;

  const self: CustomObjects<T> = {
    ref,
    get: (name, namespace) =>
      call(label('get', name, namespace), () =>
        ref.namespaced ? api.getNamespacedCustomObject({ ...base, namespace: ns(namespace), name }) : api.getClusterCustomObject({ ...base, name }),
      ) as Promise<T>,
    async find(name, namespace) {
      try {
        return await self.get(name, namespace);
      } catch (err) {
        if (err instanceof KubeError && err.code === 'BRX_ERR_KUBE_NOT_FOUND') return undefined;
        throw err;
      }
    },
    async list(opts = {}) {
      const where = ref.namespaced && !opts.allNamespaces ? ns(opts.namespace) : 'all namespaces';
      const selectors = { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector };
      const out = (await call(`list ${res} in ${where}`, () =>
        ref.namespaced && !opts.allNamespaces
          ? api.listNamespacedCustomObject({ ...base, namespace: ns(opts.namespace), ...selectors })
          : api.listClusterCustomObject({ ...base, ...selectors }),
      )) as { items?: T[]; metadata?: { resourceVersion?: string } };
      return { items: out.items ?? [], resourceVersion: out.metadata?.resourceVersion ?? '' };
    },
    create: (body, namespace) =>
      call(label('create', body.metadata?.name ?? `${body.metadata?.generateName ?? ''}*`, namespace ?? body.metadata?.namespace), () =>
        ref.namespaced
          ? api.createNamespacedCustomObject({ ...base, namespace: ns(namespace ?? body.metadata?.namespace), body })
          : api.createClusterCustomObject({ ...base, body }),
      ) as Promise<T>,
    replace: (body, namespace) =>
      call(label('replace', body.metadata.name, namespace ?? body.metadata.namespace), () =>
        ref.namespaced
          ? api.replaceNamespacedCustomObject({ ...base, namespace: ns(namespace ?? body.metadata.namespace), name: body.metadata.name, body })
          : api.replaceClusterCustomObject({ ...base, name: body.metadata.name, body }),
      ) as Promise<T>,
    mergePatch: (name, body, namespace) => patch(name, body, namespace, mergePatchHeader, 'merge-patch'),
    jsonPatch: (name, ops, namespace) => patch(name, ops, namespace, jsonPatchHeader, 'json-patch'),
    patchStatus: (name, status, namespace) =>
      call(label('patch status of', name, namespace), () =>
        ref.namespaced
          ? api.patchNamespacedCustomObjectStatus({ ...base, namespace: ns(namespace), name, body: { status } }, mergePatchHeader)
          : api.patchClusterCustomObjectStatus({ ...base, name, body: { status } }, mergePatchHeader),
      ) as Promise<T>,
    async delete(name, opts = {}) {
      try {
        await call(label('delete', name, opts.namespace), () =>
          ref.namespaced ? api.deleteNamespacedCustomObject({ ...base, namespace: ns(opts.namespace), name }) : api.deleteClusterCustomObject({ ...base, name }),
        );
        return true;
      } catch (err) {
        if (opts.ignoreNotFound && err instanceof KubeError && err.code === 'BRX_ERR_KUBE_NOT_FOUND') return false;
        throw err;
      }
    },
  };
  return self;
}
