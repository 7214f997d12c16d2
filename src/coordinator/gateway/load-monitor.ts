/**
 * The load monitor: every proxied request's (input, output) tokens per model. The gateway records;
 * the optimizer reads. This in-memory version keeps totals and request/token rates over a recent
 * window of one-second buckets; the optimizer replaces the internals (decayed histograms on its
 * profile grid) behind the same record() call.
 */

export interface ModelLoad {
  readonly model: string;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Per second over the recent window (the buckets that have elapsed, at most windowSeconds). */
  readonly requestRate: number;
  readonly inputTokenRate: number;
  readonly outputTokenRate: number;
}

export interface LoadMonitor {
  /** One finished request; `atMs` is when it finished (ms epoch). */
  record(model: string, inputTokens: number, outputTokens: number, atMs: number): void;
  /** Per-model load, sorted by model, rates as of `nowMs`. */
  snapshot(nowMs: number): ModelLoad[];
}

interface Series {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Ring of [requests, input, output] per second; `second` tells which second a slot holds. */
  readonly ring: Float64Array;
  readonly second: Float64Array;
  firstSecond: number;
}

export interface InMemoryLoadMonitorOptions {
  /** Seconds the rates average over (default 60). */
  readonly windowSeconds?: number;
}

export class InMemoryLoadMonitor implements LoadMonitor {
  private readonly window: number;
  private readonly series = new Map<string, Series>();

  constructor(opts: InMemoryLoadMonitorOptions = {}) {
    this.window = Math.max(1, Math.floor(opts.windowSeconds ?? 60));
  }

  record(model: string, inputTokens: number, outputTokens: number, atMs: number): void {
    let s = this.series.get(model);
    const sec = Math.floor(atMs / 1000);
    if (s === undefined) {
      s = { requests: 0, inputTokens: 0, outputTokens: 0, ring: new Float64Array(this.window * 3), second: new Float64Array(this.window).fill(-1), firstSecond: sec };
      this.series.set(model, s);
    }
    const input = inputTokens > 0 ? inputTokens : 0;
    const output = outputTokens > 0 ? outputTokens : 0;
    s.requests++;
    s.inputTokens += input;
    s.outputTokens += output;
    const slot = sec % this.window;
    if (s.second[slot] !== sec) {
      s.second[slot] = sec;
      s.ring[slot * 3] = 0;
      s.ring[slot * 3 + 1] = 0;
      s.ring[slot * 3 + 2] = 0;
    }
    s.ring[slot * 3] = (s.ring[slot * 3] as number) + 1;
    s.ring[slot * 3 + 1] = (s.ring[slot * 3 + 1] as number) + input;
    s.ring[slot * 3 + 2] = (s.ring[slot * 3 + 2] as number) + output;
  }

  snapshot(nowMs: number): ModelLoad[] {
    const now = Math.floor(nowMs / 1000);
    const out: ModelLoad[] = [];
    for (const [model, s] of this.series) {
      let r = 0;
      let i = 0;
      let o = 0;
      for (let slot = 0; slot < this.window; slot++) {
        const at = s.second[slot] as number;
        if (at < 0 || at > now || at <= now - this.window) continue;
        r += s.ring[slot * 3] as number;
        i += s.ring[slot * 3 + 1] as number;
        o += s.ring[slot * 3 + 2] as number;
      }
      // A monitor younger than the window averages over the seconds it has seen (the current one included).
      const span = Math.max(1, Math.min(this.window, now - s.firstSecond + 1));
      out.push({ model, requests: s.requests, inputTokens: s.inputTokens, outputTokens: s.outputTokens, requestRate: r / span, inputTokenRate: i / span, outputTokenRate: o / span });
    }
    return out.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  }
}
