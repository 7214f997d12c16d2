/**
 * The policies the simulator compares, behind one interface. brixlet's policies run through the
 * real Router (src/coordinator/router: its prefix index with the gateway's default block and
 * capacity, its load accounting, one seeded Router per run); the baselines (./baselines) get the
 * same EngineState objects with the same in-flight accounting done here. Decision time is the wall
 * time of one route() call, whoever routes.
 */
import { performance } from 'node:perf_hooks';
import type { PolicyOptions } from '../../src/coordinator/router/policies/index.js';
import { HybridPrefixIndex } from '../../src/coordinator/router/hybrid-prefix-index.js';
import { createKvEventIndex, type KvEventIndex } from '../../src/coordinator/router/kv-event-index.js';
import { createPrefixIndex } from '../../src/coordinator/router/prefix-index.js';
import type { KvCacheObserver } from '../../src/mock-engine/types.js';
import { chargeLoad } from '../../src/coordinator/router/route-decision.js';
import { Router } from '../../src/coordinator/router/router.js';
import type { EngineState, RoutingPolicyName } from '../../src/coordinator/router/types.js';
import { prng } from '../kv/synthetic.js';
import { aibrixV02 } from './baselines/aibrix-v02.js';
import { dynamoKvRouter } from './baselines/dynamo.js';
import { llmdScheduler } from './baselines/llm-d.js';
import { sglangCacheAware } from './baselines/sglang.js';
import type { Baseline } from './baselines/types.js';
import type { TraceRequest } from './traces.js';

/** The gateway's defaults (gateway.prefixBlock, gateway.prefixCapacity). */
export const PREFIX_BLOCK = 128;
export const PREFIX_CAPACITY = 200_000;

export interface SimTicket {
  /** Index of the chosen engine. */
  readonly engine: number;
  readonly decisionMicros: number;
  firstToken(now: number): void;
  release(outputTokens: number, now: number): void;
}

export interface SimRouter {
  readonly name: string;
  route(req: TraceRequest, now: number): SimTicket;
  /** For a router fed by KV events: the observer of engine i's prefix cache (blocks of `blockSize` tokens). */
  kvObserver?(engine: number, blockSize: number): KvCacheObserver;
}

/** Builds a fresh router over the run's engines; `clock` reads the simulator's model time. */
export type SimRouterFactory = (engines: readonly EngineState[], seed: number, clock: () => number) => SimRouter;

export interface PolicyEntry {
  readonly name: string;
  /** brixlet's shipped policy (random and least-request count as the naive baselines). */
  readonly brixlet: boolean;
  /** Counted among the baselines the targets compare against (the naive two and the published rules). */
  readonly baseline: boolean;
  /** How often this router reads engine metrics (ms of model time); default the gateway's 1 s. */
  readonly scrapeMs?: number;
  readonly make: SimRouterFactory;
}

/**
 * One engine's prefix-cache events as the gateway's subscription would deliver them: a batch per
 * event, engine hashes as decimal strings, token ids with every stored block.
 */
export function eventFeed(exact: KvEventIndex, uid: string, blockSize: number, clock: () => number): KvCacheObserver {
  let seq = 0n;
  const send = (events: Parameters<KvEventIndex['ingest']>[1]['batch']['events']) => exact.ingest(uid, { topic: 'sim', seq: seq++, batch: { ts: clock() / 1000, events, dataParallelRank: null } }, clock());
  return {
    stored: (hash, parent, tokenIds) =>
      send([{ type: 'BlockStored', blockHashes: [String(hash)], parentBlockHash: parent === null ? null : String(parent), tokenIds, blockSize, loraId: null, medium: null, loraName: null }]),
    removed: (hash) => send([{ type: 'BlockRemoved', blockHashes: [String(hash)], medium: null }]),
    cleared: () => send([{ type: 'AllBlocksCleared' }]),
  };
}

/**
 * A brixlet policy through the real Router (`options`: policy options, for tuning runs). With
 * `kvEvents`, the Router's index is the gateway's --gateway.kv-events one: exact matches from the
 * engines' prefix-cache events (the simulator delivers them after its eventLagMs); the approximate
 * index beside it still learns from routing history only.
 */
export function viaRouter(policy: RoutingPolicyName, options?: PolicyOptions, kvEvents = false): SimRouterFactory {
  return (engines, seed, clock) => {
    const index = new Map(engines.map((e, i) => [e.uid, i]));
    const approx = createPrefixIndex({ blockTokens: PREFIX_BLOCK, capacity: PREFIX_CAPACITY });
    const exact = kvEvents ? createKvEventIndex({ capacity: 4 * PREFIX_CAPACITY, staleMs: Infinity }) : undefined;
    const router = new Router({
      defaultPolicy: policy,
      prefix: exact === undefined ? approx : new HybridPrefixIndex(approx, exact, { now: clock }),
      random: prng(seed),
      now: clock,
      ...(options === undefined ? {} : { policyOptions: options }),
    });
    return {
      name: kvEvents ? `${policy}+kv-events` : policy,
      ...(exact !== undefined && { kvObserver: (i: number, blockSize: number) => eventFeed(exact, (engines[i] as EngineState).uid, blockSize, clock) }),
      route(req) {
        const t0 = performance.now();
        const d = router.route({ model: 'sim', prompt: req.prompt, promptTokens: req.prompt.length, maxTokens: req.maxTokens }, engines);
        const decisionMicros = (performance.now() - t0) * 1000;
        return {
          engine: index.get(d.engine.uid) as number,
          decisionMicros,
          firstToken: () => d.firstToken(),
          release: (out) => d.release(out),
        };
      },
    };
  };
}

function viaBaseline(make: (random: () => number) => Baseline): SimRouterFactory {
  return (engines, seed) => {
    const b = make(prng(seed));
    return {
      name: b.name,
      route(req, now) {
        const t0 = performance.now();
        const c = b.choose(req, engines, now);
        const e = engines[c.engine] as EngineState;
        chargeLoad(e.load, req.prompt.length, req.maxTokens);
        const decisionMicros = (performance.now() - t0) * 1000;
        let phase = 0;
        return {
          engine: c.engine,
          decisionMicros,
          firstToken(t) {
            if (phase !== 0) return;
            phase = 1;
            e.load.prefillTokens = Math.max(0, e.load.prefillTokens - req.prompt.length);
            e.load.decoding++;
            c.firstToken?.(t);
          },
          release(_out, t) {
            if (phase === 2) return;
            if (phase === 0) e.load.prefillTokens = Math.max(0, e.load.prefillTokens - req.prompt.length);
            else e.load.decoding = Math.max(0, e.load.decoding - 1);
            phase = 2;
            e.load.inFlight = Math.max(0, e.load.inFlight - 1);
            e.load.decodeTokens = Math.max(0, e.load.decodeTokens - req.maxTokens);
            c.release?.(t);
          },
        };
      },
    };
  };
}

/** Every policy the simulator runs, brixlet's default (cost) first. */
export const POLICY_ENTRIES: readonly PolicyEntry[] = [
  { name: 'cost', brixlet: true, baseline: false, make: viaRouter('cost') },
  { name: 'random', brixlet: true, baseline: true, make: viaRouter('random') },
  { name: 'least-request', brixlet: true, baseline: true, make: viaRouter('least-request') },
  { name: 'aibrix-v0.2', brixlet: false, baseline: true, make: viaBaseline((random) => aibrixV02({ random })) },
  { name: 'sglang', brixlet: false, baseline: true, make: viaBaseline((random) => sglangCacheAware({ random })) },
  // The EPP refreshes endpoint metrics every 50 ms by default (--refresh-metrics-interval).
  { name: 'llm-d', brixlet: false, baseline: true, scrapeMs: 50, make: viaBaseline((random) => llmdScheduler({ random })) },
  { name: 'dynamo', brixlet: false, baseline: true, make: viaBaseline((random) => dynamoKvRouter({ random })) },
  { name: 'prefix-cache', brixlet: true, baseline: false, make: viaRouter('prefix-cache') },
  { name: 'kv-aware', brixlet: true, baseline: false, make: viaRouter('kv-aware') },
  // cost on exact matches from the engines' KV events (--gateway.kv-events).
  { name: 'cost+kv-events', brixlet: true, baseline: false, make: viaRouter('cost', undefined, true) },
];
