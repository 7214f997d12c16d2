/**
 * Reads every engine on an interval: /health (200 = alive), then /v1/models and /metrics. Each
 * engine has its own chain, so its probes never overlap however slow it answers, and one slow
 * engine never delays another. A probe's result goes to `onResult` synchronously; nothing here
 * decides health: the engine set does. Parsing happens here, off the request path, and never throws.
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import { parseVllmMetrics, type VllmSample } from './metrics-parse.js';
import type { ProbeFetch } from './probe-http.js';

/** What one probe of one engine found. */
export interface ProbeResult {
  /** ms epoch when the probe finished. */
  readonly at: number;
  /** /health answered 200. */
  readonly alive: boolean;
  /** Why not alive: `/health 503`, `/health: connect ECONNREFUSED …`. */
  readonly healthError?: string;
  /** Model ids from /v1/models; undefined when it was not read or failed. */
  readonly models?: readonly string[];
  /** Those of `models` that are LoRA adapters (vLLM lists them with a `parent`, the base model). */
  readonly adapters?: readonly string[];
  readonly modelsError?: string;
  /** The parsed /metrics; undefined when it was not read or failed. */
  readonly sample?: VllmSample;
  readonly metricsError?: string;
}

export interface ProberOptions {
  readonly intervalMs: number;
  readonly get: ProbeFetch;
  readonly onResult: (uid: string, result: ProbeResult) => void;
  readonly log?: Logger;
  readonly now?: () => number;
}

interface Target {
  readonly uid: string;
  readonly url: string;
  timer: NodeJS.Timeout | undefined;
  /** The probe running or queued last; the next one waits for it. */
  chain: Promise<void>;
  removed: boolean;
}

export class Prober implements Disposable {
  readonly name = 'engine prober';
  private readonly targets = new Map<string, Target>();
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private running = false;

  constructor(private readonly opts: ProberOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Probes every target now, then every interval. */
  start(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = true;
    for (const t of this.targets.values()) void this.probe(t);
  }

  /** Adds (or, with a new URL, replaces) a target; probed at once when running. */
  add(uid: string, url: string): void {
    const old = this.targets.get(uid);
    if (old?.url === url) return;
    if (old) this.remove(uid);
    const t: Target = { uid, url, timer: undefined, chain: Promise.resolve(), removed: false };
    this.targets.set(uid, t);
    if (this.running) void this.probe(t);
  }

  remove(uid: string): void {
    const t = this.targets.get(uid);
    if (!t) return;
    t.removed = true;
    clearTimeout(t.timer);
    this.targets.delete(uid);
  }

  /** A fresh probe of `uid` (or of every target), after any probe already running; resolves when done. */
  probeNow(uid?: string): Promise<void> {
    if (uid !== undefined) {
      const t = this.targets.get(uid);
      return t ? this.probe(t) : Promise.resolve();
    }
    return Promise.all([...this.targets.values()].map((t) => this.probe(t))).then(() => undefined);
  }

  dispose(): void {
    this.abort.abort();
    for (const t of this.targets.values()) {
      t.removed = true;
      clearTimeout(t.timer);
    }
    this.targets.clear();
  }

  private probe(t: Target): Promise<void> {
    clearTimeout(t.timer);
    t.timer = undefined;
    const next = t.chain.then(async () => {
      if (t.removed || this.abort.signal.aborted) return;
      const result = await this.probeOnce(t.url);
      if (t.removed || this.abort.signal.aborted) return;
      try {
        this.opts.onResult(t.uid, result);
      } catch (err) {
        this.opts.log?.error({ err, engine: t.uid }, 'engine probe result handler threw');
      }
    });
    t.chain = next;
    void next.then(() => {
      // Only the last queued probe schedules the next round: a probeNow() in between does not add a timer.
      if (t.chain !== next || t.removed || !this.running || this.abort.signal.aborted) return;
      clearTimeout(t.timer);
      t.timer = setTimeout(() => void this.probe(t), this.opts.intervalMs);
      t.timer.unref();
    });
    return next;
  }

  private async probeOnce(base: string): Promise<ProbeResult> {
    const { get } = this.opts;
    const signal = this.abort.signal;
    let healthError: string | undefined;
    try {
      const res = await get(`${base}/health`, signal);
      if (res.status !== 200) healthError = `/health ${res.status}`;
    } catch (err) {
      healthError = `/health: ${(err as Error).message}`;
    }
    if (healthError !== undefined) return { at: this.now(), alive: false, healthError };
    const [models, metrics] = await Promise.all([this.readModels(base, signal), this.readMetrics(base, signal)]);
    return { at: this.now(), alive: true, ...models, ...metrics };
  }

  private async readModels(base: string, signal: AbortSignal): Promise<Pick<ProbeResult, 'models' | 'adapters' | 'modelsError'>> {
    try {
      const res = await this.opts.get(`${base}/v1/models`, signal);
      if (res.status !== 200) return { modelsError: `/v1/models ${res.status}` };
      const cards = parseModelCards(res.body);
      return cards === undefined ? { modelsError: '/v1/models: not an OpenAI model list' } : cards;
    } catch (err) {
      return { modelsError: `/v1/models: ${(err as Error).message}` };
    }
  }

  private async readMetrics(base: string, signal: AbortSignal): Promise<Pick<ProbeResult, 'sample' | 'metricsError'>> {
    try {
      const res = await this.opts.get(`${base}/metrics`, signal);
      if (res.status !== 200) return { metricsError: `/metrics ${res.status}` };
      return { sample: parseVllmMetrics(res.body) };
    } catch (err) {
      return { metricsError: `/metrics: ${(err as Error).message}` };
    }
  }
}

/** `{"object":"list","data":[{"id":"m"}…]}` → ids, sorted and unique; undefined when the shape is wrong. */
export function parseModelList(body: string): string[] | undefined {
  return parseModelCards(body)?.models;
}

/**
 * /v1/models → model ids (sorted, unique) and, among them, the LoRA adapters: vLLM lists an adapter
 * with `parent` naming its base model (the base model's own card has none). Undefined when the shape is wrong.
 */
export function parseModelCards(body: string): { models: string[]; adapters: string[] } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const ids = new Set<string>();
  const adapters = new Set<string>();
  for (const item of data) {
    const card = item as { id?: unknown; parent?: unknown } | null;
    const id = card?.id;
    if (typeof id !== 'string' || id === '') continue;
    ids.add(id);
    if (typeof card?.parent === 'string' && card.parent !== '' && card.parent !== id) adapters.add(id);
  }
  return { models: [...ids].sort(), adapters: [...adapters].sort() };
}
