/**
 * The routing simulator: one run = one trace at one arrival rate through one router over a fleet of
 * mock-engine models (src/mock-engine createEngineModel, the latency model `brixlet mock-engine`
 * serves), in virtual time on one thread, deterministic for a seed. The loop always takes the
 * earliest of: an engine iteration ending (first tokens and finishes come out, the router's load
 * hooks are called), a metrics scrape (every engine's running / waiting / KV use copied into its
 * EngineState every `scrapeMs`, stale in between as in a real gateway), and an arrival (routed,
 * then submitted to the chosen engine). A multi-turn session's next turn arrives its think time
 * after the previous answer finished.
 *
 * Measured over the requests that arrive after the first `warmupShare` of arrivals (cold caches
 * would otherwise dominate every policy's tail): TTFT and E2E percentiles, the prefix hit rate from
 * the engines' own prefix caches (cached prompt tokens / prompt tokens). Throughput (requests
 * finished per second from the first arrival to the last finish), the load CV (std / mean of
 * requests per engine) and the decision times cover every request.
 */
import { blockHashes } from '../../src/mock-engine/hash.js';
import { createEngineModel } from '../../src/mock-engine/model.js';
import type { EngineModel, GpuProfile, KvCacheObserver } from '../../src/mock-engine/types.js';
import type { EngineState } from '../../src/coordinator/router/types.js';
import { percentile } from '../lib/report.js';
import { PREFIX_BLOCK, type SimRouterFactory, type SimTicket } from './routers.js';
import { openLoopSchedule, schedule, type Trace } from './traces.js';

/** Share of the arrivals (in order) left out of the latency and hit-rate figures: cold caches. */
export const DEFAULT_WARMUP_SHARE = 0.2;

export interface SimOptions {
  readonly trace: Trace;
  /** Offered requests per second (all turns counted). */
  readonly rate: number;
  readonly fleet: readonly GpuProfile[];
  readonly router: SimRouterFactory;
  /** Seeds the router's random choices. */
  readonly seed: number;
  readonly scrapeMs?: number;
  readonly warmupShare?: number;
  /**
   * Explicit open-loop arrivals instead of schedule(trace, rate): request ids in arrival order and
   * their times (ms). Session turns listed here are not also sent after their predecessor.
   */
  readonly arrivals?: { readonly order: readonly number[]; readonly at: Float64Array };
  /** The engines' block hashes per request (per block size), shared across runs of one trace. */
  readonly hashes?: HashCache;
  /**
   * Model time (ms) between an engine's prefix-cache event (block stored or evicted) and a KV-event
   * router seeing it. Default: one engine step at its shortest (each engine's profile.stepOverheadMs),
   * as an engine publishes a step's events after the step. 0: delivered as they happen.
   */
  readonly eventLagMs?: number;
}

export interface SimResult {
  readonly requests: number;
  readonly measured: number;
  readonly ttftP50: number;
  readonly ttftP99: number;
  readonly e2eP50: number;
  readonly e2eP99: number;
  /** Cached prompt tokens / prompt tokens over the measured requests (engine ground truth). */
  readonly hitRate: number;
  /** std / mean of requests per engine. */
  readonly loadCv: number;
  /**
   * Requests finished per second from the first arrival to the last finish: the offered rate less
   * the drain, so lower for a policy that falls behind and leaves a long tail.
   */
  readonly throughput: number;
  readonly decisionP50Us: number;
  readonly decisionP99Us: number;
  /** Requests per engine. */
  readonly perEngine: readonly number[];
  /** Time the last request finished (ms). */
  readonly makespanMs: number;
  /** Preemptions summed over the engines. */
  readonly preemptions: number;
  /** Requests the engines aborted (longer than their whole KV cache). */
  readonly aborted: number;
  /** Blocks the engines' prefix caches keyed (BlockStored events), summed over the engines. */
  readonly blocksStored: number;
  /** Cached blocks the engines evicted to make room (BlockRemoved events), summed over the engines. */
  readonly blocksEvicted: number;
  /** Per-request times (ms; NaN for unmeasured or aborted requests), for tests and calibration. */
  readonly ttft: Float64Array;
  readonly e2e: Float64Array;
  /** Per-request prompt tokens the engine served from its prefix cache (0 before the first token). */
  readonly cachedTokens: Float64Array;
  readonly finishAt: Float64Array;
  readonly arrivalAt: Float64Array;
}

function charCodes(text: string): number[] {
  const out = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Block hashes of every prompt of a trace, per engine block size, computed once. */
export class HashCache {
  private readonly bySize = new Map<number, (number[] | undefined)[]>();
  constructor(private readonly trace: Trace) {}
  get(id: number, blockTokens: number): number[] {
    let arr = this.bySize.get(blockTokens);
    if (arr === undefined) this.bySize.set(blockTokens, (arr = new Array(this.trace.requests.length)));
    let h = arr[id];
    if (h === undefined) arr[id] = h = blockHashes((this.trace.requests[id] as { prompt: string }).prompt, blockTokens);
    return h;
  }
}

interface PendingEvent {
  readonly at: number;
  readonly deliver: () => void;
}

/** Counts an engine's prefix-cache events and passes them on. */
function countingObserver(counts: { stored: number; evicted: number }, next: KvCacheObserver | undefined): KvCacheObserver {
  return {
    stored: (hash, parent, tokenIds) => {
      counts.stored++;
      next?.stored(hash, parent, tokenIds);
    },
    removed: (hash) => {
      counts.evicted++;
      next?.removed(hash);
    },
    cleared: () => next?.cleared(),
  };
}

/** Holds an engine's prefix-cache events for `lagMs` of model time before `next` sees them. */
export function delayedObserver(next: KvCacheObserver, lagMs: number, clock: () => number, queue: PendingEvent[]): KvCacheObserver {
  return {
    stored: (hash, parent, tokenIds) => queue.push({ at: clock() + lagMs, deliver: () => next.stored(hash, parent, tokenIds) }),
    removed: (hash) => queue.push({ at: clock() + lagMs, deliver: () => next.removed(hash) }),
    cleared: () => queue.push({ at: clock() + lagMs, deliver: () => next.cleared() }),
  };
}

/** The EngineState the router sees for a simulated engine. */
export function simEngine(profile: GpuProfile, i: number): EngineState {
  return {
    uid: `e${i}`,
    name: `${profile.name}-${i}`,
    url: `sim://${profile.name}-${i}`,
    models: ['sim'],
    speed: { gpuType: profile.name, prefill: profile.speed.prefill, decode: profile.speed.decode },
    healthy: true,
    load: { inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 },
    // What a gateway reading the engine's KV size learns: its capacity in prefix-index blocks.
    cacheBlocks: Math.floor((profile.kvBlocks * profile.blockTokens) / PREFIX_BLOCK),
  };
}

/** A binary min-heap of (time, request id) for closed-loop turns. */
class TurnHeap {
  private readonly t: number[] = [];
  private readonly id: number[] = [];
  get size(): number {
    return this.t.length;
  }
  peek(): number {
    return this.t.length === 0 ? Infinity : (this.t[0] as number);
  }
  push(time: number, id: number): void {
    const t = this.t;
    const ids = this.id;
    let i = t.length;
    t.push(time);
    ids.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((t[p] as number) < time || ((t[p] as number) === time && (ids[p] as number) <= id)) break;
      t[i] = t[p] as number;
      ids[i] = ids[p] as number;
      i = p;
    }
    t[i] = time;
    ids[i] = id;
  }
  pop(): number {
    const t = this.t;
    const ids = this.id;
    const top = ids[0] as number;
    const lastT = t.pop() as number;
    const lastId = ids.pop() as number;
    if (t.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= t.length) break;
        const r = l + 1;
        const c = r < t.length && ((t[r] as number) < (t[l] as number) || ((t[r] as number) === (t[l] as number) && (ids[r] as number) < (ids[l] as number))) ? r : l;
        if ((t[c] as number) > lastT || ((t[c] as number) === lastT && (ids[c] as number) > lastId)) break;
        t[i] = t[c] as number;
        ids[i] = ids[c] as number;
        i = c;
      }
      t[i] = lastT;
      ids[i] = lastId;
    }
    return top;
  }
}

export function simulate(o: SimOptions): SimResult {
  const { trace } = o;
  const reqs = trace.requests;
  const n = reqs.length;
  const scrapeMs = o.scrapeMs ?? 1000;
  const hashes = o.hashes ?? new HashCache(trace);
  const engines = o.fleet.map(simEngine);
  let now = 0;
  const router = o.router(engines, o.seed, () => now);
  // Every engine's prefix-cache events are counted; a router that reads KV events gets them
  // eventLagMs after they happen, in order, delivered before the next routing decision.
  const counts = { stored: 0, evicted: 0 };
  const pending: PendingEvent[] = [];
  const models: EngineModel[] = o.fleet.map((p, i) => {
    const target = router.kvObserver?.(i, p.blockTokens);
    const lag = o.eventLagMs ?? p.stepOverheadMs;
    const kvObserver = countingObserver(counts, target === undefined ? undefined : lag > 0 ? delayedObserver(target, lag, () => now, pending) : target);
    return createEngineModel(p, { seed: o.seed * 131 + i, tokenEvents: false, kvObserver });
  });
  const deliverEvents = () => {
    // Lags differ per engine: deliver every due event, keeping the rest in order.
    if (pending.length === 0) return;
    let keep = 0;
    for (let i = 0; i < pending.length; i++) {
      const ev = pending[i] as PendingEvent;
      if (ev.at <= now) ev.deliver();
      else pending[keep++] = ev;
    }
    pending.length = keep;
  };
  const wantsTokens = router.kvObserver !== undefined;

  const opens = o.arrivals?.at ?? schedule(trace, o.rate);
  const openIds = o.arrivals?.order ?? trace.openings;
  const closedLoop = o.arrivals === undefined;
  const arrival = new Float64Array(n).fill(NaN);
  const firstAt = new Float64Array(n).fill(NaN);
  const finishAt = new Float64Array(n).fill(NaN);
  const cached = new Float64Array(n);
  const tickets: (SimTicket | undefined)[] = new Array(n);
  const decisions = new Float64Array(n);
  const turns = new TurnHeap();
  let nextOpen = 0;
  let routed = 0;
  let done = 0;
  let aborted = 0;
  let nextScrape = 0;

  // Arrival order defines the warm-up: the first warmupShare of arrivals are not measured.
  const warmupCount = Math.floor(n * (o.warmupShare ?? DEFAULT_WARMUP_SHARE));
  const measuredFrom = new Uint8Array(n);

  const arrive = (id: number) => {
    const r = reqs[id] as (typeof reqs)[number];
    deliverEvents();
    arrival[id] = now;
    if (routed >= warmupCount) measuredFrom[id] = 1;
    const t = router.route(r, now);
    decisions[routed++] = t.decisionMicros;
    tickets[id] = t;
    const model = models[t.engine] as EngineModel;
    model.submit(
      {
        id: String(id),
        promptTokens: r.prompt.length,
        blockHashes: hashes.get(id, model.profile.blockTokens),
        outputTokens: r.outputTokens,
        // Characters are the simulator's tokens: their codes are the token ids the events carry.
        ...(wantsTokens && { tokenIds: charCodes(r.prompt) }),
      },
      now,
    );
  };

  while (done < n) {
    const tOpen = nextOpen < opens.length ? (opens[nextOpen] as number) : Infinity;
    const tTurn = turns.peek();
    let tEngine = Infinity;
    for (const m of models) {
      const t = m.nextEventAt();
      if (t !== undefined && t < tEngine) tEngine = t;
    }
    const tWork = Math.min(tOpen, tTurn, tEngine);
    if (tWork === Infinity) throw new Error(`simulator stalled with ${n - done} requests unfinished`);
    const t = Math.min(tWork, nextScrape);
    now = t;
    if (tEngine <= t) {
      for (let e = 0; e < models.length; e++) {
        const m = models[e] as EngineModel;
        const next = m.nextEventAt();
        if (next === undefined || next > t) continue;
        for (const ev of m.advance(t)) {
          const id = Number(ev.id);
          const ticket = tickets[id] as SimTicket;
          if (ev.type === 'first-token') {
            firstAt[id] = ev.at;
            cached[id] = ev.cachedTokens;
            ticket.firstToken(ev.at);
          } else if (ev.type === 'finish') {
            finishAt[id] = ev.at;
            ticket.release(ev.outputTokens, ev.at);
            done++;
            const r = reqs[id] as (typeof reqs)[number];
            if (closedLoop && r.next !== undefined) turns.push(ev.at + (r.thinkMs ?? 0), r.next);
          } else if (ev.type === 'aborted') {
            ticket.release(0, ev.at);
            aborted++;
            done++;
            const r = reqs[id] as (typeof reqs)[number];
            if (closedLoop && r.next !== undefined) turns.push(ev.at + (r.thinkMs ?? 0), r.next);
          }
        }
      }
    }
    if (nextScrape <= t) {
      for (let e = 0; e < models.length; e++) {
        const m = (models[e] as EngineModel).metrics(t);
        (engines[e] as EngineState).metrics = {
          at: t,
          running: m.running,
          waiting: m.waiting,
          gpuCacheUsage: m.kvUsage,
          promptThroughput: m.promptThroughput,
          generationThroughput: m.generationThroughput,
          busyTimeRatio: m.busyRatio,
        };
      }
      nextScrape = t + scrapeMs;
    }
    while (nextOpen < opens.length && (opens[nextOpen] as number) <= t) arrive(openIds[nextOpen++] as number);
    while (turns.peek() <= t) arrive(turns.pop());
  }

  const ttft = new Float64Array(n).fill(NaN);
  const e2e = new Float64Array(n).fill(NaN);
  const ttftList: number[] = [];
  const e2eList: number[] = [];
  let prompt = 0;
  let hit = 0;
  let measured = 0;
  for (let id = 0; id < n; id++) {
    if (measuredFrom[id] !== 1 || Number.isNaN(finishAt[id] as number) || Number.isNaN(firstAt[id] as number)) continue;
    measured++;
    const a = arrival[id] as number;
    ttft[id] = (firstAt[id] as number) - a;
    e2e[id] = (finishAt[id] as number) - a;
    ttftList.push(ttft[id] as number);
    e2eList.push(e2e[id] as number);
    prompt += (reqs[id] as (typeof reqs)[number]).prompt.length;
    hit += cached[id] as number;
  }
  const perEngine = engines.map((e) => e.load.total);
  const mean = perEngine.reduce((s, x) => s + x, 0) / perEngine.length;
  const sd = Math.sqrt(perEngine.reduce((s, x) => s + (x - mean) ** 2, 0) / perEngine.length);
  let makespan = 0;
  let firstArrival = Infinity;
  let finished = 0;
  for (let id = 0; id < n; id++) {
    firstArrival = Math.min(firstArrival, arrival[id] as number);
    if (Number.isNaN(finishAt[id] as number)) continue;
    finished++;
    makespan = Math.max(makespan, finishAt[id] as number);
  }
  const dec = Array.from(decisions.subarray(0, routed));
  return {
    requests: n,
    measured,
    ttftP50: ttftList.length ? percentile(ttftList, 50) : NaN,
    ttftP99: ttftList.length ? percentile(ttftList, 99) : NaN,
    e2eP50: e2eList.length ? percentile(e2eList, 50) : NaN,
    e2eP99: e2eList.length ? percentile(e2eList, 99) : NaN,
    hitRate: prompt > 0 ? hit / prompt : 0,
    loadCv: mean > 0 ? sd / mean : 0,
    throughput: makespan > firstArrival ? (finished * 1000) / (makespan - firstArrival) : 0,
    decisionP50Us: dec.length ? percentile(dec, 50) : 0,
    decisionP99Us: dec.length ? percentile(dec, 99) : 0,
    perEngine,
    makespanMs: makespan,
    preemptions: models.reduce((s, m) => s + m.metrics(makespan).preemptionsTotal, 0),
    aborted,
    blocksStored: counts.stored,
    blocksEvicted: counts.evicted,
    ttft,
    e2e,
    cachedTokens: cached,
    finishAt,
    arrivalAt: arrival,
  };
}

/** Whether the fleet keeps up: finishes ≥ 95 % of arrivals while arrivals come (30 %–80 % of them). */
function keepsUp(r: SimResult): boolean {
  const at = Array.from(r.arrivalAt).sort((a, b) => a - b);
  const from = at[Math.floor(at.length * 0.3)] as number;
  const to = at[Math.floor(at.length * 0.8)] as number;
  let finished = 0;
  for (const f of r.finishAt) if (f >= from && f < to) finished++;
  return finished >= 0.95 * (Math.floor(at.length * 0.8) - Math.floor(at.length * 0.3));
}

/**
 * Sustainable capacity (requests/s) of a fleet on a trace under a router: the highest offered rate
 * at which finishes keep pace with arrivals (≥ 95 % while arrivals come), found by doubling from
 * `start` and then bisecting `steps` times. Under overload a cached workload thrashes and serves
 * far less than this, so the rate at the knee, not the throughput past it, is the capacity.
 */
export function capacity(trace: Trace, fleet: readonly GpuProfile[], router: SimRouterFactory, start: number, steps = 6, hashes?: HashCache): number {
  const ok = (rate: number) => keepsUp(simulate({ trace, rate, fleet, router, seed: 1, warmupShare: 0, arrivals: openLoopSchedule(trace, rate), ...(hashes ? { hashes } : {}) }));
  let lo = 0;
  let hi = start;
  while (ok(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > start * 1024) throw new Error(`capacity: still keeping up at ${lo} req/s`);
  }
  for (let i = 0; i < steps; i++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
