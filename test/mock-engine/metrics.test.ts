import { describe, expect, it } from 'vitest';
import { EngineMetrics, tokenBuckets } from '../../src/mock-engine/metrics.js';
import type { ModelMetrics } from '../../src/mock-engine/types.js';

const idle: ModelMetrics = {
  running: 2,
  waiting: 1,
  kvUsage: 0.25,
  cachedBlocks: 0,
  promptThroughput: 10,
  generationThroughput: 20,
  busyRatio: 0.5,
  promptTokensTotal: 100,
  cachedPromptTokensTotal: 40,
  generationTokensTotal: 7,
  finishedTotal: 1,
  preemptionsTotal: 3,
};

describe('EngineMetrics', () => {
  it('builds vLLM 1-2-5 token buckets up to the model length', () => {
    expect(tokenBuckets(1000)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(tokenBuckets(32768).at(-1)).toBe(20000);
  });

  it('renders gauges and counters from the model with the model_name label', () => {
    const text = new EngineMetrics('my "model"', 1000).render(idle);
    expect(text).toContain('vllm:num_requests_running{model_name="my \\"model\\""} 2');
    expect(text).toContain('vllm:gpu_prefix_cache_hit_rate{model_name="my \\"model\\""} 0.4');
    expect(text).toContain('vllm:num_preemptions_total{model_name="my \\"model\\""} 3');
    expect(text).toContain('gpu_busy_time_ratio{model_name="my \\"model\\""} 0.5');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('observes request times in seconds into cumulative histograms', () => {
    const m = new EngineMetrics('m', 1000);
    m.observe({ arrival: 0, admitted: 10, firstToken: 30, finished: 530, promptTokens: 40, outputTokens: 11, finishReason: 'length' });
    m.observe({ arrival: 0, admitted: 0, firstToken: 3000, finished: 3000, promptTokens: 3, outputTokens: 1, finishReason: 'stop' });
    const text = m.render(idle);
    const line = (s: string) => text.split('\n').find((l) => l.startsWith(s));
    expect(line('vllm:time_to_first_token_seconds_bucket{model_name="m",le="0.04"}')).toMatch(/ 1$/);
    expect(line('vllm:time_to_first_token_seconds_bucket{model_name="m",le="5.0"}')).toMatch(/ 2$/);
    expect(line('vllm:time_to_first_token_seconds_bucket{model_name="m",le="+Inf"}')).toMatch(/ 2$/);
    expect(line('vllm:time_to_first_token_seconds_sum')).toBe('vllm:time_to_first_token_seconds_sum{model_name="m"} 3.03');
    expect(line('vllm:time_per_output_token_seconds_count')).toMatch(/ 1$/); // one-token answers have no TPOT
    expect(line('vllm:time_per_output_token_seconds_sum')).toBe('vllm:time_per_output_token_seconds_sum{model_name="m"} 0.05');
    expect(line('vllm:request_queue_time_seconds_sum')).toBe('vllm:request_queue_time_seconds_sum{model_name="m"} 0.01');
    expect(line('vllm:request_success_total{model_name="m",finished_reason="length"}')).toMatch(/ 1$/);
    expect(line('vllm:request_prompt_tokens_bucket{model_name="m",le="50.0"}')).toMatch(/ 2$/);
  });
});
