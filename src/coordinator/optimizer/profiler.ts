/**
 * `brixlet profile` as a library: sweeps input × output tokens × request rate against an
 * OpenAI-compatible endpoint (profile-load.ts), applies AIBrix's cell rule (profile-cell.ts) and
 * returns the rows and the profile in AIBrix's JSON (gpu, cost, tputs, indexes, created, e2e,
 * ttft, tpot, slos) that the optimizer reads. Per cell the rates run in ascending order and, unless
 * `fullSweep`, stop after the first rate that misses the SLO or saturates: latency and backlog only
 * grow with the rate, so the rates above cannot change the cell, and they are the slow ones.
 */
import http from 'node:http';
import https from 'node:https';
import { BrixletError } from '../../common/errors.js';
import { chooseCellRow, isSaturated, meetsSlo, type ProfileRow, type ProfileSlo } from './profile-cell.js';
import { type LoadTarget, type ProfileApi, ProfileRequestError, probeRequest, runPoint } from './profile-load.js';

/** AIBrix's benchmark.sh sweep (routing-optimizer.md §1.5): tokens ×2 from 4 to 4096, 1–64 req/s. */
export const AIBRIX_TICKS: readonly number[] = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
export const AIBRIX_RATES: readonly number[] = [1, 2, 4, 8, 16, 32, 64];

export interface ProfilerOptions {
  /** http(s)://host:port, with or without a trailing /v1. */
  readonly endpoint: string;
  readonly model: string;
  readonly gpu: string;
  readonly cost: number;
  readonly slo: ProfileSlo;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly rates: readonly number[];
  /** Requests per sweep point (AIBrix: 100); at least `pointSeconds` × rate. */
  readonly requests: number;
  /** Model seconds of arrivals per point at the least (default 0): long points keep the drain's bias on the throughput small. */
  readonly pointSeconds?: number;
  /** Model seconds after a point's last request is sent before the ones still open are cut off (failed). */
  readonly pointTimeoutS: number;
  readonly api?: ProfileApi;
  readonly stream?: boolean;
  readonly arrivals?: 'poisson' | 'uniform';
  readonly seed?: number;
  readonly apiKey?: string;
  /** The endpoint's model time per wall time (a mock engine's --time-scale); latencies and rates are converted back. */
  readonly timeScale?: number;
  /** Measure every rate even after one misses the SLO or saturates. */
  readonly fullSweep?: boolean;
  readonly signal?: AbortSignal;
  /** Called after every point, measured or skipped. */
  readonly onProgress?: (p: ProfileProgress) => void;
  /** Unix seconds for `created` (default now). */
  readonly now?: () => number;
}

export interface ProfileProgress {
  /** Points done (measured or skipped) and all points of the sweep. */
  readonly done: number;
  readonly total: number;
  readonly input: number;
  readonly output: number;
  readonly rate: number;
  /** The measured row; undefined when the point was skipped. */
  readonly row?: ProfileRow;
  readonly met?: boolean;
  readonly saturated?: boolean;
  readonly errors?: readonly string[];
}

/** AIBrix's profile JSON, as the optimizer's parser reads it. */
export interface ProfileJson {
  gpu: string;
  model: string;
  cost: number;
  tputs: number[][];
  indexes: [number[], number[]];
  created: number;
  e2e: number[][];
  ttft?: number[][];
  tpot?: number[][];
  slos: Record<string, number>;
}

export interface ProfileResult {
  readonly rows: readonly ProfileRow[];
  readonly profile: ProfileJson;
}

function endpointError(endpoint: string, reason: string, cause?: unknown): BrixletError {
  return new BrixletError('BRX_ERR_OPTIMIZER_PROFILER_ENDPOINT', { endpoint, reason }, cause === undefined ? {} : { cause });
}

/** The base URL (trailing /v1 and slashes dropped, ending in one /), or a catalog error naming the fix. */
export function endpointBase(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw endpointError(endpoint, 'not a URL (give http://host:port of the OpenAI-compatible server)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw endpointError(endpoint, `${url.protocol} is not http or https`);
  url.pathname = `${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}/`;
  url.search = '';
  url.hash = '';
  return url;
}

function getJson(url: URL, apiKey: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 1 << 20) body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Checks the endpoint answers /v1/models with `model` among them and takes one request; throws catalog errors. */
export async function preflight(target: LoadTarget, endpoint: string, timeoutMs = 10_000): Promise<void> {
  let models: { status: number; body: string };
  try {
    models = await getJson(new URL('v1/models', target.base), target.apiKey, timeoutMs);
  } catch (err) {
    throw endpointError(endpoint, `cannot reach ${new URL('v1/models', target.base).href} (${(err as Error).message}); is the engine running, and is --endpoint its http://host:port?`, err);
  }
  if (models.status === 401 || models.status === 403) throw endpointError(endpoint, `GET /v1/models answered ${models.status}; pass the engine's key with --api-key`);
  if (models.status !== 200) throw endpointError(endpoint, `GET /v1/models answered ${models.status}; is --endpoint an OpenAI-compatible server?`);
  let ids: string[];
  try {
    ids = ((JSON.parse(models.body) as { data?: { id?: unknown }[] }).data ?? []).map((m) => String(m.id));
  } catch {
    throw endpointError(endpoint, 'GET /v1/models did not answer JSON; is --endpoint an OpenAI-compatible server?');
  }
  if (!ids.includes(target.model)) {
    throw new BrixletError('BRX_ERR_OPTIMIZER_PROFILER_MODEL', { model: target.model, endpoint, served: ids.length === 0 ? '(none)' : ids.slice(0, 20).join(', ') });
  }
  try {
    await probeRequest(target, timeoutMs);
  } catch (err) {
    const what = target.api === 'completions' ? '/v1/completions with token-id prompts' : '/v1/chat/completions';
    const reason = err instanceof ProfileRequestError ? err.message : String(err);
    const status = err instanceof ProfileRequestError ? err.status : undefined;
    // A 4xx on token-id prompts is a server that takes only text (or only chat): say what to try.
    const hint = target.api === 'completions' && status !== undefined && status >= 400 && status < 500 ? ' (try --api chat)' : '';
    throw endpointError(endpoint, `a test request to ${what} failed: ${reason}${hint}`, err);
  }
}

/** Runs the sweep and builds the profile. */
export async function runProfiler(opts: ProfilerOptions): Promise<ProfileResult> {
  const target: LoadTarget = {
    base: endpointBase(opts.endpoint),
    model: opts.model,
    api: opts.api ?? 'completions',
    stream: opts.stream ?? true,
    timeScale: opts.timeScale ?? 1,
    ...(opts.apiKey !== undefined && { apiKey: opts.apiKey }),
  };
  await preflight(target, opts.endpoint);
  const inputs = [...opts.inputs].sort((a, b) => a - b);
  const outputs = [...opts.outputs].sort((a, b) => a - b);
  const rates = [...opts.rates].sort((a, b) => a - b);
  const total = inputs.length * outputs.length * rates.length;
  const rows: ProfileRow[] = [];
  let done = 0;
  const seed = opts.seed ?? 0;
  const cells = new Map<number, ProfileRow | undefined>();
  for (const [o, output] of outputs.entries()) {
    for (const [i, input] of inputs.entries()) {
      const cellRows: ProfileRow[] = [];
      let stopped = false;
      let unloadedS = Infinity;
      for (const [k, rate] of rates.entries()) {
        opts.signal?.throwIfAborted();
        if (stopped) {
          opts.onProgress?.({ done: ++done, total, input, output, rate });
          continue;
        }
        const { errors, ...row } = await runPoint(target, { input, output, rate, requests: Math.max(opts.requests, Math.ceil(rate * (opts.pointSeconds ?? 0))), timeoutS: opts.pointTimeoutS, arrivals: opts.arrivals ?? 'poisson', seed: pointSeed(seed, (o * inputs.length + i) * rates.length + k), ...(unloadedS < Infinity && { unloadedS }) }, opts.signal);
        if (row.completed > 0) unloadedS = Math.min(unloadedS, row.e2e.min);
        opts.signal?.throwIfAborted();
        rows.push(row);
        cellRows.push(row);
        const met = meetsSlo(row, opts.slo);
        const saturated = isSaturated(row);
        if (!opts.fullSweep && (!met || saturated)) stopped = true;
        opts.onProgress?.({ done: ++done, total, input, output, rate, row, met, saturated, errors });
      }
      cells.set(o * inputs.length + i, chooseCellRow(cellRows, opts.slo));
    }
  }
  return { rows, profile: profileJson(opts, inputs, outputs, cells, (opts.now ?? (() => Date.now() / 1000))()) };
}

/**
 * Each point's arrivals and prompts depend on the seed and the point's place in the sweep only, so
 * two GPU types profiled on one grid see the same arrivals at the same point: their cells differ by
 * the GPUs, not by the draw.
 */
function pointSeed(seed: number, point: number): number {
  return (Math.imul(seed, 1_000_003) + point) >>> 0;
}

/** Four significant digits: profiles are measurements, not exact numbers. */
function sig(x: number): number {
  return x === 0 || !Number.isFinite(x) ? 0 : Number(x.toPrecision(4));
}

function profileJson(opts: ProfilerOptions, inputs: readonly number[], outputs: readonly number[], cells: ReadonlyMap<number, ProfileRow | undefined>, created: number): ProfileJson {
  const matrix = (f: (r: ProfileRow) => number | undefined): number[][] => outputs.map((_, o) => inputs.map((_, i) => {
    const r = cells.get(o * inputs.length + i);
    return r === undefined ? 0 : sig(f(r) ?? 0);
  }));
  const streamed = opts.stream ?? true;
  const slos: Record<string, number> = {};
  if (opts.slo.statistic !== 'mean') slos.percentile = opts.slo.statistic;
  for (const k of ['e2e', 'ttft', 'tpot'] as const) if (opts.slo[k] !== undefined) slos[k] = opts.slo[k] as number;
  return {
    gpu: opts.gpu,
    model: opts.model,
    cost: opts.cost,
    tputs: matrix((r) => r.tput),
    indexes: [[...outputs], [...inputs]],
    created: Math.round(created),
    e2e: matrix((r) => r.e2e.mean),
    ...(streamed && { ttft: matrix((r) => r.ttft?.mean), tpot: matrix((r) => r.tpot?.mean) }),
    slos,
  };
}
