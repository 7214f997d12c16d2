/**
 * A cache of one resource kept current by list + watch, which (unlike the client library's
 * informer, which stops on any error but 410) never gives up: a dropped or failed watch is
 * re-opened from the last resourceVersion, errors back off exponentially and relist, and a 410
 * Expired relists at once. Relists are diffed against the cache, so subscribers see add /
 * update / delete for what changed while the watch was down, not a reset.
 */
import type { Disposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { KubeError } from './kube-error.js';
import type { ListWatchSource, WatchHandle } from './list-watch.js';
import { objectKey, type KubeObject } from './types.js';

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly factor?: number;
}

export interface InformerOptions {
  readonly log?: Logger;
  /** Retry delays after errors; default 250 ms doubling to 30 s, ±20 % jitter. */
  readonly backoff?: BackoffOptions;
  /** A watch that closes cleanly sooner than this counts as a failure for backoff; default 1 s. */
  readonly minWatchMs?: number;
  readonly random?: () => number;
}

export interface InformerHandlers<T> {
  add: (obj: T) => void;
  update: (obj: T, old: T) => void;
  delete: (obj: T) => void;
  /** After every successful (re)list. */
  sync: () => void;
  /** Every failure the informer recovers from; it keeps running. */
  error: (err: KubeError) => void;
}

type Listeners<T> = { [K in keyof InformerHandlers<T>]: Set<InformerHandlers<T>[K]> };

export interface InformerStats {
  readonly lists: number;
  readonly watches: number;
  readonly errors: number;
  readonly expired: number;
}

class Expired extends Error {}

export class Informer<T extends KubeObject> implements Disposable {
  readonly name: string;
  private readonly cache = new Map<string, T>();
  private readonly listeners: Listeners<T> = { add: new Set(), update: new Set(), delete: new Set(), sync: new Set(), error: new Set() };
  private rv = '';
  private running = false;
  private disposed = false;
  private hasSynced = false;
  private syncWaiters: (() => void)[] = [];
  private watch: WatchHandle | undefined;
  private wakeSleep: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private listing: AbortController | undefined;
  private counts = { lists: 0, watches: 0, errors: 0, expired: 0 };

  constructor(
    private readonly source: ListWatchSource<T>,
    private readonly opts: InformerOptions = {},
  ) {
    this.name = `informer ${source.description}`;
  }

  on<K extends keyof InformerHandlers<T>>(event: K, handler: InformerHandlers<T>[K]): () => void {
    (this.listeners[event] as Set<InformerHandlers<T>[K]>).add(handler);
    return () => (this.listeners[event] as Set<InformerHandlers<T>[K]>).delete(handler);
  }

  /** Starts listing and watching in the background; call whenSynced() to wait for the first list. */
  start(): void {
    if (this.running || this.disposed) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once the cache holds a complete list (immediately if it already did). */
  whenSynced(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** The last resourceVersion seen: of the list, or of the latest event. */
  get resourceVersion(): string {
    return this.rv;
  }

  get stats(): InformerStats {
    return { ...this.counts };
  }

  /** Snapshot of the cached objects. */
  list(): T[] {
    return [...this.cache.values()];
  }

  /** A cached object by `name` (cluster-scoped) or `namespace/name`. */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.watch?.abort();
    this.listing?.abort();
    this.wakeSleep?.();
    await this.loop;
    for (const set of Object.values(this.listeners)) (set as Set<unknown>).clear();
    this.syncWaiters = [];
  }

  private emit<K extends keyof InformerHandlers<T>>(event: K, ...args: Parameters<InformerHandlers<T>[K]>): void {
    for (const handler of this.listeners[event]) {
      try {
        (handler as (...a: unknown[]) => void)(...args);
      } catch (err) {
        // A subscriber's bug must not stop the informer.
        this.opts.log?.error({ err, informer: this.source.description, event }, 'informer handler threw');
      }
    }
  }

  private delay(attempt: number): number {
    const b = this.opts.backoff ?? {};
    const base = Math.min(b.maxMs ?? 30_000, (b.initialMs ?? 250) * (b.factor ?? 2) ** attempt);
    return base * (0.8 + 0.4 * (this.opts.random ?? Math.random)());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let needList = true;
    while (!this.disposed) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const started = Date.now();
        const sawEvents = await this.watchOnce();
        if (sawEvents || Date.now() - started >= (this.opts.minWatchMs ?? 1000)) attempt = 0;
        else await this.sleep(this.delay(attempt++));
      } catch (err) {
        if (this.disposed) break;
        needList = true;
        if (err instanceof Expired) {
          this.counts.expired++;
          this.opts.log?.debug({ informer: this.source.description }, 'watch expired (410), relisting');
          continue;
        }
        const error = err instanceof KubeError ? err : new KubeError('BRX_ERR_KUBE_API', `${this.source.description}: ${(err as Error).message}`, { cause: err });
        this.counts.errors++;
        const wait = this.delay(attempt++);
        this.opts.log?.warn({ err: error, informer: this.source.description, retryInMs: Math.round(wait) }, 'informer failed, retrying');
        this.emit('error', error);
        await this.sleep(wait);
      }
    }
  }

  private async relist(): Promise<void> {
    this.listing = new AbortController();
    const { items, resourceVersion } = await this.source.list(this.listing.signal).finally(() => (this.listing = undefined));
    if (this.disposed) return;
    this.counts.lists++;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
    }
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit('delete', old);
      }
    }
    this.rv = resourceVersion;
    if (!this.hasSynced) {
      this.hasSynced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    this.emit('sync');
  }

  /** One watch, until it closes. Resolves whether it delivered events; throws Expired or the error. */
  private async watchOnce(): Promise<boolean> {
    let events = 0;
    let failure: Error | undefined;
    this.counts.watches++;
    const handle = await this.source.watch(this.rv, (type, object) => {
      if (failure) return;
      events++;
      const obj = object as T & { code?: number; message?: string };
      if (type === 'ERROR') {
        failure = obj.code === 410 ? new Expired() : new KubeError('BRX_ERR_KUBE_API', `watch ${this.source.description}: ${obj.message ?? 'error event'}`, { status: obj.code });
        this.watch?.abort(); // may still be unset: watchOnce aborts once it has the handle
        return;
      }
      const rv = obj.metadata?.resourceVersion;
      if (rv) this.rv = rv;
      if (type === 'BOOKMARK') return;
      const key = objectKey(obj);
      const old = this.cache.get(key);
      if (type === 'DELETED') {
        this.cache.delete(key);
        this.emit('delete', obj);
      } else {
        this.cache.set(key, obj);
        if (!old) this.emit('add', obj);
        // A watch from "0" re-sends what the list already gave: not a change.
        else if (old.metadata?.resourceVersion !== rv) this.emit('update', obj, old);
      }
    });
    this.watch = handle;
    if (this.disposed || failure) handle.abort();
    const err = await handle.done;
    this.watch = undefined;
    if (failure) throw failure;
    if (err) throw err instanceof KubeError && err.status === 410 ? new Expired() : err;
    return events > 0;
  }
}
