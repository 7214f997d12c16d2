/**
 * The profiler's measured rows and AIBrix's rule (gen_profile) that turns the rows of one
 * (output, input) cell into the cell's throughput: among the request rates whose latencies meet
 * every SLO at the chosen statistic, keep the non-saturated ones (measured throughput ≥ 0.9 × the
 * offered rate) and take the largest; when every qualifying rate is saturated, the smallest
 * qualifying one; the cell is the measured throughput there, and 0 when no rate meets the SLO.
 * Pure functions: the sweep (profiler.ts) measures, this decides.
 */

/** Summary statistics of one latency, in seconds. */
export interface LatencyStats {
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** One measured sweep point (one cell at one request rate); latencies and rates in model time. */
export interface ProfileRow {
  readonly input: number;
  readonly output: number;
  /** Offered request rate asked for (req/s). */
  readonly rate: number;
  /** Rate the arrivals really had: (sent − 1) / (last send − first send); `rate` with one request. */
  readonly offered: number;
  /** Seed of the point's arrivals and prompts (a function of the sweep's seed and the point's place). */
  readonly seed?: number;
  readonly sent: number;
  readonly completed: number;
  /** Requests that failed or timed out: a point with any is never within the SLO. */
  readonly failed: number;
  /**
   * Measured throughput (req/s): completed / (last completion − first send − unloaded E2E), the
   * unloaded E2E being the least E2E the cell has shown; benchmark_serving's without its bias of
   * one service time per point.
   */
  readonly tput: number;
  readonly e2e: LatencyStats;
  /** Absent when the endpoint was not streamed (no first-token time). */
  readonly ttft?: LatencyStats;
  readonly tpot?: LatencyStats;
  /** Mean prompt and completion tokens the endpoint reported (usage), when it did. */
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

export type SloStatistic = 'mean' | 50 | 90 | 99;

export interface ProfileSlo {
  /** Upper bounds in seconds; at least one is set. */
  readonly e2e?: number;
  readonly ttft?: number;
  readonly tpot?: number;
  /** Which statistic must be below the bounds (AIBrix's --percentile; default mean). */
  readonly statistic: SloStatistic;
}

/** Measured throughput below this share of the offered rate marks a rate as saturated (AIBrix's 0.9). */
export const SATURATION_SHARE = 0.9;

function statOf(s: LatencyStats, statistic: SloStatistic): number {
  switch (statistic) {
    case 'mean':
      return s.mean;
    case 50:
      return s.p50;
    case 90:
      return s.p90;
    case 99:
      return s.p99;
  }
}

/** Whether a row meets every bound of the SLO (strictly below, as AIBrix); any failed request fails it. */
export function meetsSlo(row: ProfileRow, slo: ProfileSlo): boolean {
  if (row.failed > 0 || row.completed === 0) return false;
  const within = (bound: number | undefined, s: LatencyStats | undefined): boolean => bound === undefined || (s !== undefined && statOf(s, slo.statistic) < bound);
  return within(slo.e2e, row.e2e) && within(slo.ttft, row.ttft) && within(slo.tpot, row.tpot);
}

/** Whether the endpoint kept up with the arrivals at this row's rate. */
export function isSaturated(row: ProfileRow, share = SATURATION_SHARE): boolean {
  return !(row.tput >= share * row.offered);
}

/** The row a cell's value comes from (AIBrix's rule above), or undefined when no rate meets the SLO. */
export function chooseCellRow(rows: readonly ProfileRow[], slo: ProfileSlo, share = SATURATION_SHARE): ProfileRow | undefined {
  const qualifying = rows.filter((r) => meetsSlo(r, slo)).sort((a, b) => a.rate - b.rate);
  if (qualifying.length === 0) return undefined;
  const kept = qualifying.filter((r) => !isSaturated(r, share));
  return kept.length > 0 ? kept[kept.length - 1] : qualifying[0];
}

/** Least, mean and nearest-rank percentiles of `values` (seconds); zeros for an empty list. */
export function latencyStats(values: readonly number[]): LatencyStats {
  if (values.length === 0) return { min: 0, mean: 0, p50: 0, p90: 0, p99: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { min: sorted[0] as number, mean: sum / sorted.length, p50: at(50), p90: at(90), p99: at(99) };
}

/**
 * Parses `e2e=5,ttft=0.5,tpot=0.05` (seconds; `ms` suffix allowed) into bounds; throws a message
 * naming the bad part. The statistic is set separately.
 */
export function parseSloBounds(text: string): { e2e?: number; ttft?: number; tpot?: number } {
  const out: { e2e?: number; ttft?: number; tpot?: number } = {};
  const parts = text.split(',').map((p) => p.trim());
  if (text.trim() === '' || parts.some((p) => p === '')) throw new Error(`'${text}' is not a list of metric=seconds (e.g. e2e=5,ttft=0.5,tpot=0.05)`);
  for (const part of parts) {
    const m = /^(e2e|ttft|tpot)\s*=\s*([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*(ms|s)?$/i.exec(part);
    if (m === null) throw new Error(`'${part}' is not metric=seconds with metric e2e, ttft or tpot (e.g. e2e=5 or ttft=500ms)`);
    const key = (m[1] as string).toLowerCase() as 'e2e' | 'ttft' | 'tpot';
    const seconds = Number(m[2]) / ((m[3] ?? 's').toLowerCase() === 'ms' ? 1000 : 1);
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new Error(`'${part}': the bound must be a positive number of seconds`);
    if (out[key] !== undefined) throw new Error(`'${key}' is given twice`);
    out[key] = seconds;
  }
  return out;
}
