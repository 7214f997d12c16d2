/**
 * An in-process fake of a Ray head's dashboard (:8265) for tests: GCS health, cluster status, the
 * state API's node list, the Jobs API and the version, answering with the real dashboard's shapes
 * and status codes. Tests kill nodes, make the GCS unhealthy, inject failures and stall endpoints.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeCluster } from './fake-cluster.js';
import { type FakeAnswer, type FakeJob, type FakeJobOutcome, FakeJobStore } from './fake-jobs.js';

export interface FakeRayDashboardOptions {
  /** Alive nodes at start, head included. Default 2. */
  readonly nodes?: number;
  /** Default 8. */
  readonly gpusPerNode?: number;
  /** GPUs on the head; default gpusPerNode (a serving head runs vLLM's rank 0). */
  readonly headGpus?: number;
  /** Default 32. */
  readonly cpusPerNode?: number;
  /** Default true. */
  readonly gcsHealthy?: boolean;
  /** Include the autoscaler's report (pending and failed nodes) in cluster_status. Default false. */
  readonly autoscaler?: boolean;
  /** Default 2.40.0. */
  readonly rayVersion?: string;
  readonly host?: string;
  readonly port?: number;
  /** Clock for job and node times; default Date.now. */
  readonly now?: () => number;
}

export interface RecordedRayRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body?: unknown;
}

export interface FakeRayDashboard {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Every request seen, oldest first (bounded at 1000). */
  readonly requests: RecordedRayRequest[];
  readonly aliveNodes: number;
  /** Kills the newest workers (head last) or starts new nodes until `n` are alive. */
  setAliveNodes(n: number): void;
  setGcsHealthy(healthy: boolean): void;
  /** GPUs held by placement groups (vLLM's workers), spread over the nodes. */
  setGpusUsed(n: number): void;
  /** Pending and failed nodes in the autoscaler report (with `autoscaler: true`). */
  setAutoscalerNodes(pending: number, failed?: number): void;
  setAutoscalingError(error: string | null): void;
  /** false: cluster_status answers `clusterStatus: null`, as before the monitor's first report. */
  setReportReady(ready: boolean): void;
  /** The next `times` requests to `path` (no query) get `status` and `body` (default a plain error text). */
  failNext(path: string, status: number, body?: string, times?: number): void;
  /** Requests to `path` get no answer until unstall() or close(): client timeouts. */
  stall(path: string): void;
  unstall(path?: string): void;
  jobs(): FakeJob[];
  job(id: string): FakeJob | undefined;
  /** One step for every unfinished job: PENDING → RUNNING → its outcome. Answers how many moved. */
  advanceJobs(): number;
  /** How the job ends on the step after RUNNING (default SUCCEEDED). */
  setJobOutcome(id: string, outcome: FakeJobOutcome): void;
  appendJobLog(id: string, text: string): void;
  close(): Promise<void>;
}

interface Failure {
  readonly path: string;
  readonly status: number;
  readonly body: string;
  times: number;
}

export async function startFakeRayDashboard(options: FakeRayDashboardOptions = {}): Promise<FakeRayDashboard> {
  const now = options.now ?? Date.now;
  const cluster = new FakeCluster({ gpusPerNode: options.gpusPerNode ?? 8, cpusPerNode: options.cpusPerNode ?? 32, headGpus: options.headGpus }, now);
  cluster.autoscaler = options.autoscaler ?? false;
  cluster.setAlive(options.nodes ?? 2);
  const jobs = new FakeJobStore(now, () => cluster.headNodeId);
  const requests: RecordedRayRequest[] = [];
  const failures: Failure[] = [];
  const stalledPaths = new Set<string>();
  const stalled = new Set<ServerResponse>();
  let gcsHealthy = options.gcsHealthy ?? true;
  const rayVersion = options.rayVersion ?? '2.40.0';

  function route(method: string, path: string, query: URLSearchParams, body: unknown): FakeAnswer {
    if (method === 'GET' && path === '/api/gcs_healthz') {
      return gcsHealthy ? { status: 200, text: 'success' } : { status: 503, text: '503: Health check failed: GCS is not reachable' };
    }
    if (method === 'GET' && path === '/api/cluster_status') {
      return { status: 200, json: { result: true, msg: 'Got cluster status.', data: cluster.clusterStatusData() } };
    }
    if (method === 'GET' && path === '/api/v0/nodes') {
      const limit = Number(query.get('limit') ?? 100);
      return { status: 200, json: { result: true, msg: '', data: cluster.stateNodesData(Number.isFinite(limit) ? limit : 100) } };
    }
    if (method === 'GET' && path === '/api/version') {
      return { status: 200, json: { version: '4', ray_version: rayVersion, ray_commit: 'f0e1d2c3b4a5968778695a4b3c2d1e0f12345678', session_name: 'session_2026-12-07_17-00-00_000000_1' } };
    }
    if (path === '/api/jobs/' || path === '/api/jobs') {
      if (method === 'POST') return jobs.submit(body);
      if (method === 'GET') return { status: 200, json: jobs.list() };
    }
    const m = /^\/api\/jobs\/([^/]+)(\/logs|\/stop)?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (method === 'GET' && m[2] === undefined) return jobs.info(id);
      if (method === 'GET' && m[2] === '/logs') return jobs.logsOf(id);
      if (method === 'POST' && m[2] === '/stop') return jobs.stop(id);
      if (method === 'DELETE' && m[2] === undefined) return jobs.delete(id);
    }
    return { status: 404, text: '404: Not Found' };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        body = raw;
      }
    }
    requests.push({ method: req.method ?? 'GET', path: u.pathname, query: u.search.slice(1), ...(body !== undefined ? { body } : {}) });
    if (requests.length > 1000) requests.shift();
    if (stalledPaths.has(u.pathname)) {
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      return;
    }
    const failure = failures.find((f) => f.path === u.pathname && f.times > 0);
    if (failure) {
      failure.times -= 1;
      send(res, { status: failure.status, text: failure.body });
      return;
    }
    send(res, route(req.method ?? 'GET', u.pathname, u.searchParams, body));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, { status: 500, text: String(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    get aliveNodes() {
      return cluster.aliveCount;
    },
    setAliveNodes: (n) => cluster.setAlive(n),
    setGcsHealthy: (healthy) => {
      gcsHealthy = healthy;
    },
    setGpusUsed: (n) => {
      cluster.gpusUsed = n;
    },
    setAutoscalerNodes: (pending, failed = 0) => {
      cluster.pendingNodes = pending;
      cluster.failedNodes = failed;
    },
    setAutoscalingError: (error) => {
      cluster.autoscalingError = error;
    },
    setReportReady: (ready) => {
      cluster.reportReady = ready;
    },
    failNext: (path, status, body, times = 1) => {
      failures.push({ path, status, body: body ?? `${status}: injected failure`, times });
    },
    stall: (path) => {
      stalledPaths.add(path);
    },
    unstall: (path) => {
      if (path === undefined) stalledPaths.clear();
      else stalledPaths.delete(path);
    },
    jobs: () => jobs.list(),
    job: (id) => jobs.get(id),
    advanceJobs: () => jobs.advance(),
    setJobOutcome: (id, outcome) => jobs.setOutcome(id, outcome),
    appendJobLog: (id, text) => jobs.appendLog(id, text),
    async close() {
      for (const res of stalled) res.destroy();
      stalled.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, answer: FakeAnswer): void {
  if (res.headersSent || res.destroyed) return;
  if (answer.json !== undefined) {
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer.json));
  } else {
    res.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(answer.text ?? '');
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 8 * 1024 * 1024) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
