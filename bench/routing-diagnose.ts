/**
 * node scripts/bench.mjs routing-diagnose [-- --workload shared-prefix --rate 24 --seed 1 --kv-share 0.125 --requests 6000]
 * Where precise routing (cost on the KV-event index) and cost on the approximate index part ways, one
 * run each on one trace over 8 h100s with `--kv-share` of their KV (default the evicting cells' ⅛;
 * --rate default 24 req/s, ≈ 75 % of what least-request sustains there, as bench:routing measures).
 * Both runs keep an exact KV-event index fed by the engines (events one engine step late, as in
 * bench:routing); only the precise run routes on it. For every measured request (after the first
 * 20 % of arrivals) it records what the exact index said before the decision (no engine holds any
 * block of the prompt, or some does), whether the approximate index named a holder, where the
 * request went, and whether the previous request with the same first 48 characters (a shared-prefix
 * group) was still waiting for its first token. Printed per bucket: share of requests, prefix hit rate
 * from the engine (ground truth), share sent to the group's previous engine and to the approximate
 * index's best holder, share whose group predecessor was still prefilling.
 */
import { performance } from 'node:perf_hooks';
import { GPU_PROFILES } from '../src/mock-engine/profiles.js';
import type { GpuProfile } from '../src/mock-engine/types.js';
import { HybridPrefixIndex } from '../src/coordinator/router/hybrid-prefix-index.js';
import { createKvEventIndex } from '../src/coordinator/router/kv-event-index.js';
import { createPrefixIndex } from '../src/coordinator/router/prefix-index.js';
import { Router } from '../src/coordinator/router/router.js';
import type { EngineState } from '../src/coordinator/router/types.js';
import { prng } from './kv/synthetic.js';
import { eventFeed, PREFIX_BLOCK, PREFIX_CAPACITY, type SimRouterFactory } from './routing/routers.js';
import { HashCache, simulate } from './routing/simulator.js';
import { buildTrace, type WorkloadName } from './routing/traces.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] as string) : d;
};
const workload = arg('workload', 'shared-prefix') as WorkloadName;
const rate = Number(arg('rate', '24'));
const seed = Number(arg('seed', '1'));
const share = Number(arg('kv-share', '0.125'));
const n = Number(arg('requests', '6000'));
const H100 = GPU_PROFILES['h100'] as GpuProfile;
const fleet = Array.from({ length: 8 }, () => ({ ...H100, kvBlocks: Math.floor(H100.kvBlocks * share) }));

interface Rec {
  exactHolders: number;
  exactBest: number;
  approxBestEngine: number;
  approxBest: number;
  chosen: number;
  groupLast: number;
  groupLastPending: boolean;
  exactChosen: number;
}

const trace = buildTrace(workload, seed, n);
const hashes = new HashCache(trace);
const groupKey = (p: string) => p.slice(0, 48);

for (const precise of [false, true]) {
  const recs: Rec[] = new Array(n);
  const make: SimRouterFactory = (engines, s, clock) => {
    const index = new Map(engines.map((e, i) => [e.uid, i]));
    const approx = createPrefixIndex({ blockTokens: PREFIX_BLOCK, capacity: PREFIX_CAPACITY });
    const exact = createKvEventIndex({ capacity: 4 * PREFIX_CAPACITY, staleMs: Infinity });
    const hybrid = new HybridPrefixIndex(approx, exact, { now: clock });
    const router = new Router({ defaultPolicy: 'cost', prefix: precise ? hybrid : approx, random: prng(s), now: clock });
    const last = new Map<string, { engine: number; pending: { v: boolean } }>();
    return {
      name: precise ? 'precise' : 'cost',
      kvObserver: (i, bs) => eventFeed(exact, (engines[i] as EngineState).uid, bs, clock),
      route(req) {
        const b = hybrid.blocks(req.prompt);
        let exactHolders = 0;
        let exactBest = 0;
        const exactBy = new Map<string, number>();
        exact.matchLive(b, (uid, t) => {
          if (t > 0) {
            exactHolders++;
            exactBest = Math.max(exactBest, t);
            exactBy.set(uid, t);
          }
        });
        let approxBestEngine = -1;
        let approxBest = 0;
        for (const [uid, m] of approx.matches(b)) if (m > approxBest) [approxBest, approxBestEngine] = [m, index.get(uid) as number];
        const g = groupKey(req.prompt);
        const prev = last.get(g);
        const t0 = performance.now();
        const d = router.route({ model: 'sim', prompt: req.prompt, promptTokens: req.prompt.length, maxTokens: req.maxTokens }, engines);
        const decisionMicros = (performance.now() - t0) * 1000;
        const chosen = index.get(d.engine.uid) as number;
        recs[req.id] = { exactHolders, exactBest, approxBestEngine, approxBest, chosen, groupLast: prev?.engine ?? -1, groupLastPending: prev?.pending.v ?? false, exactChosen: exactBy.get(d.engine.uid) ?? 0 };
        const pending = { v: true };
        last.set(g, { engine: chosen, pending });
        return {
          engine: chosen,
          decisionMicros,
          firstToken: () => {
            pending.v = false;
            d.firstToken();
          },
          release: (out) => d.release(out),
        };
      },
    };
  };
  const r = simulate({ trace, rate, fleet, router: make, seed, hashes });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (r.arrivalAt[a] as number) - (r.arrivalAt[b] as number));
  const measured = order.slice(Math.floor(n * 0.2));
  type Bucket = { n: number; prompt: number; cached: number; toLast: number; toApprox: number; lastPending: number };
  const buckets = new Map<string, Bucket>();
  const add = (k: string, id: number, rec: Rec) => {
    let bk = buckets.get(k);
    if (!bk) buckets.set(k, (bk = { n: 0, prompt: 0, cached: 0, toLast: 0, toApprox: 0, lastPending: 0 }));
    bk.n++;
    bk.prompt += (trace.requests[id] as { prompt: string }).prompt.length;
    bk.cached += r.cachedTokens[id] as number;
    if (rec.chosen === rec.groupLast) bk.toLast++;
    if (rec.chosen === rec.approxBestEngine) bk.toApprox++;
    if (rec.groupLastPending) bk.lastPending++;
  };
  for (const id of measured) {
    const rec = recs[id] as Rec;
    add('all', id, rec);
    add(rec.exactHolders === 0 ? 'exact: no holder' : 'exact: some holder', id, rec);
    if (rec.exactHolders === 0) add(rec.approxBest > 0 ? '  no holder, approx names one' : '  no holder, approx none', id, rec);
    if (rec.exactHolders === 0) add(rec.groupLastPending ? '  no holder, group last still pending' : '  no holder, group last done', id, rec);
  }
  console.log(`\n${precise ? 'cost+kv-events' : 'cost'} ${workload} share ${share} rate ${rate} seed ${seed}: hit ${(r.hitRate * 100).toFixed(2)} % ttft p99 ${r.ttftP99.toFixed(0)} evicted/req ${(r.blocksEvicted / r.requests).toFixed(1)}`);
  console.log(`  ${'bucket'.padEnd(40)} ${'share'.padStart(7)} ${'hit%'.padStart(7)} ${'→last'.padStart(7)} ${'→apx'.padStart(7)} ${'lastPend'.padStart(8)}`);
  const all = (buckets.get('all') as Bucket).n;
  for (const [k, b] of buckets) console.log(`  ${k.padEnd(40)} ${((100 * b.n) / all).toFixed(1).padStart(7)} ${((100 * b.cached) / b.prompt).toFixed(1).padStart(7)} ${((100 * b.toLast) / b.n).toFixed(1).padStart(7)} ${((100 * b.toApprox) / b.n).toFixed(1).padStart(7)} ${((100 * b.lastPending) / b.n).toFixed(1).padStart(8)}`);
}
