/**
 * The optimizer's load monitor: every routed request's (input, output) tokens per model, kept as
 * exponentially decayed 2-D histograms over two horizons (short ≈ 30 s, long ≈ 240 s). The
 * planning rate is the larger of the two horizons' rates, so a burst shows within seconds while a
 * quiet spell does not drop the plan at once.
 *
 * Buckets are fine log2 cells of 0.1 (AIBrix's trace precision, `round(log2(tokens) * 10)`), kept
 * whatever grid a profile has: gridLoad() maps them onto any profile grid when asked (AIBrix's
 * nearest-tick rule in log2 space, a midpoint going to the upper tick), so a grid given or changed
 * later re-grids the whole history. A shape beyond the grid's edge cells (past the midpoint to a
 * next tick the grid would have) lands in the edge cell and is counted as clamped, never dropped.
 *
 * The rate counts arrivals (arrived(), called when a request comes in) once a model has any, else
 * finished requests; shapes always come from finished requests (their token counts). Counting
 * completions only, a fleet that falls behind sees no more load than it serves and never asks for
 * more. A model whose requests have arrived but none finished has a rate and no shapes (no load
 * on a grid yet).
 *
 * Decay is forward decay: a request at t adds e^((t − t₀)/τ) to its cell, and reads scale by
 * e^(−(now − t₀)/τ), so recording is O(1) with no timers (every time is an argument); t₀ moves
 * forward (one pass over the cells) before the weights could overflow. Per model, a fine cell once
 * seen keeps one Map entry and two slots of a typed array: the number of entries is bounded by the
 * distinct shapes (≤ 2048²), never by the number of requests.
 *
 * Forecast (forecast()): the rate expected `lead` ahead, from a linear trend fitted by double
 * exponential smoothing over a third time constant τ_f (default 30 s): with the decay kernels
 * k₁(u) = e^(−u/τ_f) and k₂(u) = u·e^(−u/τ_f) over the age of the series, a rate λ − b·u seen u seconds
 * back averages λ − b·m₁ under k₁ and λ − b·m₂ under k₂ (m₁, m₂ the kernels' mean ages: τ_f and 2τ_f
 * once the series is older than a few τ_f), so b = (S₁ − S₂)/(m₂ − m₁) and λ = S₁ + b·m₁. Forward
 * decay again: per series Σw and Σ(s − t₀)·w, two numbers per counted stream, O(1) per request. A
 * steady rate forecasts itself; a ramp forecasts ahead by slope × lead.
 */
import type { LoadMonitor, ModelLoad } from '../gateway/load-monitor.js';
import type { GridLoad, ProfileGrid } from './types.js';

export interface DecayedLoadMonitorOptions {
  /** Time constant of the short horizon in ms (default 30 s). */
  readonly shortMs?: number;
  /** Time constant of the long horizon in ms (default 240 s). */
  readonly longMs?: number;
  /** Time constant of the forecast's trend fit in ms (default 30 s). */
  readonly trendMs?: number;
  /** A forecast is at most this multiple of the rate now (default FORECAST_MAX_GROWTH). */
  readonly maxGrowth?: number;
}

/** The rate now and the rate expected some lead ahead (forecast()). */
export interface RateForecast {
  /** The planning rate now (max of the horizons), req/s. */
  readonly rate: number;
  /** The trend's rate now (lag-corrected level), req/s. */
  readonly level: number;
  /** The trend's slope, req/s per second (negative when falling). */
  readonly slope: number;
  /** level + slope × lead, clamped to [0, FORECAST_MAX_GROWTH × rate]; equal to `rate` when there is no trend yet. */
  readonly forecast: number;
}

/** A forecast never exceeds this multiple of the current rate (a burst's noise is not a ramp). */
export const FORECAST_MAX_GROWTH = 2;

/** 0.1 log2 units per fine bucket: AIBrix's `meta_precision` 10. */
export const FINE_PER_LOG2 = 10;
const FINE_MAX = 2047;
const FINE_SPAN = FINE_MAX + 1;
/** Renormalise once a weight would pass e^RESCALE_AT (doubles hold e^709). */
const RESCALE_AT = 40;
const H = 2; // horizons: 0 = short, 1 = long
/** The trend needs the series at least this many τ_f old (before that, m₂ − m₁ is too small to divide by). */
const TREND_MIN_AGE_TAUS = 1;

interface Series {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** First record (ms): a monitor younger than a horizon divides by the part of it that has elapsed. */
  firstAt: number;
  /** fine key → slot */
  readonly slots: Map<number, number>;
  /** Per slot: H decayed counts (forward-decay weights). */
  counts: Float64Array;
  /** Per slot: the fine key, for the passes over the cells. */
  keys: Int32Array;
  /** Per horizon: decayed requests, input tokens, output tokens (forward-decay weights). */
  readonly totals: Float64Array;
  /** Per horizon: decayed arrivals (forward-decay weights); the rate once `arrivals` > 0. */
  readonly arrivedW: Float64Array;
  /** Trend sums at τ_f: [Σw, Σ(s − t₀)w (s in seconds)] of arrivals, then of finished requests. */
  readonly trend: Float64Array;
  arrivals: number;
  /** First arrival (ms). */
  arrivedFirstAt: number;
  /** Requests that fell outside the grid set with setGrid(), counted when recorded. */
  clamped: number;
  grid: GridBounds | undefined;
}

interface GridBounds {
  readonly outLo: number;
  readonly outHi: number;
  readonly inLo: number;
  readonly inHi: number;
}

export class DecayedLoadMonitor implements LoadMonitor {
  private readonly tau: readonly [number, number];
  private readonly trendTau: number;
  private readonly maxGrowth: number;
  /** The smallest time constant: the weights grow fastest under it. */
  private readonly minTau: number;
  private readonly series = new Map<string, Series>();
  /** Forward-decay reference time (ms), shared by every model and horizon. */
  private t0: number | undefined;

  constructor(opts: DecayedLoadMonitorOptions = {}) {
    const short = opts.shortMs ?? 30_000;
    const long = opts.longMs ?? 240_000;
    const trend = opts.trendMs ?? 30_000;
    if (!(short > 0 && long > 0 && trend > 0)) throw new RangeError('load monitor horizons must be positive');
    this.tau = [short, long];
    this.trendTau = trend;
    this.maxGrowth = opts.maxGrowth ?? FORECAST_MAX_GROWTH;
    this.minTau = Math.min(short, long, trend);
  }

  record(model: string, inputTokens: number, outputTokens: number, atMs: number): void {
    const input = inputTokens > 0 ? inputTokens : 0;
    const output = outputTokens > 0 ? outputTokens : 0;
    if (this.t0 === undefined) this.t0 = atMs;
    if ((atMs - this.t0) / this.minTau > RESCALE_AT) this.rescale(atMs);
    let s = this.series.get(model);
    if (s === undefined) {
      s = this.emptySeries(model);
    }
    s.requests++;
    s.inputTokens += input;
    s.outputTokens += output;
    if (atMs < s.firstAt) s.firstAt = atMs;
    const lo = log2Tokens(output);
    const li = log2Tokens(input);
    const key = fineIndex(lo) * FINE_SPAN + fineIndex(li);
    let slot = s.slots.get(key);
    if (slot === undefined) {
      slot = s.slots.size;
      if (slot >= s.keys.length) grow(s);
      s.keys[slot] = key;
      s.slots.set(key, slot);
    }
    const g = s.grid;
    if (g !== undefined && (lo < g.outLo || lo >= g.outHi || li < g.inLo || li >= g.inHi)) s.clamped++;
    for (let h = 0; h < H; h++) {
      const w = Math.exp((atMs - this.t0) / (this.tau[h] as number));
      s.counts[slot * H + h] = (s.counts[slot * H + h] as number) + w;
      s.totals[h * 3] = (s.totals[h * 3] as number) + w;
      s.totals[h * 3 + 1] = (s.totals[h * 3 + 1] as number) + w * input;
      s.totals[h * 3 + 2] = (s.totals[h * 3 + 2] as number) + w * output;
    }
    // The finished requests' trend is read only while the model has no arrivals (forecast()).
    if (s.arrivals === 0) this.addTrend(s, 2, atMs);
  }

  /** One request arriving (routed or queued) for `model` at atMs: from the first one on, the rate counts these. */
  arrived(model: string, atMs: number): void {
    if (this.t0 === undefined) this.t0 = atMs;
    if ((atMs - this.t0) / this.minTau > RESCALE_AT) this.rescale(atMs);
    const s = this.series.get(model) ?? this.emptySeries(model);
    s.arrivals++;
    if (atMs < s.arrivedFirstAt) s.arrivedFirstAt = atMs;
    for (let h = 0; h < H; h++) s.arrivedW[h] = (s.arrivedW[h] as number) + Math.exp((atMs - this.t0) / (this.tau[h] as number));
    this.addTrend(s, 0, atMs);
  }

  /**
   * The model's rate expected `leadMs` after nowMs: the trend fitted over τ_f (arrivals once the model
   * has any, else finished requests) projected ahead. No trend before the series is τ_f old, with a
   * non-finite input or a lead ≤ 0: the forecast is the rate now. O(1).
   */
  forecast(model: string, nowMs: number, leadMs: number): RateForecast {
    const s = this.series.get(model);
    if (s === undefined || !Number.isFinite(nowMs)) return { rate: 0, level: 0, slope: 0, forecast: 0 };
    const rate = Math.max(this.rateOf(s, 0, nowMs), this.rateOf(s, 1, nowMs));
    const flat = { rate, level: rate, slope: 0, forecast: rate };
    const off = s.arrivals > 0 ? 0 : s.requests > 0 ? 2 : -1;
    const from = off === 0 ? s.arrivedFirstAt : s.firstAt;
    const tau = this.trendTau / 1000;
    const age = (nowMs - from) / 1000;
    if (off < 0 || this.t0 === undefined || !(age >= TREND_MIN_AGE_TAUS * tau)) return flat;
    // Σk₁ = D·A and Σk₂ = D·((now − t₀)A − B), D = e^(−(now − t₀)/τ_f); each over its kernel's integral on [0, age].
    const d = Math.exp(-(nowMs - this.t0) / this.trendTau);
    const a = s.trend[off] as number;
    const b = s.trend[off + 1] as number;
    const x = age / tau;
    const e = Math.exp(-x);
    const i1 = tau * (1 - e);
    const i2 = tau * tau * (1 - e * (1 + x));
    const i3 = tau * tau * tau * (2 - e * (2 + 2 * x + x * x));
    const s1 = (d * a) / i1;
    const s2 = (d * (((nowMs - this.t0) / 1000) * a - b)) / i2;
    const m1 = i2 / i1;
    const m2 = i3 / i2;
    const slope = (s1 - s2) / (m2 - m1);
    const level = s1 + slope * m1;
    const ahead = level + slope * (leadMs > 0 ? leadMs / 1000 : 0);
    if (!Number.isFinite(slope) || !Number.isFinite(ahead)) return flat;
    return { rate, level, slope, forecast: Math.min(Math.max(0, ahead), this.maxGrowth * rate) };
  }

  private addTrend(s: Series, off: number, atMs: number): void {
    const t0 = this.t0 as number;
    const w = Math.exp((atMs - t0) / this.trendTau);
    s.trend[off] = (s.trend[off] as number) + w;
    s.trend[off + 1] = (s.trend[off + 1] as number) + ((atMs - t0) / 1000) * w;
  }

  /**
   * The grid a model's requests are counted as clamped against when recorded (clampedTotal());
   * gridLoad() takes its grid as an argument and needs none of this.
   */
  setGrid(model: string, grid: ProfileGrid | undefined): void {
    const s = this.series.get(model) ?? this.emptySeries(model);
    s.grid = grid === undefined ? undefined : gridBounds(grid);
  }

  /** Requests recorded outside the grid set for the model (a counter: never decays). */
  clampedTotal(model: string): number {
    return this.series.get(model)?.clamped ?? 0;
  }

  models(): string[] {
    return [...this.series.keys()].sort();
  }

  /** Fine cells held for a model (bounded by distinct request shapes, not by requests). */
  entries(model: string): number {
    return this.series.get(model)?.slots.size ?? 0;
  }

  /** Mean output tokens of the model's finished requests over the long horizon; undefined before one finished. O(1). */
  meanOutput(model: string): number | undefined {
    const s = this.series.get(model);
    // Both sums carry the same decay: their ratio needs no time.
    const n = s?.totals[3] ?? 0;
    return s === undefined || !(n > 0) ? undefined : (s.totals[5] as number) / n;
  }

  /** Per-horizon request rate (req/s) as of nowMs: [short, long]. */
  rates(model: string, nowMs: number): [number, number] {
    const s = this.series.get(model);
    if (s === undefined) return [0, 0];
    return [this.rateOf(s, 0, nowMs), this.rateOf(s, 1, nowMs)];
  }

  /**
   * The model's load on `grid` as of nowMs: rate = max of the horizons' rates; shares, observed and
   * clamped from the horizon giving that rate (a burst brings its own shape).
   */
  gridLoad(model: string, grid: ProfileGrid, nowMs: number): GridLoad {
    const cells = grid.outputs.length * grid.inputs.length;
    const shares = new Float64Array(cells);
    const s = this.series.get(model);
    if (s === undefined || s.slots.size === 0) return { grid, rate: 0, shares, clamped: 0, observed: 0 };
    const short = this.rateOf(s, 0, nowMs);
    const long = this.rateOf(s, 1, nowMs);
    const h = short > long ? 0 : 1;
    const decay = this.decayTo(h, nowMs);
    const outLog = grid.outputs.map(log2Tokens);
    const inLog = grid.inputs.map(log2Tokens);
    let observed = 0;
    let clamped = 0;
    const n = s.slots.size;
    for (let slot = 0; slot < n; slot++) {
      const c = (s.counts[slot * H + h] as number) * decay;
      if (c === 0) continue;
      const key = s.keys[slot] as number;
      const o = nearestTick(outLog, Math.floor(key / FINE_SPAN) / FINE_PER_LOG2);
      const i = nearestTick(inLog, (key % FINE_SPAN) / FINE_PER_LOG2);
      const cell = o.index * grid.inputs.length + i.index;
      shares[cell] = (shares[cell] as number) + c;
      observed += c;
      if (o.clamped || i.clamped) clamped += c;
    }
    if (observed > 0) for (let k = 0; k < cells; k++) shares[k] = (shares[k] as number) / observed;
    return { grid, rate: Math.max(short, long), shares, clamped, observed };
  }

  snapshot(nowMs: number): ModelLoad[] {
    const out: ModelLoad[] = [];
    for (const [model, s] of this.series) {
      const short = this.rateOf(s, 0, nowMs);
      const long = this.rateOf(s, 1, nowMs);
      const h = short > long ? 0 : 1;
      const per = this.decayTo(h, nowMs) / this.elapsedTau(s.firstAt, h, nowMs);
      out.push({
        model,
        requests: s.requests,
        inputTokens: s.inputTokens,
        outputTokens: s.outputTokens,
        requestRate: Math.max(short, long),
        inputTokenRate: (s.totals[h * 3 + 1] as number) * per,
        outputTokenRate: (s.totals[h * 3 + 2] as number) * per,
      });
    }
    return out.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  }

  /**
   * Decayed count / the horizon's effective span: a steady λ req/s reads λ, also before a whole τ
   * has passed. Arrivals once the model has any, else finished requests.
   */
  private rateOf(s: Series, h: number, nowMs: number): number {
    if (s.arrivals > 0) return ((s.arrivedW[h] as number) * this.decayTo(h, nowMs)) / this.elapsedTau(s.arrivedFirstAt, h, nowMs);
    if (s.requests === 0) return 0;
    return ((s.totals[h * 3] as number) * this.decayTo(h, nowMs)) / this.elapsedTau(s.firstAt, h, nowMs);
  }

  /** τ(1 − e^(−age/τ)) in seconds: the integral of the decay since `from` (at least 1 s). */
  private elapsedTau(from: number, h: number, nowMs: number): number {
    const tau = this.tau[h] as number;
    const age = Math.max(1000, nowMs - from);
    return (tau * -Math.expm1(-age / tau)) / 1000;
  }

  private decayTo(h: number, nowMs: number): number {
    return this.t0 === undefined ? 0 : Math.exp(-(nowMs - this.t0) / (this.tau[h] as number));
  }

  /** Moves t₀ to `to`: every stored weight is scaled down once (amortised O(1) per request). */
  private rescale(to: number): void {
    const t0 = this.t0 as number;
    for (const s of this.series.values()) {
      for (let h = 0; h < H; h++) {
        const f = Math.exp(-(to - t0) / (this.tau[h] as number));
        for (let slot = 0; slot < s.slots.size; slot++) s.counts[slot * H + h] = (s.counts[slot * H + h] as number) * f;
        for (let k = 0; k < 3; k++) s.totals[h * 3 + k] = (s.totals[h * 3 + k] as number) * f;
        s.arrivedW[h] = (s.arrivedW[h] as number) * f;
      }
      // Σ(s − t₀')w' = f·(Σ(s − t₀)w − Δ·Σw), Δ = t₀' − t₀ (seconds).
      const f = Math.exp(-(to - t0) / this.trendTau);
      const shift = (to - t0) / 1000;
      for (const off of [0, 2]) {
        const a = s.trend[off] as number;
        s.trend[off] = a * f;
        s.trend[off + 1] = ((s.trend[off + 1] as number) - shift * a) * f;
      }
    }
    this.t0 = to;
  }

  private emptySeries(model: string): Series {
    const s: Series = {
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      firstAt: Infinity,
      slots: new Map(),
      counts: new Float64Array(16 * H),
      keys: new Int32Array(16),
      totals: new Float64Array(3 * H),
      arrivedW: new Float64Array(H),
      trend: new Float64Array(4),
      arrivals: 0,
      arrivedFirstAt: Infinity,
      clamped: 0,
      grid: undefined,
    };
    this.series.set(model, s);
    return s;
  }
}

function grow(s: Series): void {
  const keys = new Int32Array(s.keys.length * 2);
  keys.set(s.keys);
  const counts = new Float64Array(keys.length * H);
  counts.set(s.counts);
  s.keys = keys;
  s.counts = counts;
}

/** log2 of a token count; below one token counts as one (log2 0). */
export function log2Tokens(tokens: number): number {
  return tokens > 1 ? Math.log2(tokens) : 0;
}

function fineIndex(log2: number): number {
  const f = Math.round(log2 * FINE_PER_LOG2);
  return f > FINE_MAX ? FINE_MAX : f;
}

/**
 * The nearest tick to `l` (both log2), a midpoint going to the upper tick; `clamped` when `l` lies
 * past the midpoint to a tick beyond either edge (the edge spacing repeated; one unit with one tick).
 */
export function nearestTick(ticks: readonly number[], l: number): { index: number; clamped: boolean } {
  const n = ticks.length;
  const first = ticks[0] as number;
  const last = ticks[n - 1] as number;
  const halfFirst = n > 1 ? ((ticks[1] as number) - first) / 2 : 0.5;
  const halfLast = n > 1 ? (last - (ticks[n - 2] as number)) / 2 : 0.5;
  if (l < first) return { index: 0, clamped: l < first - halfFirst };
  if (l >= last) return { index: n - 1, clamped: l >= last + halfLast };
  // Binary search for the first tick above l; then pick between it and the one below.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ticks[mid] as number) > l) hi = mid;
    else lo = mid + 1;
  }
  const below = ticks[lo - 1] as number;
  const above = ticks[lo] as number;
  return { index: l - below >= above - l ? lo : lo - 1, clamped: false };
}

function gridBounds(grid: ProfileGrid): GridBounds {
  const b = (ticks: readonly number[]): [number, number] => {
    const t = ticks.map(log2Tokens);
    const n = t.length;
    const halfFirst = n > 1 ? ((t[1] as number) - (t[0] as number)) / 2 : 0.5;
    const halfLast = n > 1 ? ((t[n - 1] as number) - (t[n - 2] as number)) / 2 : 0.5;
    return [(t[0] as number) - halfFirst, (t[n - 1] as number) + halfLast];
  };
  const [outLo, outHi] = b(grid.outputs);
  const [inLo, inHi] = b(grid.inputs);
  return { outLo, outHi, inLo, inHi };
}
