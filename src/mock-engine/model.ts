/**
 * A deterministic discrete-event model of one vLLM-like engine (continuous batching, chunked
 * prefill, automatic prefix caching, recompute preemption). Each iteration ("step"):
 *   1. every running sequence past its prefill decodes one token (in admission order); one that
 *      needs a new KV block when none is free preempts the most recently admitted running sequence
 *      (possibly itself): its blocks are dropped and it goes back to the head of the queue, to
 *      recompute prompt + tokens so far when readmitted;
 *   2. the rest of maxBatchedTokens goes to prefill chunks: first sequences already admitted,
 *      then waiting requests in FCFS order, while maxRunning allows. Admission takes the leading
 *      prompt blocks from the prefix cache (never the whole prompt: at least one token is
 *      computed) and needs free blocks for the rest, evicting cached blocks in LRU order; when
 *      they cannot be found the queue waits (head-of-line, like vLLM);
 *   3. duration = stepOverheadMs + prefillTokens·prefillMsPerToken + decodeSeqs·decodeMsPerSeq.
 * A sequence's first token comes out at the end of the step that completes its prefill, then one
 * token per step. Prompt blocks become shared cache entries as soon as they are computed, and
 * evictable when no running sequence holds them. The model never reads a clock: callers pass
 * `now` (milliseconds of model time) and get events stamped with model time.
 */
import { KvBlockPool } from './prefix-cache.js';
import { createRandom } from './random.js';
import { METRICS_WINDOW_MS, StepLog } from './step-log.js';
import type { EngineModel, GpuProfile, KvCacheObserver, ModelEvent, ModelMetrics, ModelRequest } from './types.js';

export { METRICS_WINDOW_MS } from './step-log.js';

export interface EngineModelOptions {
  /** Seeds the step-time jitter (default 0). */
  readonly seed?: number;
  /** Step-time jitter as a fraction: each step lasts ×(1 ± jitter), uniform. Default 0 (exact formula). */
  readonly jitter?: number;
  /** Emit a 'token' event per output token (default true); the simulator needs only first-token and finish. */
  readonly tokenEvents?: boolean;
  /**
   * Time to load one block of KV from host memory (block bytes ÷ host→GPU bandwidth), added to the
   * step that admits a request with loadableBlocks: the load is synchronous with that step, as a KV
   * connector's load before the forward pass is. Default 0.
   */
  readonly loadMsPerBlock?: number;
  /** Told of every block the prefix cache keys or evicts (KV events); none by default. */
  readonly kvObserver?: KvCacheObserver;
}

const WAITING = 0;
const RUNNING = 1;
const DONE = 2;

class Seq {
  state = WAITING;
  /** Tokens whose KV must be computed before the next token comes out (prompt + tokens so far). */
  target: number;
  /** Tokens whose KV is computed (cached ones included). */
  computed = 0;
  generated = 0;
  cachedTokens = 0;
  loadedTokens = 0;
  admittedAt = 0;
  /** Keyed block entry ids held (prefix matches first, then its own registered prompt blocks). */
  readonly shared: number[] = [];
  privateBlocks = 0;
  /** The prompt's token ids, kept only when a KV observer wants them. */
  tokenIds: readonly number[] | undefined;
  /** Tokens the held blocks can store (blocks × blockTokens). */
  capacityTokens = 0;
  /** Next prompt block index to key once computed. */
  registered = 0;
  constructor(
    readonly id: string,
    readonly promptTokens: number,
    readonly hashes: readonly number[],
    readonly outputTokens: number,
    readonly loadableBlocks: number,
  ) {
    this.target = promptTokens;
  }
}

export function createEngineModel(profile: GpuProfile, options: EngineModelOptions = {}): EngineModel {
  return new VllmLikeModel(profile, options);
}

class VllmLikeModel implements EngineModel {
  private readonly pool: KvBlockPool;
  private readonly kvObserver: KvCacheObserver | undefined;
  private readonly bt: number;
  private readonly tokenEvents: boolean;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly seqs = new Map<string, Seq>();
  private readonly waiting: Seq[] = [];
  private waitingHead = 0;
  private waitingCount = 0;
  private running: Seq[] = [];
  private runningCount = 0;
  private runningDirty = false;
  // The step in flight: parallel arrays reused from step to step.
  private readonly stepSeqs: (Seq | undefined)[] = [];
  private readonly stepTokens: number[] = [];
  private stepN = 0;
  private stepPrefill = 0;
  /** Host→GPU load time of the step being planned. */
  private stepLoadMs = 0;
  private readonly loadMsPerBlock: number;
  private stepStart = 0;
  private stepEnd: number | undefined = undefined;
  /** A step is to be planned at this time (lazily, so requests submitted at that same time join it). */
  private planAt: number | undefined = undefined;
  private outbox: ModelEvent[] = [];
  private readonly log = new StepLog();
  private promptTokensTotal = 0;
  private cachedPromptTokensTotal = 0;
  private generationTokensTotal = 0;
  private finishedTotal = 0;
  private preemptionsTotal = 0;

  constructor(readonly profile: GpuProfile, options: EngineModelOptions) {
    this.kvObserver = options.kvObserver;
    this.pool = new KvBlockPool(profile.kvBlocks, this.kvObserver === undefined ? undefined : (h) => this.kvObserver?.removed(h));
    this.bt = profile.blockTokens;
    this.tokenEvents = options.tokenEvents ?? true;
    this.jitter = options.jitter ?? 0;
    this.loadMsPerBlock = options.loadMsPerBlock ?? 0;
    this.random = createRandom(options.seed ?? 0);
  }

  submit(req: ModelRequest, now: number): void {
    this.catchUp(now);
    if (this.seqs.has(req.id)) throw new Error(`engine model: request id ${req.id} is already in flight`);
    const s = new Seq(req.id, Math.max(1, req.promptTokens), req.blockHashes, Math.max(1, req.outputTokens), req.loadableBlocks ?? 0);
    if (this.kvObserver !== undefined) s.tokenIds = req.tokenIds;
    this.seqs.set(req.id, s);
    this.waiting.push(s);
    this.waitingCount++;
    if (this.stepEnd === undefined && this.planAt === undefined) this.planAt = now;
  }

  abort(id: string, now: number): void {
    this.catchUp(now);
    const s = this.seqs.get(id);
    if (s === undefined) return;
    if (s.state === WAITING) this.waitingCount--;
    else this.drop(s);
    s.state = DONE;
    this.seqs.delete(id);
    this.outbox.push({ type: 'aborted', id, at: now });
  }

  advance(now: number): ModelEvent[] {
    this.catchUp(now);
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  nextEventAt(): number | undefined {
    if (this.planAt !== undefined) this.plan(this.planAt);
    // Events buffered by submit()/abort() catching up are due already.
    const due = this.outbox[0];
    return due !== undefined ? due.at : this.stepEnd;
  }

  metrics(now: number): ModelMetrics {
    this.catchUp(now);
    const w = this.log.window(now, this.stepEnd === undefined ? undefined : this.stepStart);
    return {
      running: this.runningCount,
      waiting: this.waitingCount,
      kvUsage: this.pool.usedBlocks() / this.pool.capacity,
      cachedBlocks: this.pool.cachedBlocks(),
      promptThroughput: (w.prefillTokens * 1000) / METRICS_WINDOW_MS,
      generationThroughput: (w.generatedTokens * 1000) / METRICS_WINDOW_MS,
      busyRatio: w.busyMs / METRICS_WINDOW_MS,
      promptTokensTotal: this.promptTokensTotal,
      cachedPromptTokensTotal: this.cachedPromptTokensTotal,
      generationTokensTotal: this.generationTokensTotal,
      finishedTotal: this.finishedTotal,
      preemptionsTotal: this.preemptionsTotal,
    };
  }

  resetPrefixCache(): boolean {
    if (!this.pool.clearCached()) return false;
    this.kvObserver?.cleared();
    return true;
  }

  cachedPrefixBlocks(blockHashes: readonly number[]): number {
    return this.pool.matchLength(blockHashes);
  }

  /** Runs every step that ends at or before `now`, buffering their events. */
  private catchUp(now: number): void {
    for (;;) {
      if (this.planAt !== undefined) {
        if (this.planAt >= now) return;
        this.plan(this.planAt);
      }
      if (this.stepEnd === undefined || this.stepEnd > now) return;
      const end = this.stepEnd;
      this.finishStep(end);
      this.stepEnd = undefined;
      this.planAt = end;
    }
  }

  private plan(t: number): void {
    this.planAt = undefined;
    if (this.runningDirty) this.compactRunning();
    const p = this.profile;
    let budget = p.maxBatchedTokens;
    let decodeSeqs = 0;
    let prefill = 0;
    this.stepN = 0;
    this.stepLoadMs = 0;
    const running = this.running;
    const preemptionsBefore = this.preemptionsTotal;
    let prefilling = 0;
    for (let i = 0; i < running.length && budget > 0; i++) {
      const s = running[i] as Seq;
      if (s.computed < s.target) {
        prefilling++;
        continue;
      }
      if (s.computed >= s.capacityTokens && !this.growOrPreempt(s)) break;
      this.schedule(s, 1);
      budget--;
      decodeSeqs++;
    }
    for (let i = 0; prefilling > 0 && i < running.length && budget > 0; i++) {
      const s = running[i] as Seq;
      if (s.computed >= s.target) continue;
      const chunk = Math.min(s.target - s.computed, budget);
      this.schedule(s, chunk);
      budget -= chunk;
      prefill += chunk;
    }
    // No admissions in a step that had to preempt (vLLM does the same): memory is short.
    while (budget > 0 && this.runningCount < p.maxRunning && this.preemptionsTotal === preemptionsBefore) {
      const s = this.peekWaiting();
      if (s === undefined) break;
      const admitted = this.admit(s, t);
      if (admitted === 'never') continue;
      if (admitted === 'later') break;
      const chunk = Math.min(s.target - s.computed, budget);
      this.schedule(s, chunk);
      budget -= chunk;
      prefill += chunk;
    }
    if (this.stepN === 0) return;
    let duration = p.stepOverheadMs + prefill * p.prefillMsPerToken + decodeSeqs * p.decodeMsPerSeq;
    if (this.jitter > 0) duration *= 1 + this.jitter * (2 * this.random() - 1);
    duration += this.stepLoadMs;
    this.stepPrefill = prefill;
    this.stepStart = t;
    this.stepEnd = t + duration;
  }

  private schedule(s: Seq, tokens: number): void {
    this.stepSeqs[this.stepN] = s;
    this.stepTokens[this.stepN] = tokens;
    this.stepN++;
  }

  /** One more block for decoding `s`; preempts from the back of the batch. False if `s` itself went. */
  private growOrPreempt(s: Seq): boolean {
    for (;;) {
      if (this.pool.allocate()) {
        s.privateBlocks++;
        s.capacityTokens += this.bt;
        return true;
      }
      const victim = this.running.pop() as Seq;
      this.preempt(victim);
      if (victim === s) return false;
    }
  }

  private preempt(v: Seq): void {
    this.pool.release(v.shared, v.privateBlocks);
    v.shared.length = 0;
    v.privateBlocks = 0;
    v.capacityTokens = 0;
    v.computed = 0;
    v.registered = 0;
    v.target = v.promptTokens + v.generated;
    v.state = WAITING;
    this.runningCount--;
    this.waitingCount++;
    if (this.waitingHead > 0) this.waiting[--this.waitingHead] = v;
    else this.waiting.unshift(v);
    this.preemptionsTotal++;
  }

  private admit(s: Seq, t: number): 'ok' | 'later' | 'never' {
    const bt = this.bt;
    const totalBlocks = Math.ceil(s.target / bt);
    if (totalBlocks > this.pool.capacity) {
      this.popWaiting();
      s.state = DONE;
      this.seqs.delete(s.id);
      this.outbox.push({ type: 'aborted', id: s.id, at: t });
      return 'never';
    }
    const maxMatch = Math.min(s.hashes.length, Math.floor((s.target - 1) / bt));
    const m = this.pool.admit(s.hashes, maxMatch, totalBlocks, s.shared);
    if (m < 0) return 'later';
    this.popWaiting();
    s.privateBlocks = totalBlocks - m;
    s.capacityTokens = totalBlocks * bt;
    // Blocks past the cache hit that host memory holds are loaded, not computed; they are cached
    // like computed ones once the step ends (registerBlocks).
    const loaded = Math.max(0, Math.min(s.loadableBlocks, maxMatch) - m);
    s.loadedTokens = loaded * bt;
    this.stepLoadMs += loaded * this.loadMsPerBlock;
    s.computed = (m + loaded) * bt;
    s.cachedTokens = m * bt;
    s.registered = m;
    s.admittedAt = t;
    s.state = RUNNING;
    this.running.push(s);
    this.runningCount++;
    return 'ok';
  }

  private finishStep(at: number): void {
    let generated = 0;
    for (let k = 0; k < this.stepN; k++) {
      const s = this.stepSeqs[k] as Seq;
      this.stepSeqs[k] = undefined;
      if (s.state !== RUNNING) continue;
      s.computed += this.stepTokens[k] as number;
      if (s.registered < s.hashes.length) this.registerBlocks(s);
      if (s.computed < s.target) continue;
      generated++;
      if (s.generated === 0) {
        this.outbox.push({
          type: 'first-token',
          id: s.id,
          at,
          cachedTokens: s.cachedTokens,
          admittedAt: s.admittedAt,
          ...(s.loadedTokens > 0 && { loadedTokens: s.loadedTokens, loadMs: (s.loadedTokens / this.bt) * this.loadMsPerBlock }),
        });
        this.promptTokensTotal += s.promptTokens;
        this.cachedPromptTokensTotal += s.cachedTokens;
      } else if (this.tokenEvents) {
        this.outbox.push({ type: 'token', id: s.id, at, index: s.generated });
      }
      s.generated++;
      this.generationTokensTotal++;
      if (s.generated >= s.outputTokens) {
        this.outbox.push({ type: 'finish', id: s.id, at, outputTokens: s.generated });
        this.drop(s);
        s.state = DONE;
        this.seqs.delete(s.id);
        this.finishedTotal++;
      }
    }
    this.log.push(this.stepStart, at, this.stepPrefill, generated);
    this.stepN = 0;
  }

  private registerBlocks(s: Seq): void {
    const upTo = Math.min(s.hashes.length, Math.floor(s.computed / this.bt));
    for (let i = s.registered; i < upTo; i++) {
      const h = s.hashes[i] as number;
      s.shared.push(this.pool.register(h));
      s.privateBlocks--;
      if (this.kvObserver !== undefined && this.pool.created) {
        this.kvObserver.stored(h, i > 0 ? (s.hashes[i - 1] as number) : null, s.tokenIds?.slice(i * this.bt, (i + 1) * this.bt) ?? []);
      }
    }
    if (upTo > s.registered) s.registered = upTo;
  }

  /** Frees a running sequence's blocks and takes it out of the batch (lazily compacted). */
  private drop(s: Seq): void {
    this.pool.release(s.shared, s.privateBlocks);
    s.shared.length = 0;
    s.privateBlocks = 0;
    s.capacityTokens = 0;
    this.runningCount--;
    this.runningDirty = true;
  }

  private compactRunning(): void {
    let j = 0;
    const r = this.running;
    for (let i = 0; i < r.length; i++) if ((r[i] as Seq).state === RUNNING) r[j++] = r[i] as Seq;
    r.length = j;
    this.runningDirty = false;
  }

  private peekWaiting(): Seq | undefined {
    const w = this.waiting;
    while (this.waitingHead < w.length && (w[this.waitingHead] as Seq).state !== WAITING) this.waitingHead++;
    if (this.waitingHead >= w.length) {
      w.length = 0;
      this.waitingHead = 0;
      return undefined;
    }
    return w[this.waitingHead];
  }

  private popWaiting(): void {
    this.waitingHead++;
    this.waitingCount--;
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
  }
}
