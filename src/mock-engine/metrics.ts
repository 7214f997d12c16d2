/**
 * The mock engine's /metrics in Prometheus text format with vLLM's metric names, bucket boundaries
 * and `model_name` label, so scrapers written for vLLM (gateways, autoscalers, dashboards) read it
 * unchanged; plus AIBrix's `gpu_busy_time_ratio`. Gauges come from the model on each scrape;
 * histograms are observed per request. Every time is in model seconds (as if --time-scale were 1).
 */
import type { ModelMetrics } from './types.js';

/** vLLM's TTFT buckets (seconds). */
export const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
/** vLLM's time-per-output-token buckets (seconds). */
export const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
/** vLLM's request-latency buckets (seconds): e2e, queue, prefill, decode, inference. */
export const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/** vLLM's 1-2-5 token-count buckets up to the model's maximum length. */
export function tokenBuckets(maxModelLen: number): number[] {
  const out: number[] = [];
  for (let e = 1; ; e *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * e > maxModelLen) return out;
      out.push(m * e);
    }
  }
}

class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] as number)) {
        (this.counts[i] as number)++;
        return;
      }
    }
  }

  render(label: string, out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    let cum = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cum += this.counts[i] as number;
      out.push(`${this.name}_bucket{${label},le="${formatLe(this.bounds[i] as number)}"} ${cum}`);
    }
    out.push(`${this.name}_bucket{${label},le="+Inf"} ${this.count}`, `${this.name}_sum{${label}} ${this.sum}`, `${this.name}_count{${label}} ${this.count}`);
  }
}

function formatLe(x: number): string {
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** One finished request's times, in model milliseconds. */
export interface RequestTimes {
  readonly arrival: number;
  readonly admitted: number;
  readonly firstToken: number;
  readonly finished: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly finishReason: 'stop' | 'length';
}

export class EngineMetrics {
  /** `model_name="…"`, escaped: the label every series of this engine carries. */
  readonly label: string;
  private readonly ttft = new Histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
  private readonly tpot = new Histogram('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', TPOT_BUCKETS);
  private readonly e2e = new Histogram('vllm:e2e_request_latency_seconds', 'Histogram of end to end request latency in seconds.', LATENCY_BUCKETS);
  private readonly queue = new Histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', LATENCY_BUCKETS);
  private readonly inference = new Histogram('vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.', LATENCY_BUCKETS);
  private readonly prefill = new Histogram('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', LATENCY_BUCKETS);
  private readonly decode = new Histogram('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', LATENCY_BUCKETS);
  private readonly promptTokens: Histogram;
  private readonly generationTokens: Histogram;
  private readonly success = { stop: 0, length: 0 };

  constructor(modelName: string, maxModelLen: number) {
    this.label = `model_name="${modelName.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    const buckets = tokenBuckets(maxModelLen);
    this.promptTokens = new Histogram('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', buckets);
    this.generationTokens = new Histogram('vllm:request_generation_tokens', 'Number of generation tokens processed.', buckets);
  }

  /** Records a request that finished normally (aborted ones are not observed, as in vLLM). */
  observe(t: RequestTimes): void {
    this.ttft.observe((t.firstToken - t.arrival) / 1000);
    if (t.outputTokens > 1) this.tpot.observe((t.finished - t.firstToken) / 1000 / (t.outputTokens - 1));
    this.e2e.observe((t.finished - t.arrival) / 1000);
    this.queue.observe((t.admitted - t.arrival) / 1000);
    this.inference.observe((t.finished - t.admitted) / 1000);
    this.prefill.observe((t.firstToken - t.admitted) / 1000);
    this.decode.observe((t.finished - t.firstToken) / 1000);
    this.promptTokens.observe(t.promptTokens);
    this.generationTokens.observe(t.outputTokens);
    this.success[t.finishReason]++;
  }

  render(m: ModelMetrics): string {
    const l = this.label;
    const out: string[] = [];
    const gauge = (name: string, help: string, v: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${l}} ${v}`);
    const counter = (name: string, help: string, v: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name}{${l}} ${v}`);
    gauge('vllm:num_requests_running', 'Number of requests currently running on GPU.', m.running);
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', m.waiting);
    gauge('vllm:num_requests_swapped', 'Number of requests swapped to CPU.', 0);
    gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', m.kvUsage);
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', m.kvUsage);
    gauge('vllm:cpu_cache_usage_perc', 'CPU KV-cache usage. 1 means 100 percent usage.', 0);
    gauge('vllm:avg_prompt_throughput_toks_per_s', 'Average prefill throughput in tokens/s over the last 10 s.', m.promptThroughput);
    gauge('vllm:avg_generation_throughput_toks_per_s', 'Average generation throughput in tokens/s over the last 10 s.', m.generationThroughput);
    const hitRate = m.promptTokensTotal === 0 ? 0 : m.cachedPromptTokensTotal / m.promptTokensTotal;
    gauge('vllm:gpu_prefix_cache_hit_rate', 'GPU prefix cache block hit rate.', hitRate);
    gauge('gpu_busy_time_ratio', 'Share of the last 10 s the engine was running iterations (AIBrix least-busy-time).', m.busyRatio);
    counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', m.promptTokensTotal);
    counter('vllm:generation_tokens_total', 'Number of generation tokens processed.', m.generationTokensTotal);
    counter('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.', m.promptTokensTotal);
    counter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', m.cachedPromptTokensTotal);
    counter('vllm:num_preemptions_total', 'Cumulative number of preemptions from the engine.', m.preemptionsTotal);
    out.push('# HELP vllm:request_success_total Count of successfully processed requests.', '# TYPE vllm:request_success_total counter');
    for (const reason of ['stop', 'length'] as const) out.push(`vllm:request_success_total{${l},finished_reason="${reason}"} ${this.success[reason]}`);
    for (const h of [this.ttft, this.tpot, this.e2e, this.queue, this.inference, this.prefill, this.decode, this.promptTokens, this.generationTokens]) h.render(l, out);
    return `${out.join('\n')}\n`;
  }
}
