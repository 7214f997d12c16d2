/**
 * The engines the gateway may route to. Sources (static config, `brixlet up`, Kubernetes pods)
 * upsert and remove specs; the set keeps one EngineState per uid, stable for as long as the uid is
 * known, so the load counters the router mutates stay put. A uid that leaves and comes back, or a
 * new uid under an old name (a recreated pod), starts from fresh counters.
 *
 * Exclusion is decided here and only here: an engine failing /health (or whose /v1/models never
 * answered), or one whose node is stale or whose GPUs are unhealthy (asked of the node view), is
 * left out of candidates() with `excludedBecause` saying why. candidates() is on every request: it
 * returns a frozen per-model list rebuilt only after something changed (an engine, its health or
 * models, a node event), and allocates only when a retry excludes engines.
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import type { EngineMetrics, EngineState, NodeKvView } from '../router/types.js';
import { gpuSpeed } from './gpu-speed.js';
import { toEngineMetrics, type PreviousScrape } from './metrics-parse.js';
import { createProbeHttp, type ProbeFetch, type ProbeHttp } from './probe-http.js';
import { Prober, type ProbeResult } from './prober.js';
import type { Candidates, EngineSetView, EngineSpec } from './types.js';

/** What the engine set needs from the node registry (Registry satisfies it). */
export interface NodeHealthView {
  /** Whether engines on `node` (on GPUs `gpus`, when known) may take requests, and why not. */
  isRoutable(node: string, gpus?: readonly string[]): { readonly ok: boolean; readonly reason?: string };
  /** Called on every node change (report, stale, recovered, removed); without it answers are re-read every 250 ms. */
  onChange?(fn: () => void): () => void;
  /** The node's KV shard summary, for the kv-aware policy. */
  kvOf?(node: string): NodeKvView | undefined;
}

/** Where engines come from. `start` feeds the sink and resolves once the first listing is in. */
export interface EngineSource extends Disposable {
  readonly name: string;
  start(sink: EngineSink): Promise<void>;
}

export interface EngineSink {
  upsert(spec: EngineSpec): void;
  remove(uid: string): void;
}

export type EngineEventKind = 'added' | 'removed' | 'updated' | 'unhealthy' | 'healthy';

/** `healthy` after `unhealthy` may be a restarted engine that lost its prefix cache. */
export interface EngineEvent {
  readonly kind: EngineEventKind;
  readonly engine: EngineState;
}

export interface EngineSetOptions {
  readonly specs?: readonly EngineSpec[];
  readonly nodes?: NodeHealthView;
  readonly log: Logger;
  /** gateway.probeInterval, ms. */
  readonly probeInterval: number;
  /** Limit on one probe request; default the interval, within 1–5 s. */
  readonly probeTimeout?: number;
  /** Replaces the undici probe client (tests). */
  readonly fetch?: ProbeFetch;
  readonly now?: () => number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  spec: EngineSpec;
  readonly state: Mutable<EngineState>;
  /** Models from the last answer of /v1/models; undefined until one came. */
  answered: readonly string[] | undefined;
  /** Of those, the LoRA adapters (listed with a parent model). */
  adapters: readonly string[];
  /** Why the last probe found the engine dead (/health failed); undefined when alive. */
  healthError: string | undefined;
  modelsError: string | undefined;
  /** Why the engine itself is unhealthy (not its node), from judge(). */
  healthReason: string | undefined;
  lastScrape: PreviousScrape | undefined;
  probedAt: number | undefined;
}

const NODE_POLL_MS = 250;
const NOT_PROBED = 'not probed yet';

export class EngineSet implements EngineSetView, EngineSink, Disposable {
  readonly name = 'engine set';
  private readonly entries = new Map<string, Entry>();
  private readonly sources = new Set<EngineSource>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly prober: Prober;
  private readonly http: ProbeHttp | undefined;
  private readonly log: Logger;
  private readonly nodes: NodeHealthView | undefined;
  private readonly now: () => number;
  private readonly unsubscribeNodes: (() => void) | undefined;
  // Derived views, rebuilt by refresh() when dirty.
  private dirty = true;
  private refreshedAt = 0;
  private sorted: readonly EngineState[] = [];
  private healthyModels: readonly string[] = [];
  private knownModels = new Set<string>();
  private loraAdapters = new Set<string>();
  private readonly byModel = new Map<string, Candidates>();
  private disposed = false;

  constructor(opts: EngineSetOptions) {
    this.log = opts.log;
    this.nodes = opts.nodes;
    this.now = opts.now ?? Date.now;
    const timeoutMs = opts.probeTimeout ?? Math.min(5000, Math.max(1000, opts.probeInterval));
    this.http = opts.fetch ? undefined : createProbeHttp({ timeoutMs });
    this.prober = new Prober({
      intervalMs: opts.probeInterval,
      get: opts.fetch ?? this.http!.get,
      onResult: (uid, r) => this.apply(uid, r),
      log: opts.log,
      now: this.now,
    });
    this.unsubscribeNodes = opts.nodes?.onChange?.(() => this.invalidate());
    for (const spec of opts.specs ?? []) this.upsert(spec);
  }

  /** Begins probing every engine (at once, then every probeInterval). */
  start(): void {
    this.prober.start();
  }

  /** Probes every engine (or one) now and applies the results; resolves when done. */
  probeNow(uid?: string): Promise<void> {
    return this.prober.probeNow(uid);
  }

  /** Adds a source and starts it; resolves when the source has listed its engines once. */
  addSource(source: EngineSource): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.sources.add(source);
    return source.start(this);
  }

  /** Calls `fn` on every change of the engine list or an engine's health; returns the unsubscribe. */
  onChange(fn: (e: EngineEvent) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  upsert(spec: EngineSpec): void {
    if (this.disposed) return;
    const old = this.entries.get(spec.uid);
    // Another URL under the same uid is another process: a fresh engine, not an update.
    if (old !== undefined && old.spec.url !== spec.url) this.remove(spec.uid);
    const entry = this.entries.get(spec.uid);
    if (entry === undefined) {
      const created = newEntry(spec);
      this.entries.set(spec.uid, created);
      this.prober.add(spec.uid, spec.url);
      this.invalidate();
      this.log.info({ engine: spec.name, uid: spec.uid, url: spec.url, source: spec.source, node: spec.node, gpuType: created.state.speed.gpuType }, 'engine added');
      this.emit('added', created.state);
      return;
    }
    if (sameSpec(entry.spec, spec)) return;
    entry.spec = spec;
    const s = entry.state;
    s.name = spec.name;
    s.node = spec.node;
    s.gpus = spec.gpus;
    s.speed = gpuSpeed(spec.gpuType);
    if (spec.kvEvents !== undefined) s.kvEvents = spec.kvEvents;
    else delete s.kvEvents;
    judge(entry);
    s.excludedBecause = this.exclusion(entry);
    this.invalidate();
    this.emit('updated', s);
  }

  remove(uid: string): void {
    const entry = this.entries.get(uid);
    if (entry === undefined) return;
    this.entries.delete(uid);
    this.prober.remove(uid);
    entry.state.healthy = false;
    entry.state.excludedBecause = 'removed';
    this.invalidate();
    this.log.info({ engine: entry.spec.name, uid, source: entry.spec.source }, 'engine removed');
    this.emit('removed', entry.state);
  }

  all(): readonly EngineState[] {
    this.refresh();
    return this.sorted;
  }

  get(uid: string): EngineState | undefined {
    return this.entries.get(uid)?.state;
  }

  /** The spec an engine was declared with (source, GPU type as given). */
  spec(uid: string): EngineSpec | undefined {
    return this.entries.get(uid)?.spec;
  }

  /** When the engine was last probed (ms epoch), if ever. */
  probedAt(uid: string): number | undefined {
    return this.entries.get(uid)?.probedAt;
  }

  candidates(model: string, exclude?: ReadonlySet<string>): Candidates {
    this.refresh();
    let all = this.byModel.get(model);
    if (all === undefined) {
      all = this.build(model);
      // Only models some engine lists are cached: request bodies cannot grow the map.
      if (this.knownModels.has(model)) this.byModel.set(model, all);
    }
    if (exclude === undefined || exclude.size === 0 || all.engines.length === 0) return all;
    const left: EngineState[] = [];
    for (const e of all.engines) if (!exclude.has(e.uid)) left.push(e);
    if (left.length > 0) return { engines: left };
    return { engines: left, reason: `all ${all.engines.length} engine(s) serving ${model} were already tried` };
  }

  models(): string[] {
    this.refresh();
    return [...this.healthyModels];
  }

  knowsModel(model: string): boolean {
    this.refresh();
    if (this.knownModels.has(model)) return true;
    // An engine that has not listed its models yet might serve it: the caller answers 503 with the
    // reason (models unknown), not a 404 that would be wrong a probe later.
    for (const s of this.sorted) if (s.models.length === 0) return true;
    return false;
  }

  isLoraAdapter(model: string): boolean {
    this.refresh();
    return this.loraAdapters.has(model);
  }

  get size(): number {
    return this.entries.size;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.unsubscribeNodes?.();
    this.prober.dispose();
    const sources = [...this.sources];
    this.sources.clear();
    await Promise.all(sources.map((s) => Promise.resolve(s.dispose()).catch((err: unknown) => this.log.warn({ err, source: s.name }, 'engine source dispose failed'))));
    await this.http?.dispose();
    this.listeners.clear();
  }

  private apply(uid: string, r: ProbeResult): void {
    const entry = this.entries.get(uid);
    if (entry === undefined) return;
    const s = entry.state;
    const wasHealthy = s.healthy;
    const firstProbe = entry.probedAt === undefined;
    const oldModels = s.models;
    entry.probedAt = r.at;
    entry.healthError = r.alive ? undefined : (r.healthError ?? '/health failed');
    entry.modelsError = r.modelsError;
    if (r.models !== undefined) {
      entry.answered = r.models;
      if (!sameList(entry.adapters, r.adapters ?? [])) {
        entry.adapters = r.adapters ?? [];
        this.invalidate();
      }
    }
    judge(entry);
    s.excludedBecause = this.exclusion(entry);
    if (r.sample !== undefined) {
      try {
        const metrics: EngineMetrics = toEngineMetrics(r.sample, r.at, entry.lastScrape);
        s.metrics = metrics;
        entry.lastScrape = { sample: r.sample, metrics };
      } catch (err) {
        this.log.debug({ err, engine: s.name }, 'engine metrics not understood');
      }
    } else if (r.metricsError !== undefined && r.alive) {
      this.log.debug({ engine: s.name, reason: r.metricsError }, 'engine metrics not read');
    }
    const modelsChanged = !sameList(oldModels, s.models);
    if (s.healthy !== wasHealthy || modelsChanged) this.invalidate();
    if (s.healthy && !wasHealthy) {
      this.log.info({ engine: s.name, models: s.models }, firstProbe ? 'engine healthy' : 'engine healthy again');
      this.emit('healthy', s);
    } else if (!s.healthy && (wasHealthy || firstProbe)) {
      this.log.warn({ engine: s.name, reason: entry.healthReason }, 'engine unhealthy: left out of routing');
      this.emit('unhealthy', s);
    } else if (modelsChanged) {
      this.emit('updated', s);
    }
  }

  private invalidate(): void {
    this.dirty = true;
  }

  /** Recomputes exclusion and the derived lists after a change (or, with a node view that cannot notify, every 250 ms). */
  private refresh(): void {
    const pollNodes = this.nodes !== undefined && this.nodes.onChange === undefined;
    if (!this.dirty && !(pollNodes && this.now() - this.refreshedAt >= NODE_POLL_MS)) return;
    this.dirty = false;
    this.refreshedAt = this.now();
    this.byModel.clear();
    const states: EngineState[] = [];
    const healthy = new Set<string>();
    const known = new Set<string>();
    const adapters = new Set<string>();
    for (const entry of this.entries.values()) {
      for (const a of entry.adapters) adapters.add(a);
      const s = entry.state;
      s.excludedBecause = this.exclusion(entry);
      if (s.node !== undefined && this.nodes?.kvOf !== undefined) s.kv = this.nodes.kvOf(s.node);
      states.push(s);
      for (const m of s.models) {
        known.add(m);
        if (s.healthy) healthy.add(m);
      }
    }
    states.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.uid < b.uid ? -1 : 1));
    this.sorted = Object.freeze(states);
    this.healthyModels = Object.freeze([...healthy].sort());
    this.knownModels = known;
    this.loraAdapters = adapters;
  }

  private exclusion(entry: Entry): string | undefined {
    if (!entry.state.healthy) return entry.healthReason ?? NOT_PROBED;
    const node = entry.state.node;
    if (node === undefined || this.nodes === undefined) return undefined;
    const r = this.nodes.isRoutable(node, entry.state.gpus);
    return r.ok ? undefined : (r.reason ?? `node ${node} is not routable`);
  }

  private build(model: string): Candidates {
    const engines: EngineState[] = [];
    const out: string[] = [];
    for (const s of this.sorted) {
      if (!s.models.includes(model)) continue;
      if (s.excludedBecause === undefined) engines.push(s);
      else out.push(`${s.name} ${s.excludedBecause}`);
    }
    if (engines.length > 0) return Object.freeze({ engines: Object.freeze(engines) });
    if (out.length === 0) {
      // Engines that never listed their models might serve it: say so, they explain a 404 that should not be.
      const unknown = this.sorted.filter((s) => s.models.length === 0 && !s.healthy).map((s) => `${s.name} ${s.excludedBecause ?? NOT_PROBED}`);
      const tail = unknown.length > 0 ? ` (models unknown for ${unknown.length} engine(s): ${listSome(unknown)})` : '';
      return Object.freeze({ engines: Object.freeze(engines), reason: `no engine serves model ${model}${tail}` });
    }
    const n = out.length;
    return Object.freeze({ engines: Object.freeze(engines), reason: `${n} engine${n === 1 ? '' : 's'} serve${n === 1 ? 's' : ''} ${model}, all excluded: ${listSome(out)}` });
  }

  private emit(kind: EngineEventKind, engine: EngineState): void {
    for (const fn of this.listeners) {
      try {
        fn({ kind, engine });
      } catch (err) {
        this.log.error({ err, kind, engine: engine.name }, 'engine set listener threw');
      }
    }
  }
}

function newEntry(spec: EngineSpec): Entry {
  const state: Mutable<EngineState> = {
    uid: spec.uid,
    name: spec.name,
    url: spec.url,
    models: spec.models ?? [],
    ...(spec.node !== undefined && { node: spec.node }),
    ...(spec.gpus !== undefined && { gpus: spec.gpus }),
    ...(spec.kvEvents !== undefined && { kvEvents: spec.kvEvents }),
    speed: gpuSpeed(spec.gpuType),
    healthy: false,
    excludedBecause: NOT_PROBED,
    load: { inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 },
  };
  return { spec, state, answered: undefined, adapters: [], healthError: undefined, modelsError: undefined, healthReason: NOT_PROBED, lastScrape: undefined, probedAt: undefined };
}

/**
 * Health from the last probe: /health answered 200 and the engine has models, from /v1/models or,
 * until that answers, from its spec (a pod label). Models stay as last answered if /v1/models fails.
 */
function judge(entry: Entry): void {
  const s = entry.state;
  const models = entry.answered ?? entry.spec.models ?? [];
  // The same list again keeps its array, so readers holding it see no change.
  if (!sameList(s.models, models)) s.models = models;
  if (entry.probedAt === undefined) entry.healthReason = NOT_PROBED;
  else if (entry.healthError !== undefined) entry.healthReason = entry.healthError;
  else if (entry.answered === undefined && s.models.length === 0) entry.healthReason = entry.modelsError ?? '/v1/models has not answered';
  else entry.healthReason = undefined;
  s.healthy = entry.healthReason === undefined;
}

/** The first few items of a reason, so a 503 body stays readable with a large fleet down. */
function listSome(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join('; ') : `${items.slice(0, max).join('; ')}; and ${items.length - max} more`;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameSpec(a: EngineSpec, b: EngineSpec): boolean {
  return a.name === b.name && a.url === b.url && a.node === b.node && a.gpuType === b.gpuType && a.source === b.source && sameList(a.models, b.models) && sameList(a.gpus, b.gpus) && sameEndpoint(a.kvEvents, b.kvEvents);
}

function sameEndpoint(a: EngineSpec['kvEvents'], b: EngineSpec['kvEvents']): boolean {
  return a?.endpoint === b?.endpoint && a?.replayEndpoint === b?.replayEndpoint && a?.topic === b?.topic;
}

/** An engine set over `specs`; call start() to begin probing and dispose() to stop. */
export function createEngineSet(opts: EngineSetOptions): EngineSet {
  return new EngineSet(opts);
}
