/**
 * The one entry point to Kubernetes: a client from a kubeconfig or the pod's service account,
 * typed custom-object helpers, and informers that restart. Its requests share one pool of
 * kept-alive connections (keep-alive.ts; API clients made from `kubeConfig` too), watches hold
 * their own. Everything it hands out that holds a connection (informers, the pool) is released by
 * dispose().
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Disposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { createCustomObjects, type CustomObjects } from './custom-objects.js';
import { Informer, type InformerOptions } from './informer.js';
import { KeepAliveKubeConfig, type KeepAliveOptions } from './keep-alive.js';
import { createListWatch, type ListWatchOptions } from './list-watch.js';
import { loadKubeConfig, type KubeConfigSource } from './load-kube-config.js';
import type { KubeObject, ResourceRef } from './types.js';

export interface KubeClientOptions extends KubeConfigSource, KeepAliveOptions {
  /** Overrides the namespace from the kubeconfig context or service account. */
  readonly namespace?: string;
  readonly log?: Logger;
}

export interface KubeInformerOptions extends Omit<ListWatchOptions, 'namespace'>, Omit<InformerOptions, 'log'> {
  /** Defaults to the client's namespace for namespaced resources. */
  readonly namespace?: string;
  readonly allNamespaces?: boolean;
  /** Start right away (default true). */
  readonly start?: boolean;
}

export interface KubeClient extends Disposable {
  /** API clients made from it (`makeApiClient`) share the client's kept-alive connections. */
  readonly kubeConfig: KubeConfig;
  /** The namespace namespaced calls default to. */
  readonly namespace: string;
  /** API server URL, for logs. */
  readonly server: string;
  customObjects<T extends KubeObject>(ref: ResourceRef): CustomObjects<T>;
  /** An informer over any resource (core or custom); disposed with the client. */
  informer<T extends KubeObject>(ref: ResourceRef, opts?: KubeInformerOptions): Informer<T>;
}

export function createKubeClient(opts: KubeClientOptions = {}): KubeClient {
  const pooled = new KeepAliveKubeConfig({ maxSockets: opts.maxSockets, idleTimeoutMs: opts.idleTimeoutMs });
  const loaded = loadKubeConfig(opts, pooled);
  const kc = loaded.kubeConfig;
  const namespace = opts.namespace ?? loaded.namespace;
  const api = kc.makeApiClient(CustomObjectsApi);
  const informers = new Set<Disposable>();
  let disposed = false;
  opts.log?.debug({ source: loaded.source, server: kc.getCurrentCluster()?.server, namespace }, 'kubernetes client configured');
  return {
    name: 'kube client',
    kubeConfig: kc,
    namespace,
    server: kc.getCurrentCluster()?.server ?? '',
    customObjects: <T extends KubeObject>(ref: ResourceRef) => createCustomObjects<T>(api, ref, namespace),
    informer<T extends KubeObject>(ref: ResourceRef, o: KubeInformerOptions = {}): Informer<T> {
      const ns = ref.namespaced && !o.allNamespaces ? (o.namespace ?? namespace) : undefined;
      const source = createListWatch<T>(kc, ref, { namespace: ns, labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, listTimeoutMs: o.listTimeoutMs });
      const informer = new Informer<T>(source, { backoff: o.backoff, minWatchMs: o.minWatchMs, random: o.random, log: opts.log });
      if (!disposed) {
        informers.add(informer);
        if (o.start !== false) informer.start();
      }
      return informer;
    },
    async dispose() {
      disposed = true;
      const all = [...informers];
      informers.clear();
      await Promise.all(all.map((i) => i.dispose()));
      pooled.destroyAgents();
    },
  };
}
