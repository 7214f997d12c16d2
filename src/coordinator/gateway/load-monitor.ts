/**
 * The load monitor: every proxied request's (input, output) tokens per model. The gateway records;
 * the optimizer reads (optimizer/load-monitor.ts: decayed histograms on the profile grid).
 */

export interface ModelLoad {
  readonly model: string;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Per second, as the optimizer plans on it (the larger of its short and long decayed horizons). */
  readonly requestRate: number;
  readonly inputTokenRate: number;
  readonly outputTokenRate: number;
}

export interface LoadMonitor {
  /** One finished request; `atMs` is when it finished (ms epoch). */
  record(model: string, inputTokens: number, outputTokens: number, atMs: number): void;
  /**
   * One request arriving for `model` (before routing; `atMs` ms epoch). The request rate counts
   * arrivals once any were recorded, so a fleet that falls behind does not hide demand.
   */
  arrived?(model: string, atMs: number): void;
  /** Per-model load, sorted by model, rates as of `nowMs`. */
  snapshot(nowMs: number): ModelLoad[];
}
