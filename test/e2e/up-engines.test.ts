// The built `brixlet up --engines 4`, spawned as a user runs it: a chat completion through the
// gateway is answered by one of the mock engines, the choice visible in the response headers and,
// at debug level, in the log.
import { describe, expect, it } from 'vitest';
import { firstLine, spawnBrixlet } from './cli-process.js';

const EPHEMERAL = ['--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--no-kv.enabled'];

describe('brixlet up --engines 4 (built, spawned)', () => {
  it('answers a chat completion through the gateway with the routing decision in its headers', async () => {
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--engines', '4', '--engine-gpus', 'h100,a10', '--engine-time-scale', '100', '--log.level', 'debug', '--json']);
    try {
      const urls = JSON.parse(await firstLine(p)) as Record<string, string>;
      // h100 and a10 have shipped profiles: the GPU optimizer plans over them and its URLs come last.
      expect(Object.keys(urls)).toEqual(['gateway', 'control', 'agent', 'engine-0', 'engine-1', 'engine-2', 'engine-3', 'optimizer', 'optimizerExplain']);

      const res = await fetch(`${urls.gateway}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 8 }),
      });
      expect(res.status).toBe(200);
      const target = res.headers.get('x-brixlet-target');
      expect(target).toMatch(/^engine-[0-3]$/);
      expect(res.headers.get('x-brixlet-policy')).toBe('cost');
      expect(res.headers.get('target-pod')).toBe(new URL(urls[target as string] as string).host);
      const body = (await res.json()) as { object: string; choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
      expect(body.object).toBe('chat.completion');
      expect(body.usage.completion_tokens).toBe(8);

      const engines = ((await (await fetch(`${urls.control}/v1/engines`)).json()) as { engines: { name: string; source: string; gpuType: string; routable: boolean }[] }).engines;
      expect(engines.map((e) => [e.name, e.source, e.gpuType, e.routable])).toEqual([
        ['engine-0', 'up', 'h100', true],
        ['engine-1', 'up', 'a10', true],
        ['engine-2', 'up', 'h100', true],
        ['engine-3', 'up', 'a10', true],
      ]);
      // The decision explains itself at debug level.
      const deadline = Date.now() + 15_000; // only a hang: the log line is written asynchronously
      while (!p.stderr.includes('"msg":"routed"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const routed = p.stderr.split('\n').find((l) => l.includes('"msg":"routed"'));
      expect(JSON.parse(routed ?? '{}')).toMatchObject({ level: 20, policy: 'cost', engine: target, reason: expect.stringMatching(/\S/) });
    } finally {
      p.child.kill('SIGTERM');
    }
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.stderr).not.toMatch(/"level":(50|60)/);
  });

  it('on SIGTERM ends a stream longer than the drain time with an error event and [DONE], then exits 0', async () => {
    // Model time 5× slower than wall time: 5000 tokens take far longer than the 2 s drain.
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--engines', '1', '--engine-time-scale', '0.2', '--shutdown.timeout', '2s', '--json']);
    let signalled = false;
    try {
      const urls = JSON.parse(await firstLine(p)) as Record<string, string>;
      const res = await fetch(`${urls.gateway}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-llama-3-8b', prompt: 'a long story', max_tokens: 5000, stream: true }),
      });
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = decoder.decode((await reader.read()).value);
      p.child.kill('SIGTERM');
      signalled = true;
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
      const events = text.split('\n\n').filter(Boolean);
      expect(events.at(-1)).toBe('data: [DONE]');
      expect(JSON.parse((events.at(-2) as string).slice('data: '.length))).toMatchObject({ error: { code: 'BRX_ERR_GATEWAY_SHUTTING_DOWN', type: 'server_error' } });
    } finally {
      // A second signal would exit at once (130): send one only if the test failed before its own.
      if (!signalled) p.child.kill('SIGTERM');
    }
    // 0: with the open stream ended before the deadline, the drain completed in time.
    expect((await p.exited).code).toBe(0);
    expect(p.stderr).toContain('"msg":"shutdown complete"');
  });

  it('rejects bad engine flags before starting anything', async () => {
    const cases: [string[], string][] = [
      [['--engines', 'many'], "--engines must be a whole number from 0 to 64, got 'many' [BRX_ERR_CLI_USAGE]"],
      [['--engines', '2', '--engine-time-scale', '0'], "--engine-time-scale must be a positive number or inf, got '0' [BRX_ERR_CLI_USAGE]"],
      [['--engines', '2', '--engine-gpus', 'h100,b200'], "unknown GPU profile 'b200'; profiles: h100, a100, l20, a10 [BRX_ERR_MOCK_ENGINE]"],
    ];
    for (const [flags, message] of cases) {
      const p = spawnBrixlet(['up', ...EPHEMERAL, ...flags]);
      const { code } = await p.exited;
      expect({ flags, code }).toEqual({ flags, code: 2 });
      expect(p.stderr).toContain(message);
    }
  });
});
