import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { createRayDashboardClient, type RayDashboardClient } from '../../../src/coordinator/orchestrator/ray-dashboard.js';
import { startFakeRayDashboard, type FakeRayDashboard } from '../../../mocks/ray-dashboard/index.js';
import { freePort } from '../../helpers/ports.js';

let fake: FakeRayDashboard;
let client: RayDashboardClient;

beforeEach(async () => {
  fake = await startFakeRayDashboard({ nodes: 2, gpusPerNode: 8 });
  client = createRayDashboardClient({ baseUrl: `${fake.url}/`, timeoutMs: 2000 });
});
afterEach(async () => {
  await client.dispose();
  await fake.close();
});

/** The BrixletError a promise rejects with (fails the test when it resolves or throws something else). */
async function failure(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isBrixletError(err)) throw new Error(`expected a BrixletError, got ${String(err)}`);
  return err;
}

describe('Ray dashboard client: cluster', () => {
  it('reads GCS health', async () => {
    await expect(client.gcsHealthz()).resolves.toBe(true);
    fake.setGcsHealthy(false);
    await expect(client.gcsHealthz()).resolves.toBe(false);
    fake.failNext('/api/gcs_healthz', 200, '<html>proxy</html>');
    const err = await failure(client.gcsHealthz());
    expect(err.code).toBe('BRX_ERR_RAY_BAD_RESPONSE');
    expect(err.message).toContain('expected "success"');
  });

  it('counts alive nodes and GPUs from cluster_status, following node loss', async () => {
    await expect(client.clusterStatus()).resolves.toEqual({ aliveNodes: 2, gpusTotal: 16, gpusUsed: 0, source: 'cluster_status' });
    fake.setGpusUsed(16);
    fake.setAliveNodes(3);
    await expect(client.clusterStatus()).resolves.toMatchObject({ aliveNodes: 3, gpusTotal: 24, gpusUsed: 16 });
    fake.setAliveNodes(1);
    await expect(client.clusterStatus()).resolves.toMatchObject({ aliveNodes: 1, gpusTotal: 8, gpusUsed: 8 });
  });

  it('reports pending and failed nodes and the autoscaling error when an autoscaler runs', async () => {
    await fake.close();
    fake = await startFakeRayDashboard({ nodes: 1, gpusPerNode: 8, autoscaler: true });
    await client.dispose();
    client = createRayDashboardClient({ baseUrl: fake.url });
    fake.setAutoscalerNodes(1, 2);
    fake.setAutoscalingError('no capacity for gpu-group');
    await expect(client.clusterStatus()).resolves.toEqual({
      aliveNodes: 1,
      pendingNodes: 1,
      failedNodes: 2,
      gpusTotal: 8,
      gpusUsed: 0,
      autoscalingError: 'no capacity for gpu-group',
      source: 'cluster_status',
    });
  });

  it('falls back to the state API before the first autoscaler report', async () => {
    fake.setReportReady(false);
    fake.setAliveNodes(3);
    fake.setAliveNodes(2); // one dead node stays in the state API's list
    await expect(client.clusterStatus()).resolves.toEqual({ aliveNodes: 2, gpusTotal: 16, source: 'nodes' });
    expect(fake.requests.map((r) => r.path).slice(-2)).toEqual(['/api/cluster_status', '/api/v0/nodes']);
  });

  it('lists nodes, dead ones included', async () => {
    fake.setAliveNodes(1);
    const nodes = await client.nodes();
    expect(nodes).toHaveLength(2);
    expect(nodes[0]).toMatchObject({ isHead: true, state: 'ALIVE', gpus: 8, nodeIp: '10.0.0.1' });
    expect(nodes[0]!.nodeId).toMatch(/^[0-9a-f]{56}$/);
    expect(nodes[1]).toMatchObject({ isHead: false, state: 'DEAD' });
    expect(nodes[0]!.resources['CPU']).toBe(32);
  });

  it('reads the version', async () => {
    await expect(client.version()).resolves.toMatchObject({ version: '4', rayVersion: '2.40.0' });
  });
});

describe('Ray dashboard client: Jobs API', () => {
  it('submits with every field and follows a job to SUCCEEDED', async () => {
    const out = await client.submitJob({
      entrypoint: 'python warmup.py',
      submissionId: 'warmup-1',
      runtimeEnv: { env_vars: { A: '1' } },
      metadata: { fleet: 'llama' },
      entrypointNumGpus: 1,
      entrypointNumCpus: 2,
    });
    expect(out).toEqual({ submissionId: 'warmup-1', jobId: 'warmup-1' });
    const post = fake.requests.find((r) => r.method === 'POST');
    expect(post).toMatchObject({ path: '/api/jobs/' });
    expect(post!.body).toEqual({
      entrypoint: 'python warmup.py',
      submission_id: 'warmup-1',
      runtime_env: { env_vars: { A: '1' } },
      metadata: { fleet: 'llama' },
      entrypoint_num_cpus: 2,
      entrypoint_num_gpus: 1,
    });
    await expect(client.getJob('warmup-1')).resolves.toMatchObject({ status: 'PENDING', submissionId: 'warmup-1', metadata: { fleet: 'llama' } });
    fake.advanceJobs();
    const running = await client.getJob('warmup-1');
    expect(running).toMatchObject({ status: 'RUNNING' });
    expect(running!.jobId).toBeDefined();
    await expect(client.getJob(running!.jobId!)).resolves.toMatchObject({ submissionId: 'warmup-1' });
    fake.appendJobLog('warmup-1', 'loaded\n');
    await expect(client.jobLogs('warmup-1')).resolves.toBe('loaded\n');
    fake.advanceJobs();
    await expect(client.getJob('warmup-1')).resolves.toMatchObject({ status: 'SUCCEEDED', driverExitCode: 0 });
    await expect(client.listJobs()).resolves.toHaveLength(1);
  });

  it('reports a failed job with its exit code and error type', async () => {
    await client.submitJob({ entrypoint: 'false', submissionId: 'bad' });
    fake.setJobOutcome('bad', { status: 'FAILED', exitCode: 3 });
    fake.advanceJobs();
    fake.advanceJobs();
    await expect(client.getJob('bad')).resolves.toMatchObject({ status: 'FAILED', driverExitCode: 3, errorType: 'JOB_ENTRYPOINT_COMMAND_ERROR' });
  });

  it('generates a submission id when none is given', async () => {
    const out = await client.submitJob({ entrypoint: 'true' });
    expect(out.submissionId).toMatch(/^raysubmit_[A-Za-z0-9]{16}$/);
  });

  it('refuses a duplicate submission_id with its own code', async () => {
    await client.submitJob({ entrypoint: 'true', submissionId: 'once' });
    const err = await failure(client.submitJob({ entrypoint: 'true', submissionId: 'once' }));
    expect(err.code).toBe('BRX_ERR_RAY_JOB_EXISTS');
    expect(err.message).toBe(`a Ray job with submission_id once already exists at ${fake.url}/api/jobs/`);
    // Older dashboards answer 400 with the same sentence.
    fake.failNext('/api/jobs/', 400, 'ValueError: Job with submission_id x already exists. Please use a different submission_id.');
    expect((await failure(client.submitJob({ entrypoint: 'true', submissionId: 'x' }))).code).toBe('BRX_ERR_RAY_JOB_EXISTS');
  });

  it('stops, then deletes only ended jobs, naming Ray\'s reason', async () => {
    await client.submitJob({ entrypoint: 'sleep 100', submissionId: 's' });
    const err = await failure(client.deleteJob('s'));
    expect(err.code).toBe('BRX_ERR_RAY_JOB');
    expect(err.message).toContain("DELETE");
    expect(err.message).toContain("HTTP 500: RuntimeError: Attempted to delete job 's', but it is in a non-terminal state PENDING.");
    await expect(client.stopJob('s')).resolves.toBe(true);
    await expect(client.stopJob('s')).resolves.toBe(false);
    await expect(client.getJob('s')).resolves.toMatchObject({ status: 'STOPPED' });
    await expect(client.deleteJob('s')).resolves.toBe(true);
    await expect(client.getJob('s')).resolves.toBeUndefined();
  });

  it('names a missing job', async () => {
    const err = await failure(client.stopJob('nope'));
    expect(err.code).toBe('BRX_ERR_RAY_JOB');
    expect(err.message).toContain('HTTP 404: Job nope does not exist');
    expect((await failure(client.jobLogs('nope'))).code).toBe('BRX_ERR_RAY_JOB');
  });

  it('refuses a bad request body with Ray\'s reason', async () => {
    fake.failNext('/api/jobs/', 400, "Traceback (most recent call last):\nTypeError: bad field 'x'\n");
    const err = await failure(client.submitJob({ entrypoint: 'true' }));
    expect(err.code).toBe('BRX_ERR_RAY_JOB');
    expect(err.message).toContain("HTTP 400: TypeError: bad field 'x'");
  });
});

describe('Ray dashboard client: faults', () => {
  it('times out on a stalled endpoint, naming the URL', async () => {
    await client.dispose();
    client = createRayDashboardClient({ baseUrl: fake.url, timeoutMs: 200 });
    fake.stall('/api/cluster_status');
    const err = await failure(client.clusterStatus());
    expect(err.code).toBe('BRX_ERR_RAY_UNREACHABLE');
    expect(err.message).toBe(`cannot reach the Ray dashboard at ${fake.url}/api/cluster_status: timed out after 200 ms`);
    // The other endpoints still answer.
    await expect(client.gcsHealthz()).resolves.toBe(true);
  });

  it('names a refused connection', async () => {
    const port = await freePort();
    const dead = createRayDashboardClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    const err = await failure(dead.gcsHealthz());
    expect(err.code).toBe('BRX_ERR_RAY_UNREACHABLE');
    expect(err.message).toContain(`http://127.0.0.1:${port}/api/gcs_healthz`);
    expect(err.message).toMatch(/ECONNREFUSED/);
    await dead.dispose();
  });

  it('refuses bodies over the limit, with a larger limit for logs', async () => {
    await client.dispose();
    client = createRayDashboardClient({ baseUrl: fake.url, maxBytes: 1024, maxLogBytes: 8192 });
    fake.failNext('/api/version', 200, JSON.stringify({ version: '4', ray_version: 'x'.repeat(2000) }));
    const err = await failure(client.version());
    expect(err.code).toBe('BRX_ERR_RAY_BAD_RESPONSE');
    expect(err.message).toContain('response over 1024 bytes');
    await client.submitJob({ entrypoint: 'true', submissionId: 'log' });
    fake.appendJobLog('log', 'y'.repeat(4000));
    await expect(client.jobLogs('log')).resolves.toHaveLength(4000);
    fake.appendJobLog('log', 'y'.repeat(8000));
    expect((await failure(client.jobLogs('log'))).message).toContain('response over 8192 bytes');
  });

  it('refuses malformed JSON and wrong shapes', async () => {
    fake.failNext('/api/cluster_status', 200, '{"result": true, "data": ');
    const bad = await failure(client.clusterStatus());
    expect(bad.code).toBe('BRX_ERR_RAY_BAD_RESPONSE');
    expect(bad.message).toContain('not JSON');
    fake.failNext('/api/cluster_status', 200, JSON.stringify({ result: true, msg: '', data: {} }));
    expect((await failure(client.clusterStatus())).message).toContain('/data/clusterStatus');
    fake.failNext('/api/cluster_status', 200, JSON.stringify({ result: true, data: { clusterStatus: { loadMetricsReport: { usage: { GPU: ['a', 1] }, nodeTypes: [] } } } }));
    expect((await failure(client.clusterStatus())).message).toContain('/data/clusterStatus/loadMetricsReport/usage/GPU');
    fake.failNext('/api/jobs/j', 200, JSON.stringify({ status: 'DONE', entrypoint: 'x' }));
    expect((await failure(client.getJob('j'))).message).toContain('/status');
  });

  it('reports the dashboard\'s own errors and unexpected statuses', async () => {
    fake.failNext('/api/cluster_status', 500, JSON.stringify({ result: false, msg: 'GCS RPC timed out', data: {} }));
    expect((await failure(client.clusterStatus())).message).toContain('dashboard error: GCS RPC timed out');
    fake.failNext('/api/v0/nodes', 500, 'Internal Server Error');
    expect((await failure(client.nodes())).message).toContain('HTTP 500: Internal Server Error');
    fake.failNext('/api/version', 404, '404: Not Found');
    expect((await failure(client.version())).message).toContain('HTTP 404');
    fake.failNext('/api/gcs_healthz', 500, 'boom');
    await expect(client.gcsHealthz()).resolves.toBe(false);
  });

  it('leaves a shared dispatcher open when disposed', async () => {
    const shared = new Agent({ connections: 2 });
    const a = createRayDashboardClient({ baseUrl: fake.url, dispatcher: shared });
    await expect(a.gcsHealthz()).resolves.toBe(true);
    await a.dispose();
    const b = createRayDashboardClient({ baseUrl: fake.url, dispatcher: shared });
    await expect(b.gcsHealthz()).resolves.toBe(true);
    await shared.close();
    expect((await failure(b.gcsHealthz())).code).toBe('BRX_ERR_RAY_UNREACHABLE');
  });
});
