import { afterEach, describe, expect, it } from 'vitest';
import { startMockEngine, type RunningMockEngine } from '../../../src/mock-engine/index.js';
import { createEngineSet, type EngineSet } from '../../../src/coordinator/engines/engine-set.js';
import { parseModelCards, parseModelList } from '../../../src/coordinator/engines/prober.js';
import { parseEngineList } from '../../../src/coordinator/engines/static-engines.js';
import { silentLog } from '../../helpers/apps.js';

let engines: RunningMockEngine[] = [];
let set: EngineSet | undefined;
afterEach(async () => {
  await set?.dispose();
  set = undefined;
  await Promise.all(engines.map((e) => e.close()));
  engines = [];
});

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function setOver(list: RunningMockEngine[], probeInterval = 40): EngineSet {
  set = createEngineSet({ specs: parseEngineList(list.map((e) => `${e.url}#${e.profile.name}`).join(',')), log: silentLog, probeInterval });
  return set;
}

describe('the prober against real mock engines', () => {
  it('finds the models, drops an engine whose /health fails and takes it back when it recovers', async () => {
    engines = [await startMockEngine({ gpu: 'h100', seed: 1 }), await startMockEngine({ gpu: 'a100', seed: 2, servedModelNames: ['mock-llama-3-8b', 'llama-alias'] })];
    const s = setOver(engines);
    s.start();
    const [a, b] = engines as [RunningMockEngine, RunningMockEngine];
    await expect.poll(() => s.candidates('mock-llama-3-8b').engines.length).toBe(2);
    expect(s.models()).toEqual(['llama-alias', 'mock-llama-3-8b']);
    expect(s.get(b.url)).toMatchObject({ models: ['llama-alias', 'mock-llama-3-8b'], speed: { gpuType: 'a100' } });

    expect((await post(`${a.url}/admin/health`, { healthy: false })).status).toBe(200);
    await expect.poll(() => s.get(a.url)?.excludedBecause).toBe('/health 503');
    expect(s.candidates('mock-llama-3-8b').engines.map((e) => e.url)).toEqual([b.url]);

    await post(`${a.url}/admin/health`, { healthy: true });
    await expect.poll(() => s.candidates('mock-llama-3-8b').engines.length).toBe(2);
    expect(s.get(a.url)?.excludedBecause).toBeUndefined();
  });

  it('drops an engine that went away and uses it again when it comes back on its address', async () => {
    const first = await startMockEngine({ seed: 3 });
    engines = [first];
    const s = setOver(engines);
    s.start();
    await expect.poll(() => s.candidates('mock-llama-3-8b').engines.length).toBe(1);
    const state = s.get(first.url)!;
    await first.close();
    engines = [];
    await expect.poll(() => state.excludedBecause ?? '').toMatch(/^\/health: (connect ECONNREFUSED|other side closed|.*socket)/);
    expect(s.candidates('mock-llama-3-8b').reason).toMatch(/^1 engine serves mock-llama-3-8b, all excluded: 127\.0\.0\.1:\d+ \/health: /);
    engines = [await startMockEngine({ seed: 3, port: first.port })];
    await expect.poll(() => s.candidates('mock-llama-3-8b').engines.length, { timeout: 10_000 }).toBe(1);
    expect(s.get(first.url)).toBe(state); // the same uid: the same object
  });

  it('reads the vLLM metrics of a mock engine that served requests', async () => {
    const engine = await startMockEngine({ seed: 4, timeScale: 1000 });
    engines = [engine];
    const s = setOver(engines, 60_000);
    await s.probeNow();
    const idle = s.get(engine.url)!.metrics!;
    expect(idle).toMatchObject({ running: 0, waiting: 0, swapped: 0, gpuCacheUsage: 0, cpuCacheUsage: 0 });
    for (let i = 0; i < 5; i++) {
      const res = await post(`${engine.url}/v1/completions`, { model: 'mock-llama-3-8b', prompt: 'x'.repeat(400), max_tokens: 8 });
      expect(res.status).toBe(200);
      await res.json();
    }
    await s.probeNow();
    const m = s.get(engine.url)!.metrics!;
    expect(m.at).toBeGreaterThanOrEqual(idle.at);
    expect(m.avgPromptTokens).toBe(100); // 400 characters at 4 per token
    expect(m.avgGenerationTokens).toBe(8);
    expect(m.ttftMean).toBeGreaterThan(0);
    expect(m.e2eMean).toBeGreaterThan(m.ttftMean!);
    expect(m.prefillTimeMean).toBeGreaterThan(0);
    expect(m.decodeTimeMean).toBeGreaterThan(0);
    expect(m.queueTimeMean).toBeGreaterThanOrEqual(0);
    expect(m.prefixCacheHitRate).toBeGreaterThan(0); // the same prompt five times
    // Windowed over the last 10 s of model time (10 ms of wall time here): present, value timing-dependent.
    expect(m.busyTimeRatio).toBeGreaterThanOrEqual(0);
    expect(m.promptThroughput).toBeGreaterThanOrEqual(0);
    expect(m.generationThroughput).toBeGreaterThanOrEqual(0);
  });
});

describe('parseModelCards', () => {
  it('names the LoRA adapters: cards with a parent other than themselves (vLLM lists adapters so)', () => {
    const body = JSON.stringify({ object: 'list', data: [{ id: 'llama', parent: null }, { id: 'sql', parent: 'llama', root: '/adapters/sql' }, { id: 'self', parent: 'self' }] });
    expect(parseModelCards(body)).toEqual({ models: ['llama', 'self', 'sql'], adapters: ['sql'] });
    expect(parseModelCards('{"data":{}}')).toBeUndefined();
  });
});

describe('parseModelList', () => {
  it('takes the ids of an OpenAI model list, sorted and unique', () => {
    expect(parseModelList('{"object":"list","data":[{"id":"b"},{"id":"a"},{"id":"b"},{"id":""},{"x":1},null]}')).toEqual(['a', 'b']);
  });
  it('refuses anything else', () => {
    expect(parseModelList('not json')).toBeUndefined();
    expect(parseModelList('{"data":{}}')).toBeUndefined();
    expect(parseModelList('null')).toBeUndefined();
  });
});
