/**
 * XID delivery for the sim backend: a queue drained asynchronously (as NVML's event thread would)
 * and delivered once. XIDs queued before anyone listens wait for the first listener rather than
 * being lost, so a scenario's `xids` reach the sampler however late it subscribes.
 */
import type { AccelEvent } from '../types.js';

type Listener = (event: AccelEvent) => void;

export class SimEvents {
  private readonly listeners = new Set<Listener>();
  private pending: { index: number; xid: number }[] = [];
  private timer: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    this.schedule();
    return () => this.listeners.delete(listener);
  }

  pushXid(index: number, xid: number): void {
    if (this.closed) return;
    this.pending.push({ index, xid });
    this.schedule();
  }

  /** Reports that the event source failed (fault injection of the wait call). */
  fail(event: Extract<AccelEvent, { kind: 'event-error' }>): void {
    if (!this.closed) this.emit(event);
  }

  clear(): void {
    this.pending = [];
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.listeners.clear();
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.pending.length === 0 || this.listeners.size === 0) return;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      this.flush();
    });
  }

  private flush(): void {
    if (this.listeners.size === 0) return;
    const batch = this.pending;
    this.pending = [];
    for (const { index, xid } of batch) this.emit({ kind: 'xid', index, xid, at: this.now() });
  }

  private emit(event: AccelEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
}
