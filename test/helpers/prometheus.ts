// A real Prometheus (Debian's `prometheus` package) for tests: started on loopback with a free port,
// its own TSDB directory and a generated scrape config, queried through its HTTP API, stopped and
// removed afterwards. BRIXLET_PROMETHEUS points at another binary. When the binary is missing and the
// test runs as root, `apt-get install prometheus` is tried once; otherwise prometheusSkipReason says why.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

function locate(): string | undefined {
  const explicit = process.env.BRIXLET_PROMETHEUS;
  if (explicit !== undefined) return explicit !== '' && existsSync(explicit) ? explicit : undefined;
  for (const p of ['/usr/bin/prometheus', '/usr/local/bin/prometheus']) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : undefined;
}

function installWithApt(): string | undefined {
  if (process.env.BRIXLET_PROMETHEUS !== undefined || process.getuid?.() !== 0) return undefined;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = spawnSync('sh', ['-c', 'apt-get install -y --no-install-recommends prometheus || (apt-get update && apt-get install -y --no-install-recommends prometheus)'], { env, stdio: 'ignore', timeout: 600_000 });
  return r.status === 0 ? locate() : undefined;
}

/** Absolute path of the prometheus binary, or undefined (then prometheusSkipReason says why). */
export const PROMETHEUS: string | undefined = locate() ?? installWithApt();
export const prometheusSkipReason: string =
  PROMETHEUS !== undefined
    ? ''
    : process.env.BRIXLET_PROMETHEUS !== undefined
      ? `BRIXLET_PROMETHEUS=${process.env.BRIXLET_PROMETHEUS} is not a file`
      : process.getuid?.() === 0
        ? 'prometheus not installed and apt-get install prometheus failed'
        : 'prometheus not installed (apt-get install prometheus, as root)';

export interface ScrapeTarget {
  /** host:port of the endpoint. */
  readonly address: string;
  /** Target labels (what a ServiceMonitor relabeling would add, e.g. node). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ScrapeJob {
  readonly job: string;
  readonly targets: readonly ScrapeTarget[];
  /** Default /metrics. */
  readonly metricsPath?: string;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PromQueryResult {
  readonly status: 'success' | 'error';
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: { resultType: string; result: PromSample[] | [number, string] };
}

export interface PromTarget {
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export interface PrometheusInstance {
  readonly url: string;
  readonly dir: string;
  /** Instant query; resolves with Prometheus' answer (parse errors come back as status "error"). */
  query(expr: string): Promise<PromQueryResult>;
  /** Active targets. */
  targets(): Promise<PromTarget[]>;
  /** Its own log so far (stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** The prometheus.yml text of `jobs` (global scrape and evaluation interval `interval`), loading `ruleFiles`. */
export function scrapeConfig(jobs: readonly ScrapeJob[], interval = '1s', ruleFiles: readonly string[] = []): string {
  const lines = ['global:', `  scrape_interval: ${interval}`, `  scrape_timeout: ${interval}`, `  evaluation_interval: ${interval}`];
  if (ruleFiles.length > 0) lines.push(`rule_files: [${ruleFiles.map((f) => JSON.stringify(f)).join(', ')}]`);
  lines.push('scrape_configs:');
  for (const j of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(j.job)}`, `    metrics_path: ${JSON.stringify(j.metricsPath ?? '/metrics')}`, '    honor_labels: true', '    static_configs:');
    for (const t of j.targets) {
      lines.push(`      - targets: [${JSON.stringify(t.address)}]`);
      const labels = Object.entries(t.labels ?? {});
      if (labels.length > 0) lines.push(`        labels: {${labels.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return (await res.json()) as T;
}

async function waitReady(url: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${log()}`);
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`prometheus not ready within ${timeoutMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface PrometheusOptions {
  /** Scrape and rule evaluation interval (default 1s). */
  readonly interval?: string;
  /** Rule files (absolute paths) to load. */
  readonly ruleFiles?: readonly string[];
  readonly readyTimeoutMs?: number;
}

/** Starts Prometheus scraping `jobs`; rejects (after cleaning up) when it does not become ready. */
export async function startPrometheus(jobs: readonly ScrapeJob[], opts: PrometheusOptions = {}): Promise<PrometheusInstance> {
  if (PROMETHEUS === undefined) throw new Error(`no prometheus: ${prometheusSkipReason}`);
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, scrapeConfig(jobs, opts.interval, opts.ruleFiles));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => stderr, opts.readyTimeoutMs ?? 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    dir,
    query: (expr) => getJson<PromQueryResult>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`),
    targets: async () => (await getJson<{ data: { activeTargets: PromTarget[] } }>(`${url}/api/v1/targets?state=active`)).data.activeTargets,
    log: () => stderr,
    stop,
  };
}

/** The vector of an instant query, or throws with Prometheus' error (a parse error names the expression). */
export async function queryVector(prom: PrometheusInstance, expr: string): Promise<PromSample[]> {
  const r = await prom.query(expr);
  if (r.status !== 'success') throw new Error(`${expr}: ${r.errorType ?? ''} ${r.error ?? ''}`);
  if (r.data?.resultType === 'scalar') return [{ metric: {}, value: r.data.result as [number, string] }];
  return r.data?.result as PromSample[];
}
