// Builders for router tests: engines with chosen metrics/load, a seeded generator, a policy context.
import { seededRandom } from '../../../src/common/seeded-random.js';
import { createPrefixIndex, type BlockPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import type { EngineLoad, EngineMetrics, EngineState, NodeKvView, PolicyChoice, PolicyContext, RouteRequest, RoutingPolicy } from '../../../src/coordinator/router/types.js';

/** Uniform in [0, 1), deterministic per seed. */
export const seeded = seededRandom;

export interface EngineOpts {
  readonly metrics?: Omit<EngineMetrics, 'at'>;
  readonly inFlight?: number;
  readonly load?: Partial<EngineLoad>;
  readonly kv?: NodeKvView;
  readonly cacheBlocks?: number;
  readonly speed?: number;
}

export function engine(name: string, o: EngineOpts = {}): EngineState {
  return {
    uid: `uid-${name}`,
    name,
    url: `http://${name}:8000`,
    models: ['m'],
    speed: { gpuType: 'h100', prefill: o.speed ?? 1, decode: o.speed ?? 1 },
    healthy: true,
    ...(o.metrics === undefined ? {} : { metrics: { at: 0, ...o.metrics } }),
    ...(o.kv === undefined ? {} : { kv: o.kv }),
    ...(o.cacheBlocks === undefined ? {} : { cacheBlocks: o.cacheBlocks }),
    load: { inFlight: o.inFlight ?? 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0, ...o.load },
  };
}

export function fleet(n: number, o: EngineOpts = {}): EngineState[] {
  return Array.from({ length: n }, (_, i) => engine(`e${i}`, o));
}

export function index(blockTokens = 4, capacity = 10_000): BlockPrefixIndex {
  return createPrefixIndex({ blockTokens, capacity });
}

export function context(prefix = index(), seed = 1): PolicyContext {
  return { prefix, random: seeded(seed), now: 0 };
}

export function request(prompt: string, extra: Partial<RouteRequest> = {}): RouteRequest {
  return { model: 'm', prompt, promptTokens: prompt.length, ...extra };
}

/** Random lower-case text of `n` characters from a seeded generator. */
export function text(n: number, rand: () => number): string {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = 97 + Math.floor(rand() * 26);
  return Buffer.from(bytes.buffer, 0, n).toString('latin1');
}

/** Runs one policy decision the way the router does (blocks from the context's index). */
export function choose(policy: RoutingPolicy, candidates: readonly EngineState[], prompt = 'p', ctx = context(), extra: Partial<RouteRequest> = {}): PolicyChoice {
  return policy.choose(request(prompt, extra), ctx.prefix.blocks(prompt), candidates, ctx);
}

/** How often each engine name is chosen over `n` decisions. */
export function tally(n: number, pick: () => EngineState): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = pick().name;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}
