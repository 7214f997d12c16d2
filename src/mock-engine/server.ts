/**
 * The mock engine's HTTP server (node:http only, so it stays cheap enough to sit behind a gateway
 * throughput benchmark): the OpenAI-compatible API of a vLLM server driven by the engine model,
 * /health, /metrics with vLLM names, and the test hooks under /admin (health flip, failure
 * injection, stats) that a user testing a gateway or an autoscaler also wants.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrixletError } from '../common/errors.js';
import { type CompletionContext, CompletionRun, type EngineStats, sendError, sendJson } from './completion.js';
import { EngineDriver } from './driver.js';
import { FailureInjector, type FailureSpec, parseFailureSpec } from './failures.js';
import { DRAWN_OUTPUT_MAX, DRAWN_OUTPUT_MIN, WORD_COUNT } from './filler.js';
import type { KvEventPublisherStats } from '../common/kv-events/publisher.js';
import { MockKvEvents } from './kv-events.js';
import { KvOffload, type KvOffloadStats } from './kv-offload.js';
import { EngineMetrics } from './metrics.js';
import { createEngineModel } from './model.js';
import { type MockEngineOptions, mockEngineError, resolveOptions } from './options.js';
import { createRandom } from './random.js';
import { tokenIds } from './hash.js';
import { apiError, type Endpoint, parseRequest } from './request.js';
import type { EngineModel, GpuProfile, KvCacheObserver, ModelMetrics } from './types.js';

export interface MockEngineStats extends EngineStats {
  readonly name: string;
  readonly gpu: string;
  readonly healthy: boolean;
  /** Requests in the model now. */
  readonly active: number;
  /** Requests failed on purpose through /admin/fail, and how many are still armed. */
  readonly injectedFailures: number;
  readonly pendingFailures: number;
  readonly model: ModelMetrics;
  /** The KV shard client's totals, when the engine is attached to one. */
  readonly kv?: KvOffloadStats;
  /** The KV events publisher's totals, when --kv-events-endpoint is set. */
  readonly kvEvents?: KvEventPublisherStats;
}

export interface RunningMockEngine {
  /** `http://host:port` (no /v1). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly name: string;
  /** Served model names. */
  readonly models: readonly string[];
  readonly profile: GpuProfile;
  readonly seed: number;
  readonly timeScale: number;
  /** The latency model behind it (ground truth for tests and benchmarks). */
  readonly engine: EngineModel;
  /** The KV shard client (undefined without --kv-socket). */
  readonly kv: KvOffload | undefined;
  /** The KV events publisher (undefined without --kv-events-endpoint); its bound endpoints say the ports. */
  readonly kvEvents: MockKvEvents | undefined;
  setHealthy(healthy: boolean): void;
  failNext(spec: FailureSpec): void;
  stats(): MockEngineStats;
  /** Ends open requests (streams get an error event), closes the listener and every connection. */
  close(): Promise<void>;
}

const ENDPOINTS: Readonly<Record<string, Endpoint>> = { '/v1/completions': 'completion', '/v1/chat/completions': 'chat' };

export async function startMockEngine(options: MockEngineOptions = {}): Promise<RunningMockEngine> {
  const o = resolveOptions(options);
  const kv =
    o.kv === undefined
      ? undefined
      : new KvOffload({ socketPath: o.kv.socket, namespace: o.kv.namespace, blockTokens: o.profile.blockTokens, bytesPerToken: o.kv.bytesPerToken, scale: o.kv.scale, loadGbps: o.kv.loadGbps });
  const kvEvents = o.kvEvents === undefined ? undefined : new MockKvEvents({ ...o.kvEvents, blockTokens: o.profile.blockTokens });
  if (kvEvents !== undefined) {
    try {
      await kvEvents.start();
    } catch (e) {
      await kvEvents.close();
      throw mockEngineError(`cannot bind the KV events endpoints ${o.kvEvents?.endpoint} / ${o.kvEvents?.replayEndpoint ?? '-'}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  const kvObserver: KvCacheObserver | undefined = kvEvents === undefined ? undefined : { stored: (h, p, t) => kvEvents.gpuStored(h, p, t), removed: (h) => kvEvents.gpuRemoved(h), cleared: () => kvEvents.cleared() };
  const model = createEngineModel(o.profile, { seed: o.seed, jitter: o.jitter, ...(kv !== undefined && { loadMsPerBlock: kv.loadMsPerBlock }), ...(kvObserver !== undefined && { kvObserver }) });
  const driver = new EngineDriver(model, o.timeScale);
  const metrics = new EngineMetrics(o.servedModelNames[0] as string, o.maxModelLen);
  const failures = new FailureInjector();
  const stats: EngineStats = { requests: 0, completed: 0, aborted: 0 };
  const random = createRandom(o.seed);
  let seq = 0;
  let healthy = true;
  let name = o.name ?? 'mock';
  const created = Math.floor(Date.now() / 1000);
  const ctx: CompletionContext = {
    options: o,
    driver,
    metrics,
    stats,
    inflight: new Set(),
    kv,
    kvEvents,
    next: () => ({
      seq: seq++,
      wordStart: Math.floor(random() * WORD_COUNT),
      drawnTokens: DRAWN_OUTPUT_MIN + Math.floor(random() * (DRAWN_OUTPUT_MAX - DRAWN_OUTPUT_MIN + 1)),
    }),
  };
  const modelsBody = JSON.stringify({
    object: 'list',
    data: o.servedModelNames.map((id) => ({ id, object: 'model', created, owned_by: 'brixlet-mock', root: o.model, parent: null, max_model_len: o.maxModelLen })),
  });
  const snapshot = (): MockEngineStats => ({
    name,
    gpu: o.profile.name,
    healthy,
    ...stats,
    active: driver.active(),
    injectedFailures: failures.injected,
    pendingFailures: failures.pending(),
    model: model.metrics(driver.now()),
    ...(kv !== undefined && { kv: kv.stats() }),
    ...(kvEvents !== undefined && { kvEvents: kvEvents.stats() }),
  });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path.startsWith('/v1/') && o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`) {
      req.resume();
      return sendError(res, apiError(401, 'invalid_api_key', 'missing or wrong API key (Authorization: Bearer <key>)'));
    }
    const endpoint = ENDPOINTS[path];
    if (endpoint !== undefined && method === 'POST') {
      return readBody(req, res, o.maxBodyBytes, (raw) => {
        const failure = failures.take();
        if (failure?.mode === 'reset') return void res.destroy();
        if (failure?.mode === 'status') return sendError(res, apiError(failure.status, 'injected_failure', `injected failure (status ${failure.status})`));
        const parsed = parseRequest(endpoint, raw, o.servedModelNames, o.charsPerToken);
        if ('status' in parsed) return sendError(res, parsed);
        new CompletionRun(ctx, parsed, res, failure).start();
      });
    }
    if (method === 'GET' && path === '/v1/models') return sendJson(res, 200, modelsBody);
    if (method === 'POST' && path === '/tokenize') {
      // vLLM's tokenizer endpoint: {prompt} or {messages} → {count, max_model_len, tokens}.
      return readBody(req, res, o.maxBodyBytes, (raw) => {
        const text = tokenizeText(raw);
        if (text === undefined) return sendError(res, apiError(400, 'invalid_value', 'body must be JSON with a string prompt or a messages array'));
        const tokens = tokenIds(text, o.charsPerToken);
        return sendJson(res, 200, JSON.stringify({ count: tokens.length, max_model_len: MAX_MODEL_LEN, tokens }));
      });
    }
    if (method === 'GET' && path === '/health') {
      res.writeHead(healthy ? 200 : 503, { 'content-length': 0 });
      return void res.end();
    }
    if (method === 'GET' && path === '/metrics') {
      const text = metrics.render(model.metrics(driver.now())) + (kv?.render(metrics.label) ?? '') + (kvEvents?.render(metrics.label) ?? '');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      return void res.end(text);
    }
    if (method === 'GET' && path === '/admin/stats') return sendJson(res, 200, JSON.stringify(snapshot()));
    if (method === 'POST' && path === '/reset_prefix_cache') {
      req.resume();
      // vLLM answers 200 either way; the body says whether the cache was emptied (not while requests hold blocks).
      return sendJson(res, 200, JSON.stringify({ reset: model.resetPrefixCache() }));
    }
    if (method === 'POST' && (path === '/admin/health' || path === '/admin/fail')) {
      return readBody(req, res, 64 * 1024, (raw) => {
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          return sendError(res, apiError(400, 'invalid_json', 'request body is not valid JSON'));
        }
        if (path === '/admin/health') {
          const h = (body as { healthy?: unknown } | null)?.healthy;
          if (typeof h !== 'boolean') return sendError(res, apiError(400, 'invalid_value', 'body must be {"healthy": true|false}', 'healthy'));
          healthy = h;
          return sendJson(res, 200, JSON.stringify({ healthy }));
        }
        const spec = parseFailureSpec(body);
        if (typeof spec === 'string') return sendError(res, apiError(400, 'invalid_value', spec));
        failures.arm(spec);
        return sendJson(res, 200, JSON.stringify({ pending: failures.pending(), mode: spec.mode, status: spec.status ?? 500 }));
      });
    }
    req.resume();
    sendError(res, apiError(404, 'not_found', `no route for ${method} ${path}`));
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, handle);
  server.on('clientError', (_err, socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new BrixletError('BRX_ERR_HTTP_LISTEN', { host: o.host, port: String(o.port), server: 'mock engine', reason: e.code ?? e.message }, { cause: e })),
      );
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await kvEvents?.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  if (o.name === undefined) name = `mock-${port}`;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    host: o.host,
    port,
    get name() {
      return name;
    },
    models: o.servedModelNames,
    profile: o.profile,
    seed: o.seed,
    timeScale: o.timeScale,
    engine: model,
    kv,
    kvEvents,
    setHealthy: (h) => {
      healthy = h;
    },
    failNext: (spec) => failures.arm(spec),
    stats: snapshot,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const run of [...ctx.inflight]) run.close();
        driver.close();
        server.close(() => void Promise.allSettled([kv?.close(), kvEvents?.close()]).then(() => resolve()));
        server.closeAllConnections();
      })),
  };
}

/** Reads the body as UTF-8 up to `limit` bytes; over it answers 413 and closes the connection. */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number, done: (raw: string) => void): void {
  const tooLarge = () => {
    res.setHeader('connection', 'close');
    sendError(res, apiError(413, 'request_too_large', `request body exceeds ${limit} bytes`));
  };
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    if (over) return;
    size += c.length;
    if (size > limit) {
      over = true;
      chunks.length = 0;
      return tooLarge();
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (!over) done(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  });
}

/** The context length /tokenize reports (an 8B model's usual 8k). */
const MAX_MODEL_LEN = 8192;

/** The text /tokenize counts: `prompt`, or the messages' contents rendered as `role: content` lines. */
function tokenizeText(raw: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { prompt?: unknown; messages?: unknown };
  if (typeof b.prompt === 'string') return b.prompt;
  if (!Array.isArray(b.messages)) return undefined;
  let text = '';
  for (const m of b.messages as unknown[]) {
    const msg = m as { role?: unknown; content?: unknown } | null;
    if (msg === null || typeof msg !== 'object' || typeof msg.role !== 'string' || typeof msg.content !== 'string') return undefined;
    text += `${msg.role}: ${msg.content}\n`;
  }
  return text;
}
