import { describe, expect, it } from 'vitest';
import { parseMockEngineArgs } from '../../../src/cli/commands/mock-engine.js';
import { GPU_PROFILES } from '../../../src/mock-engine/index.js';
import { cli, startCli } from '../../helpers/cli.js';
import { startService } from '../../helpers/services.js';
import { startTestShard } from '../../helpers/test-shard.js';

const args = (options: Record<string, string>) => ({ configFlags: {}, options, positionals: [] });

describe('brixlet mock-engine', () => {
  it('teaches in --help: profiles with their speeds (as the module defines them), admin hooks, metric names', async () => {
    const r = await cli(['mock-engine', '--help']);
    expect(r.code).toBe(0);
    for (const p of Object.values(GPU_PROFILES)) {
      const row = r.stdout.split('\n').find((l) => l.startsWith(`  ${p.name.padEnd(9)}`));
      expect(row, p.name).toBeDefined();
      const cells = (row as string).trim().split(/\s{2,}/);
      expect(cells).toEqual([p.name, p.description, p.speed.prefill.toFixed(2), p.speed.decode.toFixed(2), String(p.kvBlocks), p.costPerHour.toFixed(2)]);
    }
    for (const text of ['POST /admin/health', 'POST /admin/fail', '"midstream"', 'vllm:num_requests_running', 'vllm:time_to_first_token_seconds', 'gpu_busy_time_ratio', '--time-scale', '--log.level', '--kv-socket', '131072', 'Llama-3-8B', '--kv-scale', 'default 64', '--kv-load-gbps', 'PCIe Gen4 x16', 'brixlet_mock_engine_kv_']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('serves N engines, prints their URLs as JSON and stops on a signal', async () => {
    const svc = await startService(['mock-engine', '--port', '0', '--engines', '2', '--gpu', 'h100,a10', '--time-scale', 'inf', '--seed', '3']);
    expect(Object.keys(svc.urls)).toEqual(['engine-0', 'engine-1']);
    const stats = await Promise.all(Object.values(svc.urls).map(async (u) => (await fetch(`${u}/admin/stats`)).json() as Promise<{ gpu: string; name: string }>));
    expect(stats.map((s) => [s.name, s.gpu])).toEqual([
      ['engine-0', 'h100'],
      ['engine-1', 'a10'],
    ]);
    const res = await fetch(`${svc.urls['engine-1']}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(3);
    expect(await svc.stop()).toBe(0);
  });

  it('prints a human summary with the model, GPU and time scale', async () => {
    const run = startCli(['mock-engine', '--port', '0', '--model', 'm1', '--gpu', 'a100', '--time-scale', '50'], { BRIXLET_LOG_LEVEL: 'warn' });
    await expect.poll(() => run.stdout.text, { timeout: 10_000 }).toContain('Press Ctrl-C');
    const lines = run.stdout.text.split('\n');
    expect(lines[0]).toMatch(/^brixlet \S+ — mock engine$/);
    expect(lines[1]).toMatch(/^ {2}engine {3}http:\/\/127\.0\.0\.1:\d+ +a100, seed 0, 50× time, model m1 /);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(await run.code).toBe(0);
  });

  it('rejects an unknown --gpu with BRX_ERR_MOCK_ENGINE naming the profiles', async () => {
    const r = await cli(['mock-engine', '--port', '0', '--gpu', 'h100,v100', '--engines', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown GPU profile 'v100'; profiles: h100, a100, l20, a10");
    expect(r.stderr).toContain('[BRX_ERR_MOCK_ENGINE]');
  });

  it('attaches to a KV shard with --kv-socket: offloads what it prefilled, with the flags it was given', async () => {
    const shard = await startTestShard({ 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB' });
    try {
      const svc = await startService(['mock-engine', '--port', '0', '--time-scale', 'inf', '--kv-socket', shard.service.socketPath, '--kv-namespace', 'ns-1', '--kv-scale', '128', '--kv-load-gbps', '12.5']);
      const res = await fetch(`${svc.urls.engine}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-llama-3-8b', prompt: 'abcd'.repeat(80), max_tokens: 1 }) });
      expect(res.status).toBe(200);
      const kv = async () => ((await (await fetch(`${svc.urls.engine}/admin/stats`)).json()) as { kv: { namespace: string; scale: number; loadGbps: number; writtenBlockBytes: number; offloadBlocks: number } }).kv;
      await expect.poll(async () => (await kv()).offloadBlocks).toBe(5);
      expect(await kv()).toMatchObject({ namespace: 'ns-1', scale: 128, loadGbps: 12.5, writtenBlockBytes: (131072 * 16) / 128 });
      expect(await svc.stop()).toBe(0);
    } finally {
      await shard.stop();
    }
  });

  it('publishes KV events with --kv-events-config (vLLM\'s JSON)', async () => {
    const svc = await startService(['mock-engine', '--port', '0', '--time-scale', 'inf', '--kv-events-config', '{"enable_kv_cache_events":true,"endpoint":"tcp://127.0.0.1:0","topic":"kv@t"}']);
    await fetch(`${svc.urls.engine}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-llama-3-8b', prompt: 'abcd'.repeat(80), max_tokens: 1 }) });
    const stats = (await (await fetch(`${svc.urls.engine}/admin/stats`)).json()) as { kvEvents?: { batches: number; events: number } };
    expect(stats.kvEvents).toMatchObject({ batches: 1, events: 5 });
    expect(await svc.stop()).toBe(0);
  });

  it('reports a busy port as BRX_ERR_HTTP_LISTEN', async () => {
    const svc = await startService(['mock-engine', '--port', '0']);
    const port = new URL(svc.urls.engine as string).port;
    const r = await cli(['mock-engine', '--port', port]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[BRX_ERR_HTTP_LISTEN]');
    expect(await svc.stop()).toBe(0);
  });
});

describe('parseMockEngineArgs', () => {
  it('applies defaults', () => {
    expect(parseMockEngineArgs(args({}))).toEqual({ host: '127.0.0.1', port: 8000, model: 'mock-llama-3-8b', servedModelNames: undefined, gpus: ['h100'], seed: 0, timeScale: 1, engines: 1, apiKey: undefined, kvEvents: {}, kv: { socket: '', namespace: undefined, bytesPerToken: 131072, scale: 64, loadGbps: 25 } });
  });

  it('reads lists, inf and numbers', () => {
    expect(parseMockEngineArgs(args({ gpu: 'h100, a10', 'served-model-name': 'a,b', 'time-scale': 'inf', engines: '4', seed: '9', port: '0' }))).toMatchObject({
      gpus: ['h100', 'a10'],
      servedModelNames: ['a', 'b'],
      timeScale: Infinity,
      engines: 4,
      seed: 9,
      port: 0,
    });
    expect(parseMockEngineArgs(args({ 'time-scale': '2.5' })).timeScale).toBe(2.5);
    expect(parseMockEngineArgs(args({ 'kv-events-config': '{"enable_kv_cache_events":true,"replay_endpoint":"tcp://*:5558"}' })).kvEvents).toEqual({ kvEventsEndpoint: 'tcp://*:5557', kvEventsReplayEndpoint: 'tcp://*:5558', kvEventsTopic: '' });
  });

  it('rejects bad values with BRX_ERR_CLI_USAGE', () => {
    for (const [k, v] of [['port', '70000'], ['engines', '0'], ['engines', 'two'], ['seed', '-1'], ['time-scale', '0'], ['time-scale', 'fast'], ['gpu', 'h100,,a10'], ['kv-scale', '0'], ['kv-load-gbps', 'fast'], ['kv-bytes-per-token', '-1'], ['kv-namespace', ' '], ['kv-events-config', '{"enable_kv_cache_events":true,"publisher":"nats"}'], ['kv-events-config', 'nope']] as const) {
      expect(() => parseMockEngineArgs(args({ [k]: v })), `${k}=${v}`).toThrow(expect.objectContaining({ code: 'BRX_ERR_CLI_USAGE' }));
    }
  });
});
