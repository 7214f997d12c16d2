import { afterEach, describe, expect, it } from 'vitest';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import { createEngineSet, type EngineSet, type NodeHealthView } from '../../../src/coordinator/engines/engine-set.js';
import type { ProbeFetch } from '../../../src/coordinator/engines/probe-http.js';
import { registerEngineRoutes } from '../../../src/coordinator/engines/routes.js';
import { parseEngineList } from '../../../src/coordinator/engines/static-engines.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

let app: BrixletServer | undefined;
let set: EngineSet | undefined;
afterEach(async () => {
  await app?.close();
  await set?.dispose();
});

const fetch: ProbeFetch = async (url) => {
  if (url.startsWith('http://10.0.0.2:8000')) return { status: 503, body: '' };
  if (url.endsWith('/v1/models')) return { status: 200, body: '{"object":"list","data":[{"id":"llama"}]}' };
  if (url.endsWith('/metrics')) return { status: 200, body: 'vllm:num_requests_running 2\nvllm:gpu_cache_usage_perc 0.5\n' };
  return { status: 200, body: '' };
};

describe('GET /v1/engines', () => {
  it('shows every engine with health, exclusion reason, models, GPU type, load and metrics', async () => {
    const nodes: NodeHealthView = { isRoutable: (node) => (node === 'n3' ? { ok: false, reason: 'node n3 is stale (no agent report for 31 s)' } : { ok: true }) };
    set = createEngineSet({
      specs: [...parseEngineList('http://10.0.0.1:8000#a100,http://10.0.0.2:8000'), { uid: 'pod-3', name: 'llama-3', url: 'http://10.0.0.3:8000', source: 'kube', node: 'n3', gpus: ['GPU-1'] }],
      nodes,
      log: silentLog,
      probeInterval: 60_000,
      fetch,
      now: () => Date.parse('2026-02-01T12:00:00Z'),
    });
    await set.probeNow();
    set.get('http://10.0.0.1:8000')!.load.inFlight = 2;
    app = await createServer({ name: 'control', title: 't', version: '1', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
    registerEngineRoutes(app, set);
    const res = await app.inject({ method: 'GET', url: '/v1/engines' });
    expect(res.statusCode).toBe(200);
    const { engines } = res.json<{ engines: Record<string, unknown>[] }>();
    expect(engines.map((e) => e.name)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000', 'llama-3']);
    expect(engines[0]).toEqual({
      uid: 'http://10.0.0.1:8000',
      name: '10.0.0.1:8000',
      url: 'http://10.0.0.1:8000',
      source: 'static',
      gpuType: 'a100',
      speed: { prefill: 0.55, decode: 0.64 },
      healthy: true,
      routable: true,
      models: ['llama'],
      probedAt: '2026-02-01T12:00:00.000Z',
      load: { inFlight: 2, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 },
      metrics: { at: '2026-02-01T12:00:00.000Z', running: 2, gpuCacheUsage: 0.5 },
    });
    expect(engines[1]).toMatchObject({ healthy: false, routable: false, excludedBecause: '/health 503', models: [], gpuType: 'h100' });
    expect(engines[1]).not.toHaveProperty('metrics');
    expect(engines[2]).toMatchObject({ source: 'kube', node: 'n3', gpus: ['GPU-1'], healthy: true, routable: false, excludedBecause: 'node n3 is stale (no agent report for 31 s)' });
  });
});
