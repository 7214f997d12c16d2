/**
 * One undici Pool per engine origin, kept across requests (keep-alive connections), created on first
 * use and closed when unused for a while or on shutdown. Engines that share an origin with a
 * different base path share the pool.
 */
import { Pool } from 'undici';
import { BrixletError } from '../../common/errors.js';
import type { Disposable } from '../../common/lifecycle.js';

export interface UpstreamTarget {
  readonly pool: Pool;
  /** The engine's base path without a trailing slash ('' for most engines). */
  readonly basePath: string;
  /** host:port of the engine (the AIBrix `target-pod` header). */
  readonly hostPort: string;
}

export interface UpstreamPoolsOptions {
  /** Time to establish a connection (gateway.connectTimeout). */
  readonly connectTimeout: number;
  /** Pools unused this long are closed (default 5 min); 0 = never. */
  readonly idleCloseMs?: number;
  /** Keep-alive of idle connections to an engine (default 30 s, or the engine's hint). */
  readonly keepAliveTimeout?: number;
}

interface Entry extends UpstreamTarget {
  lastUsed: number;
}

export class UpstreamPools implements Disposable {
  private readonly byUrl = new Map<string, Entry>();
  private readonly byOrigin = new Map<string, Pool>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: UpstreamPoolsOptions) {
    const idle = opts.idleCloseMs ?? 300_000;
    if (idle > 0) {
      this.sweepTimer = setInterval(() => this.sweep(idle), Math.min(idle, 60_000));
      this.sweepTimer.unref();
    }
  }

  /** The pool and path prefix for an engine base URL. */
  target(engineUrl: string): UpstreamTarget {
    // After shutdown began no new pool is made (it would never be closed): the request gets a 503.
    if (this.closed) throw new BrixletError('BRX_ERR_HTTP_NOT_READY', { server: 'gateway', reason: 'it is shutting down' });
    let e = this.byUrl.get(engineUrl);
    if (e === undefined || (e.pool.closed || e.pool.destroyed)) {
      const u = new URL(engineUrl);
      let pool = this.byOrigin.get(u.origin);
      if (pool === undefined || pool.closed || pool.destroyed) {
        pool = new Pool(u.origin, {
          connect: { timeout: this.opts.connectTimeout },
          keepAliveTimeout: this.opts.keepAliveTimeout ?? 30_000,
          // The gateway enforces its own first-byte and idle timers; undici's must not cut in first.
          headersTimeout: 0,
          bodyTimeout: 0,
        });
        this.byOrigin.set(u.origin, pool);
      }
      e = { pool, basePath: u.pathname.replace(/\/+$/, ''), hostPort: u.host, lastUsed: 0 };
      this.byUrl.set(engineUrl, e);
    }
    e.lastUsed = Date.now();
    return e;
  }

  get size(): number {
    return this.byOrigin.size;
  }

  private sweep(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    const used = new Set<Pool>();
    for (const [url, e] of this.byUrl) {
      if (e.lastUsed < cutoff) this.byUrl.delete(url);
      else used.add(e.pool);
    }
    for (const [origin, pool] of this.byOrigin) {
      if (used.has(pool)) continue;
      this.byOrigin.delete(origin);
      void pool.close().catch(() => undefined);
    }
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    const pools = [...this.byOrigin.values()];
    this.byOrigin.clear();
    this.byUrl.clear();
    // In-flight requests were aborted by the gateway's drain; destroy whatever is left so shutdown never waits on an engine.
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
