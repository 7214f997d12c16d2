/**
 * Reads an engine's Prometheus text exposition for the vLLM series the router uses, and turns two
 * successive scrapes into EngineMetrics. The parser looks only at the names it knows (a table
 * lookup per line; histogram buckets are skipped without allocating), sums a series over its label
 * sets (a data-parallel engine exports one per rank) and averages the ratios. It never throws: a
 * malformed line is skipped, an absent series is undefined.
 *
 * Latency and token means are taken over the window between two scrapes (Δsum/Δcount of the vLLM
 * histogram), so they follow the engine's current load rather than its lifetime; with no request
 * finished in the window the previous mean stands. Engines without the throughput gauges (vLLM V1
 * dropped them) get throughput from their token counters over the window.
 */
import type { EngineMetrics } from '../router/types.js';

/** Where each known series lands in a sample; histograms take a sum and a count slot each from Hist on. */
const Slot = {
  Running: 0,
  Waiting: 1,
  Swapped: 2,
  GpuCache: 3,
  CpuCache: 4,
  PromptTp: 5,
  GenerationTp: 6,
  HitRate: 7,
  Busy: 8,
  PrefixQueries: 9,
  PrefixHits: 10,
  PromptTokensTotal: 11,
  GenerationTokensTotal: 12,
  Hist: 13,
} as const;

/** The histograms read, in slot order; `field` is the EngineMetrics mean they give. */
const HISTOGRAMS = [
  ['vllm:time_to_first_token_seconds', 'ttftMean'],
  ['vllm:e2e_request_latency_seconds', 'e2eMean'],
  ['vllm:request_queue_time_seconds', 'queueTimeMean'],
  ['vllm:request_prefill_time_seconds', 'prefillTimeMean'],
  ['vllm:request_decode_time_seconds', 'decodeTimeMean'],
  ['vllm:request_prompt_tokens', 'avgPromptTokens'],
  ['vllm:request_generation_tokens', 'avgGenerationTokens'],
] as const;

type HistogramField = (typeof HISTOGRAMS)[number][1];

const SLOTS = Slot.Hist + 2 * HISTOGRAMS.length;

/** Slots averaged over label sets (ratios); the rest are summed. */
const MEAN_SLOTS = new Set<number>([Slot.GpuCache, Slot.CpuCache, Slot.HitRate, Slot.Busy]);

const NAMES = new Map<string, number>([
  ['vllm:num_requests_running', Slot.Running],
  ['vllm:num_requests_waiting', Slot.Waiting],
  ['vllm:num_requests_swapped', Slot.Swapped],
  ['vllm:gpu_cache_usage_perc', Slot.GpuCache],
  ['vllm:kv_cache_usage_perc', Slot.GpuCache],
  ['vllm:cpu_cache_usage_perc', Slot.CpuCache],
  ['vllm:avg_prompt_throughput_toks_per_s', Slot.PromptTp],
  ['vllm:avg_generation_throughput_toks_per_s', Slot.GenerationTp],
  ['vllm:gpu_prefix_cache_hit_rate', Slot.HitRate],
  ['vllm:gpu_busy_time_ratio', Slot.Busy],
  ['gpu_busy_time_ratio', Slot.Busy],
  ['vllm:gpu_prefix_cache_queries_total', Slot.PrefixQueries],
  ['vllm:prefix_cache_queries_total', Slot.PrefixQueries],
  ['vllm:gpu_prefix_cache_hits_total', Slot.PrefixHits],
  ['vllm:prefix_cache_hits_total', Slot.PrefixHits],
  ['vllm:prompt_tokens_total', Slot.PromptTokensTotal],
  ['vllm:generation_tokens_total', Slot.GenerationTokensTotal],
]);
HISTOGRAMS.forEach(([name], i) => {
  NAMES.set(`${name}_sum`, Slot.Hist + 2 * i);
  NAMES.set(`${name}_count`, Slot.Hist + 2 * i + 1);
});

/** What one scrape said: the value of each known series (NaN = absent). */
export interface VllmSample {
  /** Indexed by slot; NaN where the engine did not export the series. */
  readonly values: Float64Array;
  /** Known series lines read (0: not a vLLM exposition, or empty). */
  readonly series: number;
}

const NL = 10;
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN = 123;
const CLOSE = 125;
const HASH = 35;

/** Parses Prometheus text exposition (format 0.0.4 / OpenMetrics text) for the known vLLM series. */
export function parseVllmMetrics(text: string): VllmSample {
  const sums = new Float64Array(SLOTS).fill(NaN);
  const counts = new Uint32Array(SLOTS);
  let series = 0;
  const n = text.length;
  let pos = 0;
  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    const line = pos;
    pos = eol + 1;
    const first = text.charCodeAt(line);
    if (first === HASH || first === NL || first === SPACE || first === TAB || line >= eol) continue;
    let end = line;
    while (end < eol) {
      const c = text.charCodeAt(end);
      if (c === OPEN || c === SPACE || c === TAB) break;
      end++;
    }
    // Buckets are most of a vLLM exposition and never wanted: skip them before slicing a name.
    if (text.endsWith('_bucket', end) || text.endsWith('_created', end)) continue;
    const slot = NAMES.get(text.slice(line, end));
    if (slot === undefined) continue;
    let i = end;
    if (text.charCodeAt(i) === OPEN) {
      i = skipLabels(text, i + 1, eol);
      if (i < 0) continue;
    }
    while (i < eol && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    let valueEnd = i;
    while (valueEnd < eol && text.charCodeAt(valueEnd) !== SPACE && text.charCodeAt(valueEnd) !== TAB && text.charCodeAt(valueEnd) !== 13) valueEnd++;
    if (valueEnd === i) continue;
    const value = Number(text.slice(i, valueEnd));
    if (!Number.isFinite(value)) continue;
    sums[slot] = counts[slot] === 0 ? value : sums[slot]! + value;
    counts[slot]!++;
    series++;
  }
  for (const slot of MEAN_SLOTS) if (counts[slot]! > 1) sums[slot] = sums[slot]! / counts[slot]!;
  return { values: sums, series };
}

/** Index just past the closing `}` of a label set that starts at `i`, or -1 when the line ends first. */
function skipLabels(text: string, i: number, eol: number): number {
  let quoted = false;
  for (; i < eol; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) quoted = false;
    } else if (c === QUOTE) quoted = true;
    else if (c === CLOSE) return i + 1;
  }
  return -1;
}

/** A previous scrape, for the window. */
export interface PreviousScrape {
  readonly sample: VllmSample;
  readonly metrics: EngineMetrics;
}

const val = (s: VllmSample, slot: number): number | undefined => {
  const v = s.values[slot]!;
  return Number.isNaN(v) ? undefined : v;
};

/** vLLM exports usage as 0..1; some mock servers (AIBrix's) as a percentage. */
const ratio = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.min(1, Math.max(0, v > 1 ? v / 100 : v)));

/** Δa/Δb over the window; the previous value when nothing happened; the lifetime ratio on a first scrape or a reset. */
function windowed(cur: VllmSample, prev: PreviousScrape | undefined, sumSlot: number, countSlot: number, previous: number | undefined): number | undefined {
  const sum = val(cur, sumSlot);
  const count = val(cur, countSlot);
  if (sum === undefined || count === undefined) return undefined;
  const pSum = prev === undefined ? undefined : val(prev.sample, sumSlot);
  const pCount = prev === undefined ? undefined : val(prev.sample, countSlot);
  if (pSum !== undefined && pCount !== undefined && count >= pCount && sum >= pSum) {
    if (count === pCount) return previous ?? (count > 0 ? sum / count : undefined);
    return (sum - pSum) / (count - pCount);
  }
  return count > 0 ? sum / count : undefined;
}

/** Tokens per second from a counter over the window (undefined on a first scrape or a reset). */
function rate(cur: VllmSample, prev: PreviousScrape | undefined, slot: number, at: number): number | undefined {
  const now = val(cur, slot);
  const before = prev === undefined ? undefined : val(prev.sample, slot);
  if (now === undefined || before === undefined || prev === undefined || now < before || at <= prev.metrics.at) return undefined;
  return (now - before) / ((at - prev.metrics.at) / 1000);
}

/** EngineMetrics from a scrape at `at` (ms epoch) and the one before it, if any. */
export function toEngineMetrics(sample: VllmSample, at: number, prev?: PreviousScrape): EngineMetrics {
  const m: { -readonly [K in keyof EngineMetrics]: EngineMetrics[K] } = { at };
  const set = <K extends keyof EngineMetrics>(key: K, v: EngineMetrics[K] | undefined): void => {
    if (v !== undefined) m[key] = v;
  };
  set('running', val(sample, Slot.Running));
  set('waiting', val(sample, Slot.Waiting));
  set('swapped', val(sample, Slot.Swapped));
  set('gpuCacheUsage', ratio(val(sample, Slot.GpuCache)));
  set('cpuCacheUsage', ratio(val(sample, Slot.CpuCache)));
  set('promptThroughput', val(sample, Slot.PromptTp) ?? rate(sample, prev, Slot.PromptTokensTotal, at));
  set('generationThroughput', val(sample, Slot.GenerationTp) ?? rate(sample, prev, Slot.GenerationTokensTotal, at));
  set('busyTimeRatio', ratio(val(sample, Slot.Busy)));
  set('prefixCacheHitRate', ratio(val(sample, Slot.HitRate) ?? windowed(sample, prev, Slot.PrefixHits, Slot.PrefixQueries, prev?.metrics.prefixCacheHitRate)));
  HISTOGRAMS.forEach(([, field], i) => {
    set(field as HistogramField, windowed(sample, prev, Slot.Hist + 2 * i, Slot.Hist + 2 * i + 1, prev?.metrics[field as HistogramField]));
  });
  return Object.freeze(m);
}
