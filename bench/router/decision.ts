/**
 * Router decision time on the real code path: `Router.route()` (prompt block hashing, the policy,
 * load accounting, the prefix-index insert) over a fleet of engines with scraped metrics, node KV
 * shards and live load, fed chat requests of 1–8k characters that share system prompts the way chat
 * traffic does, each rendered from a freshly parsed body as the gateway renders it. Timed per call with process.hrtime.bigint(); requests stay in flight for a while
 * and are released, so the counters and the index move as they do under load.
 * bench/router.ts reports the numbers; the 50 µs p99 target at 64 engines is checked there.
 */
import { readOpenAiRequest } from '../../src/coordinator/gateway/openai-body.js';
import { charTokenizer } from '../../src/coordinator/gateway/tokenizer.js';
import { createPrefixIndex } from '../../src/coordinator/router/prefix-index.js';
import { Router } from '../../src/coordinator/router/router.js';
import type { EngineState, RouteDecision, RoutingPolicyName } from '../../src/coordinator/router/types.js';
import { percentile } from '../lib/report.js';
import { prng } from '../kv/synthetic.js';

export interface DecisionBenchOptions {
  readonly engines?: number;
  readonly requests?: number;
  readonly policy: RoutingPolicyName;
  /** Requests kept in flight; the oldest is released when a new one is routed. */
  readonly inFlight?: number;
  readonly seed?: number;
  readonly blockTokens?: number;
}

export interface DecisionBenchResult {
  readonly policy: RoutingPolicyName;
  readonly engines: number;
  readonly requests: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
  readonly meanMicros: number;
  readonly maxMicros: number;
  /** The router's own measurement (decisionMicros), p99, for comparison with the outer timer. */
  readonly innerP99Micros: number;
  readonly meanPromptChars: number;
  /** Share of requests whose chosen engine held at least one block of the prompt. */
  readonly matchedShare: number;
}

const WORDS = 'the of and to in is that for it as with was on be by this are from or at an which have not but all'.split(' ');

function text(rand: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) s += `${WORDS[Math.floor(rand() * WORDS.length)]} `;
  return s.slice(0, chars);
}

export function buildFleet(n: number, rand: () => number): EngineState[] {
  const gpuTypes = [
    { gpuType: 'h100', prefill: 1, decode: 1 },
    { gpuType: 'a100', prefill: 0.55, decode: 0.55 },
  ];
  const engines: EngineState[] = [];
  for (let i = 0; i < n; i++) {
    engines.push({
      uid: `uid-${i}`,
      name: `engine-${i}`,
      url: `http://10.0.${i >> 8}.${i & 255}:8000`,
      models: ['m'],
      node: `node-${i >> 3}`,
      speed: gpuTypes[i % 2] as EngineState['speed'],
      healthy: true,
      metrics: {
        at: 0,
        running: Math.floor(rand() * 8),
        waiting: Math.floor(rand() * 4),
        gpuCacheUsage: rand(),
        cpuCacheUsage: rand() * 0.1,
        promptThroughput: rand() * 5000,
        generationThroughput: rand() * 2000,
        avgPromptTokens: 500 + rand() * 2000,
        avgGenerationTokens: 100 + rand() * 300,
        queueTimeMean: rand() * 0.2,
        prefillTimeMean: rand() * 0.5,
        decodeTimeMean: rand() * 3,
        busyTimeRatio: rand(),
      },
      kv: { capacityBytes: 64 * 2 ** 30, usedBytes: rand() * 64 * 2 ** 30, hitRatio: rand() },
      load: { inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 },
      cacheBlocks: 4096,
    });
  }
  return engines;
}

/** Routes `requests` prompts through a real Router over `engines` engines and times each decision. */
export function measureDecisions(opts: DecisionBenchOptions): DecisionBenchResult {
  const n = opts.engines ?? 64;
  const requests = opts.requests ?? 20_000;
  const window = opts.inFlight ?? 4 * n;
  const rand = prng(opts.seed ?? 42);
  const engines = buildFleet(n, rand);
  const prefix = createPrefixIndex({ blockTokens: opts.blockTokens ?? 128, capacity: 200_000 });
  const router = new Router({ defaultPolicy: opts.policy, prefix, random: rand });
  const systems = Array.from({ length: 48 }, () => text(rand, 256 + Math.floor(rand() * 3840)));
  // Request bodies are built up front; each request's prompt is then rendered from a freshly parsed
  // body exactly as the gateway does before it routes (outside the timer, as in the gateway), so the
  // router sees the same kind of string it gets in production.
  const bodies: string[] = [];
  const pool = Math.min(requests, 4096);
  for (let i = 0; i < pool; i++) {
    const system = systems[Math.floor(rand() * rand() * systems.length)] as string;
    const total = 1024 + Math.floor(rand() * 7168);
    const user = text(rand, Math.max(16, total - system.length));
    bodies.push(JSON.stringify({ model: 'm', messages: [{ role: 'system', content: system }, { role: 'user', content: user }] }));
  }
  const outer: number[] = [];
  const inner: number[] = [];
  const live: RouteDecision[] = [];
  let chars = 0;
  let matched = 0;
  const warmup = Math.min(2000, requests >> 2);
  for (let i = 0; i < requests + warmup; i++) {
    const prompt = readOpenAiRequest('chat', JSON.parse(bodies[i % pool] as string) as Record<string, unknown>, charTokenizer).prompt;
    const req = { model: 'm', prompt, promptTokens: prompt.length, maxTokens: i % 3 === 0 ? undefined : 64 + (i % 512) };
    const t0 = process.hrtime.bigint();
    const d = router.route(req, engines);
    const t1 = process.hrtime.bigint();
    if (i >= warmup) {
      outer.push(Number(t1 - t0) / 1000);
      inner.push(d.decisionMicros);
      chars += prompt.length;
      if (d.matchedBlocks > 0) matched++;
    }
    live.push(d);
    if (live.length > window) {
      const done = live.shift() as RouteDecision;
      done.firstToken();
      done.release(50 + (i % 400));
    } else if (live.length > window >> 1) {
      live[live.length >> 1]?.firstToken();
    }
  }
  for (const d of live) d.release();
  return {
    policy: opts.policy,
    engines: n,
    requests,
    p50Micros: percentile(outer, 50),
    p99Micros: percentile(outer, 99),
    meanMicros: outer.reduce((a, b) => a + b, 0) / outer.length,
    maxMicros: Math.max(...outer),
    innerP99Micros: percentile(inner, 99),
    meanPromptChars: chars / requests,
    matchedShare: matched / requests,
  };
}
