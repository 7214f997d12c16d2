/**
 * The reconciler's work queue, keyed by fleet (`namespace/name`): a key added while queued is
 * queued once; a key is never processed twice at the same time (added while running, it runs again
 * once the run ends); a run that throws is retried with exponential backoff per key (reset by a
 * success); addAfter() wakes a key at a time (the rollout plan's requeueAtMs, the probe interval).
 * Several keys run at once, up to `concurrency`.
 */
import type { Disposable } from '../../common/lifecycle.js';

export interface WorkQueueOptions {
  /** Keys processed at the same time; default 4. */
  readonly concurrency?: number;
  /** First retry after an error; doubles per failure up to maxRetryMs. Default 200 ms. */
  readonly retryMs?: number;
  /** Default 30 s. */
  readonly maxRetryMs?: number;
  /** Called with every error a run throws (the key is retried). */
  readonly onError?: (key: string, err: unknown, retryInMs: number) => void;
}

export class WorkQueue implements Disposable {
  readonly name = 'orchestrator work queue';
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  /** Added while running: run again after. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly concurrency: number;
  private disposed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly opts: WorkQueueOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
  }

  /** Queues `key` now (once, however often it is added before it runs). */
  add(key: string): void {
    if (this.disposed) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues `key` after `ms`; an earlier wake-up already set for it wins. */
  addAfter(key: string, ms: number): void {
    if (this.disposed) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const had = this.timers.get(key);
    if (had !== undefined && had.at <= at) return;
    if (had !== undefined) clearTimeout(had.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Drops the key's pending wake-up and retry count (the fleet was deleted). */
  forget(key: string): void {
    const had = this.timers.get(key);
    if (had !== undefined) clearTimeout(had.timer);
    this.timers.delete(key);
    this.failures.delete(key);
  }

  /** Keys waiting, running, or due later. */
  get size(): number {
    return this.queued.size + this.running.size;
  }

  /** Resolves when nothing is queued or running (timers may still be set). */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.dirty.clear();
    await Promise.all([...this.inflight]);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private pump(): void {
    while (!this.disposed && this.running.size < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.running.add(key);
      const run = this.process(key);
      this.inflight.add(run);
      void run.finally(() => this.inflight.delete(run));
    }
    if (this.queue.length === 0 && this.running.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async process(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (err) {
      const n = this.failures.get(key) ?? 0;
      this.failures.set(key, n + 1);
      const wait = Math.min(this.opts.maxRetryMs ?? 30_000, (this.opts.retryMs ?? 200) * 2 ** n);
      this.opts.onError?.(key, err, wait);
      this.addAfter(key, wait);
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
