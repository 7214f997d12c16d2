/**
 * A client for one Ray cluster's dashboard (the head's :8265): GCS health, the cluster's alive nodes
 * and GPUs, the state API's node list, the Jobs API and the version. Every call has a hard time
 * limit and a cap on the body it reads, and every answer is checked against its schema before use,
 * so a hung head, a proxy's HTML page or a huge log cannot stall or flood the orchestrator.
 *
 * Failures are BrixletErrors naming the URL: BRX_ERR_RAY_UNREACHABLE (connect, reset, timeout),
 * BRX_ERR_RAY_BAD_RESPONSE (status, body too large, not JSON, wrong shape), BRX_ERR_RAY_JOB (the Jobs
 * API refused, with Ray's own reason) and BRX_ERR_RAY_JOB_EXISTS (a duplicate submission_id).
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { Agent, type Dispatcher, request } from 'undici';
import { BrixletError } from '../../common/errors.js';
import { readCapped } from '../../common/http/read-capped.js';
import type { Disposable } from '../../common/lifecycle.js';
import {
  ClusterStatusData,
  Envelope,
  JobDeleteResponse,
  JobDetails,
  JobList,
  JobLogsResponse,
  JobStopResponse,
  JobSubmitResponse,
  StateNodesData,
  VersionResponse,
  type JOB_STATUSES,
} from './ray-dashboard-schemas.js';

export interface RayDashboardOptions {
  /** `http://<cluster>-head-svc.<ns>:8265`. */
  readonly baseUrl: string;
  /** Per request, connect to last byte. Default 5000. */
  readonly timeoutMs?: number;
  /** Largest JSON answer read. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Largest job log read. Default 4 MiB. */
  readonly maxLogBytes?: number;
  /** A shared pool (many clusters, one prober); it is not closed by dispose(). Default: an own keep-alive agent. */
  readonly dispatcher?: Dispatcher;
}

/** What the cluster's GCS knows of its nodes: what replica health compares with the group size. */
export interface RayClusterStatus {
  /** Raylets alive in the GCS (head included). */
  readonly aliveNodes: number;
  /** Nodes the autoscaler is launching or waiting for (only when an autoscaler runs). */
  readonly pendingNodes?: number;
  /** Nodes the autoscaler failed to launch (only when an autoscaler runs). */
  readonly failedNodes?: number;
  readonly gpusTotal: number;
  readonly gpusUsed?: number;
  readonly autoscalingError?: string;
  /** `cluster_status` (the autoscaler monitor's report) or `nodes` (the state API, before the first report). */
  readonly source: 'cluster_status' | 'nodes';
}

export interface RayNode {
  readonly nodeId: string;
  readonly nodeIp: string;
  readonly isHead: boolean;
  /** `ALIVE` or `DEAD` (the state API keeps dead nodes for a while). */
  readonly state: string;
  readonly nodeName?: string;
  readonly gpus: number;
  readonly resources: Readonly<Record<string, number>>;
}

export type RayJobStatus = (typeof JOB_STATUSES)[number];

export interface RayJobSubmission {
  readonly entrypoint: string;
  /** Chosen by the caller to make a submission idempotent; Ray generates one when absent. */
  readonly submissionId?: string;
  readonly runtimeEnv?: Readonly<Record<string, unknown>>;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly entrypointNumCpus?: number;
  readonly entrypointNumGpus?: number;
  readonly entrypointMemory?: number;
  readonly entrypointResources?: Readonly<Record<string, number>>;
}

export interface RayJob {
  readonly submissionId?: string;
  /** The driver's Ray job id; absent until the driver starts. */
  readonly jobId?: string;
  readonly type?: string;
  readonly status: RayJobStatus;
  readonly entrypoint: string;
  readonly message?: string;
  readonly errorType?: string;
  readonly startTimeMs?: number;
  readonly endTimeMs?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly driverExitCode?: number;
}

export interface RayVersion {
  readonly version: string;
  readonly rayVersion: string;
  readonly rayCommit?: string;
  readonly sessionName?: string;
}

export interface RayDashboardClient extends Disposable {
  readonly url: string;
  /** true when the dashboard answers `success`; false when it answers that the GCS is not healthy (503). */
  gcsHealthz(): Promise<boolean>;
  clusterStatus(): Promise<RayClusterStatus>;
  /** Every node the state API lists, dead ones included (filter on `state`). */
  nodes(): Promise<RayNode[]>;
  submitJob(job: RayJobSubmission): Promise<{ submissionId: string; jobId?: string }>;
  listJobs(): Promise<RayJob[]>;
  /** undefined when the dashboard does not know the job (404). */
  getJob(id: string): Promise<RayJob | undefined>;
  jobLogs(id: string): Promise<string>;
  /** false when the job had already ended. */
  stopJob(id: string): Promise<boolean>;
  deleteJob(id: string): Promise<boolean>;
  version(): Promise<RayVersion>;
}

interface RawResponse {
  readonly status: number;
  readonly body: string;
  readonly url: string;
}

export function createRayDashboardClient(opts: RayDashboardOptions): RayDashboardClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const maxLogBytes = opts.maxLogBytes ?? 4 * 1024 * 1024;
  const own = opts.dispatcher === undefined;
  const dispatcher =
    opts.dispatcher ??
    new Agent({ connections: 4, connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 30_000 });

  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, cap = maxBytes): Promise<RawResponse> {
    const url = base + path;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        dispatcher,
        signal: timeout,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw unreachable(url, err, timeout.aborted, timeoutMs);
    }
    let text: string | undefined;
    try {
      text = await readCapped(res.body, cap);
    } catch (err) {
      throw unreachable(url, err, timeout.aborted, timeoutMs);
    }
    if (text === undefined) throw new BrixletError('BRX_ERR_RAY_BAD_RESPONSE', { url, reason: `response over ${cap} bytes` });
    return { status: res.statusCode, body: text, url };
  }

  /** A 2xx JSON answer of the given shape, or BRX_ERR_RAY_BAD_RESPONSE. */
  function parse<T extends TSchema>(res: RawResponse, schema: T): Static<T> {
    if (res.status < 200 || res.status > 299) throw badResponse(res, `HTTP ${res.status}: ${lastLine(res.body)}`);
    const value = parseJson(res);
    if (!Value.Check(schema, value)) {
      const first = deepest(Value.Errors(schema, value).First());
      throw badResponse(res, `${first?.path || '/'} ${first?.message ?? 'does not match'}`);
    }
    return value;
  }

  /** The `data` of a `{result, msg, data}` answer; `result: false` is the dashboard's own error. */
  function unwrap<T extends TSchema>(res: RawResponse, data: T): Static<T> {
    if (res.status === 500) {
      const failed = tryJson(res.body) as { result?: unknown; msg?: unknown } | undefined;
      if (failed?.result === false) throw badResponse(res, `dashboard error: ${String(failed.msg ?? '')}`);
    }
    const env = parse(res, Envelope(data)) as unknown as { result: boolean; msg?: string; data: Static<T> };
    if (!env.result) throw badResponse(res, `dashboard error: ${env.msg ?? ''}`);
    return env.data;
  }

  /** Jobs API answers: non-2xx is Ray refusing (its reason is the body's last line, often a traceback). */
  function jobAnswer<T extends TSchema>(method: string, res: RawResponse, schema: T): Static<T> {
    if (res.status < 200 || res.status > 299) {
      throw new BrixletError('BRX_ERR_RAY_JOB', { method, url: res.url, reason: `HTTP ${res.status}: ${lastLine(res.body)}` });
    }
    return parse(res, schema);
  }

  const jobPath = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;

  async function listNodes(): Promise<RayNode[]> {
    const data = unwrap(await call('GET', '/api/v0/nodes?limit=10000&detail=false'), StateNodesData);
    return data.result.result.map((n) => ({
      nodeId: n.node_id,
      nodeIp: n.node_ip,
      isHead: n.is_head_node,
      state: n.state,
      ...(n.node_name ? { nodeName: n.node_name } : {}),
      gpus: n.resources_total['GPU'] ?? 0,
      resources: n.resources_total,
    }));
  }

  return {
    name: `ray dashboard client ${base}`,
    url: base,

    async gcsHealthz() {
      const res = await call('GET', '/api/gcs_healthz');
      if (res.status === 200) {
        if (res.body.trim() === 'success') return true;
        throw badResponse(res, `expected "success", got ${JSON.stringify(res.body.slice(0, 80))}`);
      }
      if (res.status === 503 || res.status === 500) return false;
      throw badResponse(res, `HTTP ${res.status}: ${lastLine(res.body)}`);
    },

    async clusterStatus() {
      const data = unwrap(await call('GET', '/api/cluster_status'), ClusterStatusData);
      const report = data.clusterStatus;
      const autoscalingError = data.autoscalingError ?? undefined;
      if (report === null) {
        // No autoscaler report yet (the monitor writes its first a few seconds after the head starts):
        // the state API has the same nodes.
        const alive = (await listNodes()).filter((n) => n.state === 'ALIVE');
        return { aliveNodes: alive.length, gpusTotal: alive.reduce((sum, n) => sum + n.gpus, 0), source: 'nodes', ...(autoscalingError ? { autoscalingError } : {}) };
      }
      const lm = report.loadMetricsReport;
      const gpu = lm.usage['GPU'];
      const as = report.autoscalerReport ?? undefined;
      const pending = as ? (as.pendingNodes?.length ?? 0) + Object.values(as.pendingLaunches ?? {}).reduce((a, b) => a + b, 0) : undefined;
      return {
        aliveNodes: lm.nodeTypes.reduce((sum, [, count]) => sum + count, 0),
        gpusTotal: gpu?.[1] ?? 0,
        ...(gpu ? { gpusUsed: gpu[0] } : {}),
        ...(pending !== undefined ? { pendingNodes: pending, failedNodes: as?.failedNodes?.length ?? 0 } : {}),
        ...(autoscalingError ? { autoscalingError } : {}),
        source: 'cluster_status',
      };
    },

    nodes: listNodes,

    async submitJob(job) {
      const body = {
        entrypoint: job.entrypoint,
        ...(job.submissionId !== undefined ? { submission_id: job.submissionId } : {}),
        ...(job.runtimeEnv !== undefined ? { runtime_env: job.runtimeEnv } : {}),
        ...(job.metadata !== undefined ? { metadata: job.metadata } : {}),
        ...(job.entrypointNumCpus !== undefined ? { entrypoint_num_cpus: job.entrypointNumCpus } : {}),
        ...(job.entrypointNumGpus !== undefined ? { entrypoint_num_gpus: job.entrypointNumGpus } : {}),
        ...(job.entrypointMemory !== undefined ? { entrypoint_memory: job.entrypointMemory } : {}),
        ...(job.entrypointResources !== undefined ? { entrypoint_resources: job.entrypointResources } : {}),
      };
      const res = await call('POST', '/api/jobs/', body);
      // Ray answers a duplicate with 500 (400 from some versions) and a traceback ending in this sentence.
      if (res.status >= 400 && res.body.includes('Please use a different submission_id')) {
        throw new BrixletError('BRX_ERR_RAY_JOB_EXISTS', { submissionId: job.submissionId ?? '?', url: res.url });
      }
      const out = jobAnswer('POST', res, JobSubmitResponse);
      return { submissionId: out.submission_id, ...(out.job_id ? { jobId: out.job_id } : {}) };
    },

    async listJobs() {
      return jobAnswer('GET', await call('GET', '/api/jobs/'), JobList).map(toJob);
    },

    async getJob(id) {
      const res = await call('GET', jobPath(id));
      if (res.status === 404) return undefined;
      return toJob(jobAnswer('GET', res, JobDetails));
    },

    async jobLogs(id) {
      return jobAnswer('GET', await call('GET', `${jobPath(id)}/logs`, undefined, maxLogBytes), JobLogsResponse).logs;
    },

    async stopJob(id) {
      return jobAnswer('POST', await call('POST', `${jobPath(id)}/stop`), JobStopResponse).stopped;
    },

    async deleteJob(id) {
      return jobAnswer('DELETE', await call('DELETE', jobPath(id)), JobDeleteResponse).deleted;
    },

    async version() {
      const v = parse(await call('GET', '/api/version'), VersionResponse);
      return {
        version: v.version,
        rayVersion: v.ray_version,
        ...(v.ray_commit ? { rayCommit: v.ray_commit } : {}),
        ...(v.session_name ? { sessionName: v.session_name } : {}),
      };
    },

    async dispose() {
      if (own) await dispatcher.close().catch(() => undefined);
    },
  };
}

function toJob(j: JobDetails): RayJob {
  return {
    status: j.status,
    entrypoint: j.entrypoint,
    ...(j.submission_id ? { submissionId: j.submission_id } : {}),
    ...(j.job_id ? { jobId: j.job_id } : {}),
    ...(j.type ? { type: j.type } : {}),
    ...(j.message ? { message: j.message } : {}),
    ...(j.error_type ? { errorType: j.error_type } : {}),
    ...(typeof j.start_time === 'number' ? { startTimeMs: j.start_time } : {}),
    ...(typeof j.end_time === 'number' ? { endTimeMs: j.end_time } : {}),
    ...(j.metadata ? { metadata: j.metadata } : {}),
    ...(typeof j.driver_exit_code === 'number' ? { driverExitCode: j.driver_exit_code } : {}),
  };
}

/** A union's own error says only "Expected union value": follow its branches to the field that is wrong. */
function deepest(err: ValueError | undefined): ValueError | undefined {
  let best = err;
  for (const branch of err?.errors ?? []) {
    const inner = deepest(branch.First());
    if (inner && (best === undefined || inner.path.length > best.path.length)) best = inner;
  }
  return best;
}

function parseJson(res: RawResponse): unknown {
  try {
    return JSON.parse(res.body) as unknown;
  } catch {
    throw badResponse(res, `not JSON: ${JSON.stringify(res.body.slice(0, 80))}`);
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function badResponse(res: RawResponse, reason: string): BrixletError {
  return new BrixletError('BRX_ERR_RAY_BAD_RESPONSE', { url: res.url, reason });
}

function unreachable(url: string, err: unknown, timedOut: boolean, timeoutMs: number): BrixletError {
  const reason = timedOut ? `timed out after ${timeoutMs} ms` : describe(err);
  return new BrixletError('BRX_ERR_RAY_UNREACHABLE', { url, reason }, { cause: err });
}

/** The last non-empty line of a body: a Python traceback's exception line, a plain error text. */
function lastLine(body: string): string {
  const lines = body.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  return (lines.at(-1) ?? '(empty body)').slice(0, 300);
}

function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: { message?: string } };
  const msg = e.message && e.message !== 'fetch failed' ? e.message : (e.cause?.message ?? String(err));
  return msg.split('\n')[0]!.slice(0, 200);
}
