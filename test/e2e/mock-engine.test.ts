// The built CLI's `brixlet mock-engine` (dist/mock-engine): answers OpenAI
// requests with model latency, drains on SIGTERM.
import { expect, it } from 'vitest';
import { firstLine, spawnBrixlet } from './cli-process.js';

it('brixlet mock-engine answers a streamed chat completion and exits 0 on SIGTERM', async () => {
  const s = spawnBrixlet(['mock-engine', '--port', '0', '--engines', '2', '--gpu', 'a10', '--time-scale', '100', '--json']);
  try {
    const urls = JSON.parse(await firstLine(s)) as Record<string, string>;
    expect(Object.keys(urls)).toEqual(['engine-0', 'engine-1']);
    const res = await fetch(`${urls['engine-0']}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'hello' }], max_tokens: 5, stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text.match(/^data: \{/gm)).toHaveLength(5);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const metrics = await (await fetch(`${urls['engine-0']}/metrics`)).text();
    expect(metrics).toMatch(/^vllm:generation_tokens_total\{model_name="mock-llama-3-8b"\} 5$/m);
  } finally {
    s.child.kill('SIGTERM');
  }
  expect(await s.exited).toEqual({ code: 0, signal: null });
});

it('brixlet mock-engine --gpu with an unknown profile exits 2 naming the profiles', async () => {
  const s = spawnBrixlet(['mock-engine', '--port', '0', '--gpu', 'b200']);
  expect((await s.exited).code).toBe(2);
  expect(s.stderr).toContain("unknown GPU profile 'b200'; profiles: h100, a100, l20, a10 [BRX_ERR_MOCK_ENGINE]");
});
