/**
 * The list and watch calls an informer makes, for any resource (core or custom): list is a plain
 * GET through the KubeConfig's TLS and auth settings (on the client's kept-alive connections when
 * it has them), watch is the client library's Watch (a connection of its own per watch).
 */
import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { shareAgent } from './keep-alive.js';
import { KubeError, toKubeError } from './kube-error.js';
import { collectionPath, resourceName, type KubeList, type KubeObject, type ResourceRef } from './types.js';

export interface WatchHandle {
  /** Settles when the stream ends: null for a clean close, the error otherwise. */
  readonly done: Promise<Error | null>;
  abort(): void;
}

/** What an informer needs from the API server; tests can supply their own. */
export interface ListWatchSource<T extends KubeObject> {
  readonly description: string;
  list(signal?: AbortSignal): Promise<KubeList<T>>;
  watch(resourceVersion: string, onEvent: (type: string, object: unknown) => void): Promise<WatchHandle>;
}

export interface ListWatchOptions {
  /** For a namespaced resource; undefined lists and watches all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Limit on a list request; default 30 s. */
  readonly listTimeoutMs?: number;
}

async function getJson(kc: KubeConfig, path: string, query: URLSearchParams, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeError('BRX_ERR_KUBE_CONFIG', 'no current cluster in the Kubernetes configuration');
  const url = new URL(cluster.server + path);
  url.search = query.toString();
  const opts: RequestOptions = { method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs, signal };
  await kc.applyToHTTPSOptions(opts);
  if (opts.agent instanceof HttpAgent) opts.agent = shareAgent(kc, opts.agent);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(Object.assign(new Error(`HTTP ${status}`), { code: status, body: text }));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export function createListWatch<T extends KubeObject>(kc: KubeConfig, ref: ResourceRef, opts: ListWatchOptions = {}): ListWatchSource<T> {
  const path = collectionPath(ref, opts.namespace);
  const where = ref.namespaced ? (opts.namespace ?? 'all namespaces') : 'cluster';
  const description = `${resourceName(ref)} in ${where}${opts.labelSelector ? ` (${opts.labelSelector})` : ''}`;
  const selectors: Record<string, string> = {};
  if (opts.labelSelector) selectors.labelSelector = opts.labelSelector;
  if (opts.fieldSelector) selectors.fieldSelector = opts.fieldSelector;
  const watcher = new Watch(kc);
  return {
    description,
    async list(signal) {
      try {
        const out = (await getJson(kc, path, new URLSearchParams(selectors), opts.listTimeoutMs ?? 30_000, signal)) as { items?: T[]; metadata?: { resourceVersion?: string } };
        return { items: out.items ?? [], resourceVersion: out.metadata?.resourceVersion ?? '' };
      } catch (err) {
        throw toKubeError(err, `list ${description}`);
      }
    },
    async watch(resourceVersion, onEvent) {
      let settle: (err: Error | null) => void = () => undefined;
      const done = new Promise<Error | null>((resolve) => (settle = resolve));
      const controller = await watcher.watch(
        path,
        { ...selectors, resourceVersion, allowWatchBookmarks: true },
        (type: string, object: unknown) => onEvent(type, object),
        (err: unknown) => settle(err ? toKubeError(err, `watch ${description}`) : null),
      );
      return { done, abort: () => controller.abort() };
    },
  };
}
