import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockEngine, startMockEngines, type RunningMockEngine } from '../../src/mock-engine/index.js';
import { havePromtool, promtoolLint, promtoolSkipNote } from '../helpers/promtool.js';

const engines: RunningMockEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function engine(opts: Parameters<typeof startMockEngine>[0] = {}): Promise<RunningMockEngine> {
  const e = await startMockEngine({ timeScale: Infinity, ...opts });
  engines.push(e);
  return e;
}

function post(e: RunningMockEngine, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${e.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), ...(signal && { signal }) });
}

/** The `data:` payloads of an SSE body. */
function events(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((b) => b !== '')
    .map((b) => {
      expect(b.startsWith('data: ')).toBe(true);
      return b.slice(6);
    });
}

async function metricValue(e: RunningMockEngine, series: string): Promise<number> {
  const text = await (await fetch(`${e.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `) || l.startsWith(`${series}{`));
  if (line === undefined) throw new Error(`no ${series} in scrape`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('startMockEngine', () => {
  it('lists its served models', async () => {
    const e = await engine({ model: 'llama', servedModelNames: ['llama', 'alias'] });
    const body = (await (await fetch(`${e.url}/v1/models`)).json()) as { object: string; data: { id: string; object: string; root: string }[] };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => [m.id, m.object, m.root])).toEqual([
      ['llama', 'model', 'llama'],
      ['alias', 'model', 'llama'],
    ]);
  });

  it('answers a completion with an OpenAI body: max_tokens tokens, finish length, usage from the prompt', async () => {
    const e = await engine({ name: 'e1' });
    const r = await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'x'.repeat(41), max_tokens: 5 });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/json');
    const b = (await r.json()) as { id: string; object: string; created: number; model: string; choices: { index: number; text: string; finish_reason: string }[]; usage: Record<string, number> };
    expect(b).toMatchObject({ object: 'text_completion', model: 'mock-llama-3-8b', usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 } });
    expect(b.id).toMatch(/^cmpl-e1-\d+$/);
    expect(b.created).toBeGreaterThan(1_600_000_000);
    expect(b.choices).toHaveLength(1);
    expect(b.choices[0]).toMatchObject({ index: 0, finish_reason: 'length' });
    expect(b.choices[0]?.text.split(' ')).toHaveLength(5);
  });

  it('answers a chat completion with an assistant message; without max_tokens it stops after a seeded length', async () => {
    const e = await engine();
    const r = await post(e, '/v1/chat/completions', { model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'hello' }] });
    const b = (await r.json()) as { object: string; choices: { message: { role: string; content: string }; finish_reason: string }[]; usage: { completion_tokens: number } };
    expect(b.object).toBe('chat.completion');
    expect(b.choices[0]?.message.role).toBe('assistant');
    expect(b.choices[0]?.finish_reason).toBe('stop');
    expect(b.usage.completion_tokens).toBeGreaterThanOrEqual(16);
    expect(b.usage.completion_tokens).toBeLessThanOrEqual(256);
    expect(b.choices[0]?.message.content.split(' ')).toHaveLength(b.usage.completion_tokens);
  });

  it('is deterministic per seed and request order', async () => {
    const answers = async (seed: number) => {
      const e = await engine({ seed });
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const b = (await (await post(e, '/v1/chat/completions', { model: 'mock-llama-3-8b', messages: [{ role: 'user', content: `q${i}` }] })).json()) as { choices: { message: { content: string } }[] };
        out.push(b.choices[0]?.message.content ?? '');
      }
      return out;
    };
    const a = await answers(7);
    expect(await answers(7)).toEqual(a);
    expect(await answers(8)).not.toEqual(a);
  });

  it('streams one SSE chunk per token, finish_reason on the last, a usage chunk when asked, then [DONE]', async () => {
    const e = await engine();
    const r = await post(e, '/v1/chat/completions', { model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const ev = events(await r.text());
    expect(ev.at(-1)).toBe('[DONE]');
    const chunks = ev.slice(0, -1).map((d) => JSON.parse(d) as { object: string; choices: { delta: { role?: string; content: string }; finish_reason: string | null }[]; usage?: Record<string, number> });
    expect(chunks).toHaveLength(5);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.slice(0, 4).map((c) => c.choices[0]?.finish_reason)).toEqual([null, null, null, 'length']);
    expect(chunks[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }); // '<|user|>hi\n' = 11 chars

    const c = await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'abc', max_tokens: 3, stream: true });
    const cev = events(await c.text());
    expect(cev).toHaveLength(4);
    const texts = cev.slice(0, 3).map((d) => (JSON.parse(d) as { object: string; choices: { text: string }[] }).choices[0]?.text);
    expect(texts.join('').split(' ')).toHaveLength(3);
    expect(cev.some((d) => d.includes('"usage"'))).toBe(false);
  });

  it('works with the official openai client: chat, completions, streams, model list, errors', async () => {
    const e = await engine({ timeScale: 50, apiKey: 'k' });
    const client = new OpenAI({ baseURL: `${e.url}/v1`, apiKey: 'k', maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['mock-llama-3-8b']);
    const chat = await client.chat.completions.create({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    expect(chat.choices[0]?.message.content?.split(' ')).toHaveLength(4);
    expect(chat.usage?.completion_tokens).toBe(4);
    const stream = await client.chat.completions.create({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.split(' ')).toHaveLength(6);
    expect(usage?.completion_tokens).toBe(6);
    const comp = await client.completions.create({ model: 'mock-llama-3-8b', prompt: 'once upon', max_tokens: 3, stream: true });
    let n = 0;
    for await (const c of comp) n += c.choices.length;
    expect(n).toBe(3);
    await expect(client.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers bad requests with OpenAI-style errors: 400, 404, 413, 401', async () => {
    const e = await engine({ maxBodyBytes: 1000, maxModelLen: 100 });
    const check = async (r: Response, status: number, code: string, param?: string) => {
      expect(r.status).toBe(status);
      const b = (await r.json()) as { error: { message: string; type: string; param: string | null; code: string } };
      expect(b.error.code).toBe(code);
      expect(typeof b.error.message).toBe('string');
      expect(typeof b.error.type).toBe('string');
      if (param !== undefined) expect(b.error.param).toBe(param);
    };
    await check(await post(e, '/v1/chat/completions', '{"model": '), 400, 'invalid_json');
    await check(await post(e, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] }), 400, 'missing_field', 'model');
    await check(await post(e, '/v1/chat/completions', { model: 'mock-llama-3-8b' }), 400, 'missing_field', 'messages');
    await check(await post(e, '/v1/completions', { model: 'mock-llama-3-8b' }), 400, 'missing_field', 'prompt');
    await check(await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'x', max_tokens: 0 }), 400, 'invalid_value', 'max_tokens');
    await check(await post(e, '/v1/completions', { model: 'gpt-nope', prompt: 'x' }), 404, 'model_not_found', 'model');
    await check(await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'x', max_tokens: 200 }), 400, 'context_length_exceeded');
    await check(await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'x'.repeat(2000) }), 413, 'request_too_large');
    await check(await fetch(`${e.url}/v2/nothing`), 404, 'not_found');
    const auth = await engine({ apiKey: 'sekret' });
    await check(await post(auth, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'x' }), 401, 'invalid_api_key');
    expect((await post(auth, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'x' }, { authorization: 'Bearer sekret' })).status).toBe(200);
  });

  it('takes its latency from the model (scaled by timeScale) and reports model seconds in /metrics', async () => {
    // h100: prefill 100 tokens, then 99 decode steps of 5.8 + 0.08 ms ≈ 0.59 s of model time.
    const body = { model: 'mock-llama-3-8b', prompt: 'x'.repeat(400), max_tokens: 100 };
    // Virtual time (no clock): the model's seconds exactly, whatever the machine's load.
    const v = await engine({ timeScale: Infinity });
    await (await post(v, '/v1/completions', body)).json();
    const e2e = await metricValue(v, 'vllm:e2e_request_latency_seconds_sum');
    expect(e2e).toBeGreaterThan(0.55);
    expect(e2e).toBeLessThan(0.65);
    expect(await metricValue(v, 'vllm:time_to_first_token_seconds_sum')).toBeCloseTo((5.8 + 100 * 0.07) / 1000, 4);
    // On the wall clock at 20×: never faster than the model allows (≈ 30 ms); a busy machine only adds.
    const e = await engine({ timeScale: 20 });
    const t0 = performance.now();
    await (await post(e, '/v1/completions', body)).json();
    expect(performance.now() - t0).toBeGreaterThan(25);
    expect(await metricValue(e, 'vllm:e2e_request_latency_seconds_sum')).toBeGreaterThan(0.55);
  });

  it('exports vLLM metric names that move with requests, and the scrape lints clean', async () => {
    const e = await engine();
    const system = 'You are a helpful assistant. '.repeat(40);
    for (const q of ['one', 'two']) {
      await (await post(e, '/v1/chat/completions', { model: 'mock-llama-3-8b', messages: [{ role: 'system', content: system }, { role: 'user', content: q }], max_tokens: 2 })).json();
    }
    const text = await (await fetch(`${e.url}/metrics`)).text();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:num_requests_swapped',
      'vllm:gpu_cache_usage_perc',
      'vllm:cpu_cache_usage_perc',
      'vllm:avg_prompt_throughput_toks_per_s',
      'vllm:avg_generation_throughput_toks_per_s',
      'vllm:gpu_prefix_cache_hit_rate',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
      'vllm:num_preemptions_total',
      'vllm:time_to_first_token_seconds',
      'vllm:e2e_request_latency_seconds',
      'vllm:request_queue_time_seconds',
      'vllm:request_prefill_time_seconds',
      'vllm:request_decode_time_seconds',
      'vllm:request_prompt_tokens',
      'vllm:request_generation_tokens',
      'gpu_busy_time_ratio',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('vllm:time_to_first_token_seconds_bucket{model_name="mock-llama-3-8b",le="0.001"}');
    expect(await metricValue(e, 'vllm:generation_tokens_total')).toBe(4);
    expect(await metricValue(e, 'vllm:e2e_request_latency_seconds_count')).toBe(2);
    // The second request reused the shared system prompt from the engine's prefix cache.
    expect(await metricValue(e, 'vllm:prefix_cache_hits_total')).toBeGreaterThan(200);
    expect(await metricValue(e, 'vllm:gpu_prefix_cache_hit_rate')).toBeGreaterThan(0.3);
    if (havePromtool) {
      // vLLM's own names break two lint rules by design (a colon, "toks"); clients match them as they are.
      const lint = promtoolLint(text);
      expect(lint.status).not.toBe(1);
      const vllmStyle = ["metric names should not contain ':'", 'metric names should not contain abbreviated units'];
      expect(lint.findings.filter((f) => !(f.name.startsWith('vllm:') && vllmStyle.includes(f.problem)))).toEqual([]);
    } else {
      console.warn(`promtool lint${promtoolSkipNote}`);
    }
  });

  it('flips /health through /admin/health and setHealthy', async () => {
    const e = await engine();
    expect((await fetch(`${e.url}/health`)).status).toBe(200);
    expect((await post(e, '/admin/health', { healthy: false })).status).toBe(200);
    expect((await fetch(`${e.url}/health`)).status).toBe(503);
    expect(e.stats().healthy).toBe(false);
    e.setHealthy(true);
    expect((await fetch(`${e.url}/health`)).status).toBe(200);
    expect((await post(e, '/admin/health', { healthy: 'no' })).status).toBe(400);
  });

  it('fails the next N requests as armed through /admin/fail: status, reset, midstream', async () => {
    const e = await engine();
    const body = { model: 'mock-llama-3-8b', prompt: 'hello', max_tokens: 8 };
    expect((await post(e, '/admin/fail', { mode: 'status', status: 503, count: 2 })).status).toBe(200);
    expect(e.stats().pendingFailures).toBe(2);
    expect((await post(e, '/v1/completions', body)).status).toBe(503);
    expect((await post(e, '/v1/completions', body)).status).toBe(503);
    expect((await post(e, '/v1/completions', body)).status).toBe(200);

    await post(e, '/admin/fail', { mode: 'reset' });
    await expect(post(e, '/v1/completions', body)).rejects.toThrow();
    expect((await post(e, '/v1/completions', body)).status).toBe(200);

    await post(e, '/admin/fail', { mode: 'midstream' });
    const r = await post(e, '/v1/completions', { ...body, stream: true });
    expect(r.status).toBe(200);
    let got = '';
    const read = async () => {
      const reader = (r.body as ReadableStream<Uint8Array>).getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        got += dec.decode(value);
      }
    };
    await expect(read()).rejects.toThrow();
    expect(got).toContain('data: {');
    expect(got).not.toContain('[DONE]');

    await post(e, '/admin/fail', { mode: 'midstream' });
    await expect(post(e, '/v1/completions', body).then((x) => x.json())).rejects.toThrow();
    expect(e.stats()).toMatchObject({ injectedFailures: 5, pendingFailures: 0 });

    expect((await post(e, '/admin/fail', { mode: 'explode' })).status).toBe(400);
    await post(e, '/admin/fail', { mode: 'status', count: 3 });
    await post(e, '/admin/fail', { mode: 'none' });
    expect((await post(e, '/v1/completions', body)).status).toBe(200);
  });

  it('aborts the request in the model when the client goes away', async () => {
    const e = await engine({ timeScale: 1 });
    const ac = new AbortController();
    const r = await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'hi', max_tokens: 10_000, stream: true }, {}, ac.signal);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the first token is out
    expect(e.stats().model.running).toBe(1);
    ac.abort();
    await expect.poll(() => e.stats().aborted, { timeout: 10_000 }).toBe(1);
    expect(e.stats()).toMatchObject({ active: 0, model: { running: 0, waiting: 0, kvUsage: 0 } });
  });

  it('reports single-request latencies in the zero-latency mode too', async () => {
    const e = await engine({ latency: false });
    for (let i = 0; i < 3; i++) await (await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: String(i).repeat(400), max_tokens: 1 })).json();
    // Each request alone on the engine, no shared prefix: TTFT = E2E = one 100-token prefill step.
    expect(await metricValue(e, 'vllm:e2e_request_latency_seconds_sum')).toBeCloseTo((3 * (5.8 + 100 * 0.07)) / 1000, 6);
  });

  it('gives the same bodies with and without latency', async () => {
    const body = { model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'same' }], max_tokens: 6 };
    const strip = (b: Record<string, unknown>) => ({ ...b, id: undefined, created: undefined });
    const fast = await engine({ latency: false });
    const slow = await engine({ timeScale: 100 });
    const a = (await (await post(fast, '/v1/chat/completions', body)).json()) as Record<string, unknown>;
    const b = (await (await post(slow, '/v1/chat/completions', body)).json()) as Record<string, unknown>;
    expect(strip(a)).toEqual(strip(b));
    expect(fast.timeScale).toBe(Infinity);
  });

  it('close() ends an open stream with an error event and releases the port', async () => {
    const e = await startMockEngine({ timeScale: 1 });
    const r = await post(e, '/v1/completions', { model: 'mock-llama-3-8b', prompt: 'hi', max_tokens: 10_000, stream: true });
    const text = r.text();
    await expect.poll(() => e.stats().model.running).toBe(1);
    await e.close();
    const got = await text;
    expect(got).toContain('engine_shutting_down');
    expect(got).not.toContain('[DONE]');
    await expect(fetch(`${e.url}/health`)).rejects.toThrow();
  });

  it('rejects an unknown GPU profile naming the valid ones', async () => {
    await expect(startMockEngine({ gpu: 'v100' })).rejects.toThrow(/unknown GPU profile 'v100'; profiles: h100, a100, l20, a10/);
  });
});

describe('startMockEngines', () => {
  it('starts N engines on consecutive seeds with the GPU list cycled', async () => {
    const list = await startMockEngines(3, { gpus: ['h100', 'a10'], seed: 5, timeScale: Infinity, name: 'fleet' });
    engines.push(...list);
    expect(list.map((e) => [e.name, e.profile.name, e.seed])).toEqual([
      ['fleet-0', 'h100', 5],
      ['fleet-1', 'a10', 6],
      ['fleet-2', 'h100', 7],
    ]);
    expect(new Set(list.map((e) => e.port)).size).toBe(3);
    for (const e of list) expect((await fetch(`${e.url}/health`)).status).toBe(200);
  });

  it('closes the engines it started when one fails', async () => {
    await expect(startMockEngines(2, { gpus: ['h100', 'tpu'] })).rejects.toThrow(/unknown GPU profile 'tpu'/);
  });
});
