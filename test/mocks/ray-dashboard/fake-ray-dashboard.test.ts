import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeRayDashboard, type FakeRayDashboard } from '../../../mocks/ray-dashboard/index.js';

// The fake's raw answers, read with plain fetch: the shapes the real dashboard gives, so the client
// tests prove something about Ray and not only about the fake.
let fake: FakeRayDashboard;
beforeEach(async () => {
  fake = await startFakeRayDashboard({ nodes: 2, gpusPerNode: 8, headGpus: 4, now: () => 1_700_000_000_000 });
});
afterEach(async () => {
  await fake.close();
});

async function get(path: string, init?: RequestInit) {
  const res = await fetch(fake.url + path, init);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

describe('fake Ray dashboard', () => {
  it('answers gcs_healthz as text, 503 when the GCS is down', async () => {
    expect(await get('/api/gcs_healthz')).toMatchObject({ status: 200, text: 'success' });
    fake.setGcsHealthy(false);
    expect((await get('/api/gcs_healthz')).status).toBe(503);
  });

  it('answers cluster_status in the dashboard envelope, camelCasing keys except inside tuples', async () => {
    fake.setGpusUsed(6);
    const res = await get('/api/cluster_status');
    expect(res.type).toContain('application/json');
    const body = JSON.parse(res.text) as {
      result: boolean;
      data: { autoscalingError: null; clusterStatus: { loadMetricsReport: { usage: Record<string, [number, number]>; nodeTypes: [Record<string, number>, number][] } } };
    };
    expect(body.result).toBe(true);
    const lm = body.data.clusterStatus.loadMetricsReport;
    expect(lm.usage['GPU']).toEqual([6, 12]);
    expect(lm.usage['objectStoreMemory']).toBeDefined();
    expect(lm.usage['node:InternalHead']).toEqual([0, 1]);
    expect(lm.nodeTypes).toHaveLength(2);
    expect(lm.nodeTypes[0]![0]['object_store_memory']).toBeGreaterThan(0);
    expect(lm.nodeTypes[0]![0]['node:10.0.0.1']).toBe(1);
    expect(body.data).not.toHaveProperty('clusterStatus.autoscalerReport');
  });

  it('keeps dead nodes in the state API and drops them from the report', async () => {
    fake.setAliveNodes(1);
    expect(fake.aliveNodes).toBe(1);
    const nodes = JSON.parse((await get('/api/v0/nodes?limit=100')).text) as { data: { result: { total: number; result: { state: string; is_head_node: boolean; end_time_ms: number }[] } } };
    expect(nodes.data.result.total).toBe(2);
    expect(nodes.data.result.result.map((n) => [n.is_head_node, n.state])).toEqual([
      [true, 'ALIVE'],
      [false, 'DEAD'],
    ]);
    expect(nodes.data.result.result[1]!.end_time_ms).toBe(1_700_000_000_000);
    const status = JSON.parse((await get('/api/cluster_status')).text) as { data: { clusterStatus: { loadMetricsReport: { nodeTypes: unknown[] } } } };
    expect(status.data.clusterStatus.loadMetricsReport.nodeTypes).toHaveLength(1);
    fake.setAliveNodes(3);
    expect(fake.aliveNodes).toBe(3);
    const after = JSON.parse((await get('/api/v0/nodes')).text) as { data: { result: { total: number } } };
    expect(after.data.result.total).toBe(4);
  });

  it('answers clusterStatus null before the first report', async () => {
    fake.setReportReady(false);
    const body = JSON.parse((await get('/api/cluster_status')).text) as { data: { clusterStatus: unknown } };
    expect(body.data.clusterStatus).toBeNull();
  });

  it('moves jobs one step per advance and refuses a duplicate submission_id with 500', async () => {
    const submit = (id: string) => get('/api/jobs/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entrypoint: 'true', submission_id: id }) });
    expect(JSON.parse((await submit('a')).text)).toEqual({ job_id: 'a', submission_id: 'a' });
    const dup = await submit('a');
    expect(dup.status).toBe(500);
    expect(dup.text).toContain('Please use a different submission_id');
    expect(fake.advanceJobs()).toBe(1);
    expect(fake.job('a')?.status).toBe('RUNNING');
    expect(fake.advanceJobs()).toBe(1);
    expect(fake.job('a')).toMatchObject({ status: 'SUCCEEDED', end_time: 1_700_000_000_000 });
    expect(fake.advanceJobs()).toBe(0);
    expect((await get('/api/jobs/missing')).status).toBe(404);
    expect((await get('/api/jobs/', { method: 'POST', body: '{}' })).status).toBe(400);
  });

  it('records requests, injects failures a given number of times and 404s unknown paths', async () => {
    fake.failNext('/api/version', 502, 'bad gateway', 2);
    expect((await get('/api/version')).status).toBe(502);
    expect((await get('/api/version?x=1')).status).toBe(502);
    expect((await get('/api/version')).status).toBe(200);
    expect((await get('/api/serve/applications/')).status).toBe(404);
    expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.query}`)).toEqual([
      'GET /api/version ',
      'GET /api/version x=1',
      'GET /api/version ',
      'GET /api/serve/applications/ ',
    ]);
  });

  it('holds stalled requests until unstall, and close() ends the ones still held', async () => {
    fake.stall('/api/cluster_status');
    const ac = new AbortController();
    const held = fetch(`${fake.url}/api/cluster_status`, { signal: ac.signal }).then(
      () => 'answered',
      () => 'aborted',
    );
    await expect.poll(() => fake.requests.length).toBe(1);
    fake.unstall();
    expect((await get('/api/cluster_status')).status).toBe(200);
    fake.stall('/api/version');
    const cut = fetch(`${fake.url}/api/version`).then(
      () => 'answered',
      () => 'cut',
    );
    await expect.poll(() => fake.requests.length).toBe(3);
    ac.abort();
    await expect(held).resolves.toBe('aborted');
    await fake.close();
    await expect(cut).resolves.toBe('cut');
    fake = await startFakeRayDashboard();
  });
});
