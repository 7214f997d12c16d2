import { describe, expect, it } from 'vitest';
import { parseVllmMetrics, toEngineMetrics } from '../../../src/coordinator/engines/metrics-parse.js';

const M = 'model_name="meta-llama/Llama-3.1-8B-Instruct"';

/** A histogram as vLLM's prometheus_client writes it: buckets, sum, count and (OpenMetrics) created. */
function histogram(name: string, help: string, les: number[], sum: number, count: number): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  les.forEach((le, i) => lines.push(`${name}_bucket{le="${le}",${M}} ${Math.round((count * (i + 1)) / les.length)}.0`));
  lines.push(`${name}_bucket{le="+Inf",${M}} ${count}.0`, `${name}_count{${M}} ${count}.0`, `${name}_sum{${M}} ${sum}`, `${name}_created{${M}} 1.7321e+09`);
  return lines.join('\n');
}

/** vLLM 0.6-style /metrics of one engine at `t` (counts and sums grow between scrapes). */
function vllmExposition(count: number, ttftSum: number, e2eSum: number): string {
  return [
    '# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig',
    '# TYPE vllm:cache_config_info gauge',
    'vllm:cache_config_info{block_size="16",cache_dtype="auto",enable_prefix_caching="True",gpu_memory_utilization="0.9",num_cpu_blocks="2048",num_gpu_blocks="27153",sliding_window="None"} 1.0',
    '# HELP vllm:num_requests_running Number of requests currently running on GPU.',
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{${M}} 12.0`,
    '# HELP vllm:num_requests_swapped Number of requests swapped to CPU.',
    '# TYPE vllm:num_requests_swapped gauge',
    `vllm:num_requests_swapped{${M}} 0.0`,
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{${M}} 3.0`,
    '# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:gpu_cache_usage_perc gauge',
    `vllm:gpu_cache_usage_perc{${M}} 0.4417`,
    `vllm:cpu_cache_usage_perc{${M}} 0.0`,
    '# HELP vllm:cpu_prefix_cache_hit_rate CPU prefix cache block hit rate.',
    `vllm:cpu_prefix_cache_hit_rate{${M}} -1.0`,
    `vllm:gpu_prefix_cache_hit_rate{${M}} 0.6512`,
    '# HELP vllm:avg_prompt_throughput_toks_per_s Average prefill throughput in tokens/s.',
    '# TYPE vllm:avg_prompt_throughput_toks_per_s gauge',
    `vllm:avg_prompt_throughput_toks_per_s{${M}} 1523.4`,
    `vllm:avg_generation_throughput_toks_per_s{${M}} 812.7`,
    '# HELP vllm:num_preemptions_total Cumulative number of preemption from the engine.',
    '# TYPE vllm:num_preemptions_total counter',
    `vllm:num_preemptions_total{${M}} 0.0`,
    `vllm:prompt_tokens_total{${M}} 812345.0`,
    `vllm:generation_tokens_total{${M}} 99871.0`,
    histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10], ttftSum, count),
    histogram('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', [0.01, 0.025, 0.05, 0.075, 0.1], 33.1, count * 50),
    histogram('vllm:e2e_request_latency_seconds', 'Histogram of end to end request latency in seconds.', [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60], e2eSum, count),
    histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', [0.3, 0.5, 1, 5], count * 0.01, count),
    histogram('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', [0.3, 0.5, 1, 5], count * 0.05, count),
    histogram('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', [0.3, 0.5, 1, 5, 10], count * 2, count),
    histogram('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000], count * 1000, count),
    histogram('vllm:request_generation_tokens', 'Number of generation tokens processed.', [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000], count * 250, count),
    '# HELP vllm:request_success_total Count of successfully processed requests.',
    '# TYPE vllm:request_success_total counter',
    `vllm:request_success_total{finished_reason="stop",${M}} ${count}.0`,
    '# EOF',
    '',
  ].join('\n');
}

describe('parseVllmMetrics + toEngineMetrics', () => {
  it('reads the gauges and histogram means of a real vLLM exposition', () => {
    const sample = parseVllmMetrics(vllmExposition(400, 52.4, 1200));
    const m = toEngineMetrics(sample, 1_000);
    expect(m).toEqual({
      at: 1_000,
      running: 12,
      waiting: 3,
      swapped: 0,
      gpuCacheUsage: 0.4417,
      cpuCacheUsage: 0,
      promptThroughput: 1523.4,
      generationThroughput: 812.7,
      prefixCacheHitRate: 0.6512,
      ttftMean: 52.4 / 400,
      e2eMean: 3,
      queueTimeMean: expect.closeTo(0.01, 10),
      prefillTimeMean: expect.closeTo(0.05, 10),
      decodeTimeMean: 2,
      avgPromptTokens: 1000,
      avgGenerationTokens: 250,
    });
    expect(Object.isFrozen(m)).toBe(true);
  });

  it('takes latency means over the window between scrapes, and keeps the last one through a quiet window', () => {
    const first = parseVllmMetrics(vllmExposition(400, 40, 1200));
    const m1 = toEngineMetrics(first, 1_000);
    const second = parseVllmMetrics(vllmExposition(500, 40 + 100 * 0.5, 1200 + 100 * 10));
    const m2 = toEngineMetrics(second, 2_000, { sample: first, metrics: m1 });
    expect(m2.ttftMean).toBeCloseTo(0.5, 10); // the last 100 requests, not the lifetime 0.18
    expect(m2.e2eMean).toBeCloseTo(10, 10);
    const m3 = toEngineMetrics(second, 3_000, { sample: second, metrics: m2 });
    expect(m3.ttftMean).toBeCloseTo(0.5, 10);
  });

  it('falls back to the lifetime mean after a counter reset (engine restarted)', () => {
    const before = parseVllmMetrics(vllmExposition(400, 40, 1200));
    const after = parseVllmMetrics(vllmExposition(10, 3, 20));
    const m = toEngineMetrics(after, 2_000, { sample: before, metrics: toEngineMetrics(before, 1_000) });
    expect(m.ttftMean).toBeCloseTo(0.3, 10);
    expect(m.e2eMean).toBeCloseTo(2, 10);
  });

  it('derives throughput and prefix hit rate from counters when the gauges are absent (vLLM V1)', () => {
    const v1 = (prompt: number, gen: number, queries: number, hits: number): string =>
      [
        `vllm:num_requests_running{${M},engine="0"} 2.0`,
        `vllm:num_requests_running{${M},engine="1"} 3.0`,
        `vllm:kv_cache_usage_perc{${M},engine="0"} 0.2`,
        `vllm:kv_cache_usage_perc{${M},engine="1"} 0.4`,
        `vllm:prompt_tokens_total{${M},engine="0"} ${prompt}`,
        `vllm:generation_tokens_total{${M},engine="0"} ${gen}`,
        `vllm:prefix_cache_queries_total{${M},engine="0"} ${queries}`,
        `vllm:prefix_cache_hits_total{${M},engine="0"} ${hits}`,
      ].join('\n');
    const a = parseVllmMetrics(v1(1000, 100, 1000, 200));
    const ma = toEngineMetrics(a, 10_000);
    expect(ma.running).toBe(5); // summed over data-parallel ranks
    expect(ma.gpuCacheUsage).toBeCloseTo(0.3, 10); // averaged
    expect(ma.promptThroughput).toBeUndefined(); // no window yet
    expect(ma.prefixCacheHitRate).toBeCloseTo(0.2, 10);
    const b = parseVllmMetrics(v1(3000, 600, 2000, 1000));
    const mb = toEngineMetrics(b, 12_000, { sample: a, metrics: ma });
    expect(mb.promptThroughput).toBe(1000);
    expect(mb.generationThroughput).toBe(250);
    expect(mb.prefixCacheHitRate).toBeCloseTo(0.8, 10);
  });

  it('skips what it does not understand and never throws', () => {
    const text = [
      'garbage line without value',
      'vllm:num_requests_running{model_name="weird} \\"name\\" x"} 7',
      'vllm:num_requests_waiting{unterminated="x 4',
      'vllm:num_requests_swapped NaN',
      'vllm:gpu_cache_usage_perc +Inf',
      'vllm:cpu_cache_usage_perc 0.25 1732100000000',
      'vllm:avg_prompt_throughput_toks_per_s\t12\r',
      '   ',
      'gpu_busy_time_ratio 0.75',
      'vllm:time_to_first_token_seconds_sum 3',
    ].join('\n');
    const m = toEngineMetrics(parseVllmMetrics(text), 5);
    expect(m).toEqual({ at: 5, running: 7, cpuCacheUsage: 0.25, promptThroughput: 12, busyTimeRatio: 0.75 });
    expect(toEngineMetrics(parseVllmMetrics(''), 1)).toEqual({ at: 1 });
    expect(parseVllmMetrics('<html>not metrics</html>').series).toBe(0);
  });

  it('reads a percentage-scale cache usage (AIBrix mock app) as a 0..1 share', () => {
    expect(toEngineMetrics(parseVllmMetrics('vllm:gpu_cache_usage_perc 45'), 1).gpuCacheUsage).toBeCloseTo(0.45, 10);
  });

  // Parse time per scrape is a benchmark target (npm run bench:router, "engine metrics parse"), not a test.
});
