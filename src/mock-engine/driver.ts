/**
 * Runs an EngineModel against the wall clock for the HTTP server: model time = wall time since
 * start × timeScale, one timer armed for the model's next event, events handed to the listener of
 * their request as they fall due. With timeScale Infinity there is no clock at all: model time is
 * virtual and every submission runs the model to idle at once, so answers come back immediately
 * with the same bodies and metrics (the zero-latency mode a throughput benchmark wants).
 */
import type { EngineModel, ModelEvent, ModelRequest } from './types.js';

export type EventListener = (ev: ModelEvent) => void;

export class EngineDriver {
  private readonly listeners = new Map<string, EventListener>();
  private readonly t0 = performance.now();
  private readonly instant: boolean;
  private virtualNow = 0;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined = undefined;
  private pumping = false;
  private closed = false;

  constructor(
    readonly model: EngineModel,
    readonly timeScale: number,
  ) {
    if (!(timeScale > 0)) throw new RangeError(`timeScale must be positive, got ${timeScale}`);
    this.instant = timeScale === Infinity;
  }

  /** Model time in milliseconds. */
  now(): number {
    return this.instant ? this.virtualNow : (performance.now() - this.t0) * this.timeScale;
  }

  /** Requests in the model (submitted, not yet finished or aborted). */
  active(): number {
    return this.listeners.size;
  }

  /** Submits at model time `now` (default: the current model time). */
  submit(req: ModelRequest, listener: EventListener, now = this.now()): void {
    this.listeners.set(req.id, listener);
    this.model.submit(req, now);
    this.pump();
  }

  abort(id: string): void {
    if (!this.listeners.has(id)) return;
    this.model.abort(id, this.now());
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.disarm();
  }

  private pump(): void {
    if (this.pumping) return; // a listener submitting or aborting: the running pump picks it up
    this.pumping = true;
    try {
      if (this.instant) {
        for (let t = this.model.nextEventAt(); t !== undefined; t = this.model.nextEventAt()) {
          if (t > this.virtualNow) this.virtualNow = t;
          this.dispatch(this.model.advance(this.virtualNow));
        }
      } else {
        this.dispatch(this.model.advance(this.now()));
        this.arm();
      }
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(events: readonly ModelEvent[]): void {
    for (const ev of events) {
      const listener = this.listeners.get(ev.id);
      if (listener === undefined) continue;
      if (ev.type === 'finish' || ev.type === 'aborted') this.listeners.delete(ev.id);
      listener(ev);
    }
  }

  private arm(): void {
    this.disarm();
    if (this.closed) return;
    const next = this.model.nextEventAt();
    if (next === undefined) return;
    const wallMs = (next - this.now()) / this.timeScale;
    // Timers have millisecond granularity; sooner than that, poll once per event-loop turn.
    if (wallMs < 1) this.immediate = setImmediate(() => this.onTimer());
    else this.timer = setTimeout(() => this.onTimer(), wallMs);
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.immediate = undefined;
    this.pump();
  }
}
