/**
 * Disposables and shutdown. Every long-lived resource (listener, timer, mapping, socket, watch)
 * goes into a DisposableStore; SIGTERM/SIGINT disposes the store in reverse order within a time
 * limit and exits 0, or 1 naming what did not finish. A second signal exits at once.
 */
import { BrixletError } from './errors.js';
import type { Logger } from './logger.js';

export interface Disposable {
  /** Shown when shutdown times out while this resource is still closing. */
  readonly name?: string;
  dispose(): void | Promise<void>;
}

export function toDisposable(name: string, dispose: () => void | Promise<void>): Disposable {
  return { name, dispose };
}

export class DisposableStore implements Disposable {
  readonly name: string;
  private readonly items: Disposable[] = [];
  private readonly closing = new Set<string>();
  private disposed = false;

  constructor(name = 'store') {
    this.name = name;
  }

  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      // Added after shutdown began: release it right away rather than leak it.
      void Promise.resolve()
        .then(() => item.dispose())
        .catch(() => undefined);
      return item;
    }
    this.items.push(item);
    return item;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Names of the resources still being released (for the drain-timeout message). */
  pending(): string[] {
    return [...this.closing, ...this.items.map((d) => d.name ?? 'unnamed')];
  }

  /** Releases everything in reverse order of addition; errors are collected, not short-circuiting. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    let item: Disposable | undefined;
    while ((item = this.items.pop()) !== undefined) {
      const label = item.name ?? 'unnamed';
      this.closing.add(label);
      try {
        await item.dispose();
      } catch (err) {
        errors.push(err);
      } finally {
        this.closing.delete(label);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} resources failed to close in ${this.name}`);
  }
}

export interface ShutdownOptions {
  readonly log: Logger;
  readonly timeoutMs: number;
  readonly store: DisposableStore;
  /** Called before the store is disposed, e.g. to turn readiness off. */
  readonly beforeDrain?: () => void;
  readonly exit?: (code: number) => void;
  readonly signals?: readonly NodeJS.Signals[];
}

/** Drains the store within the timeout. Resolves 0 on a clean drain, 1 on timeout or error. */
export async function drain(options: Omit<ShutdownOptions, 'exit' | 'signals'>): Promise<number> {
  const { log, timeoutMs, store } = options;
  options.beforeDrain?.();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([store.dispose().then(() => 'done' as const), timeout]);
    if (result === 'timeout') {
      const err = new BrixletError('BRX_ERR_LIFECYCLE_DRAIN_TIMEOUT', { timeoutMs, pending: store.pending().join(', ') || 'nothing' });
      log.error({ code: err.code }, err.message);
      return 1;
    }
    log.info('shutdown complete');
    return 0;
  } catch (err) {
    log.error({ err }, 'error while shutting down');
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

/** Installs SIGTERM/SIGINT handlers that drain and exit. The returned disposable removes them. */
export function handleShutdownSignals(options: ShutdownOptions): Disposable {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      options.log.warn({ signal }, 'second signal during shutdown, exiting now');
      exit(130);
      return;
    }
    draining = true;
    options.log.info({ signal, timeoutMs: options.timeoutMs }, 'draining');
    void drain(options).then(exit);
  };
  for (const s of signals) process.on(s, onSignal);
  return toDisposable('signal handlers', () => {
    for (const s of signals) process.off(s, onSignal);
  });
}
