/**
 * npm run bench:routing [-- --quick]
 * Trace-driven routing simulator (bench/routing/simulator.ts): N mock-engine models
 * (src/mock-engine createEngineModel, GPU_PROFILES) in virtual time, one thread, deterministic per seed.
 * brixlet's policies run through the real Router (src/coordinator/router). Baselines
 * (bench/routing/baselines) reproduce published rules: AIBrix v0.2 prefix-cache, SGLang
 * cache_aware 0.3/64/1.5, llm-d's default scorer weights 3/2/2 and Dynamo's KV-router cost.
 * random and least-request are brixlet's shipped policies.
 *
 * Cells: shared-prefix, multi-turn, sharegpt and bursty on 8×h100, sharegpt on 4×h100 + 4×a10, and
 * shared-prefix and multi-turn on 8 h100s with an eighth of their KV (the evicting cells, below)
 * (bench/routing/traces.ts describes the workloads). Load: each cell's capacity is the highest rate
 * least-request sustains (finishes keep pace with arrivals; simulator.ts `capacity`, measured on
 * seed 1). The cell then runs at 75 % of that. Bursty runs at a mean of 60 % of the shared-prefix
 * capacity: its 3 s bursts come at 2.5× the mean, so 1.5× capacity. Metrics are scraped every 1 s
 * of model time (the gateway's probe interval; llm-d every 50 ms, its EPP default). In-flight counts
 * are live. The first 20 % of arrivals are warm-up and left out of latency and hit rate.
 *
 * Reported per cell and policy, as the median over seeds: TTFT p50/p99, E2E p50/p99, prefix hit
 * rate (cached prompt tokens / prompt tokens, the engines' ground truth), load CV (std/mean of
 * requests per engine), throughput, decision time p99. A baseline's decision time measures this
 * TypeScript reproduction of its rule, not the original system.
 * Full run: 5 seeds × 8,000 requests per cell. Quick run: 1 seed × 6,000 requests (≈ 40 s on 2 cores).
 *
 * Targets ("baselines" = random, least-request, aibrix-v0.2, sglang, llm-d, dynamo; brixlet's
 * prefix-cache and kv-aware are shown for information):
 * - cost's TTFT p99 ≤ 1.02 × the best baseline's, in every cell;
 * - cost's prefix hit rate ≥ the best baseline's − 0.5 points, in every cell;
 * - cost's TTFT p99 ≥ 30 % below least-request's on shared-prefix and multi-turn.
 * - precise routing (cost+kv-events: the exact index fed by the engines' prefix-cache store/evict
 *   events, `--event-lag-ms` after them, default one engine step) has a prefix hit rate ≥ and a TTFT
 *   p99 ≤ every other row's, in every cell; its gap to the approximate index (cost) is reported.
 *
 * The two "evicting" cells run shared-prefix and multi-turn on h100s with an eighth of their KV
 * blocks (KV_SHARE): the working set exceeds the fleet's caches, which evict under load, so an index learnt
 * from routing history (the approximate one, never told of evictions) goes stale. Each cell reports
 * the engines' evicted blocks per request.
 */
import { GPU_PROFILES } from '../src/mock-engine/profiles.js';
import type { GpuProfile } from '../src/mock-engine/types.js';
import { benchArgs, median, row, type Row, target, type Target, writeReport } from './lib/report.js';
import { POLICY_ENTRIES, type PolicyEntry } from './routing/routers.js';
import { capacity, HashCache, simulate, type SimResult } from './routing/simulator.js';
import { buildTrace, type WorkloadName } from './routing/traces.js';

const args = benchArgs();
// Each seed is a different trace and router seed. Quick: one seed, but traces long enough that the
// rarer shared prefixes have all been seen before the measured part starts.
const SEEDS = Array.from({ length: args.quick ? 1 : 5 }, (_, i) => i + 1);
const REQUESTS = args.quick ? 6000 : 8000;
const CAPACITY_STEPS = args.quick ? 4 : 6;
const UTILISATION = 0.75;
const BURSTY_UTILISATION = 0.6;
const DEFAULT = 'cost';
// `--event-lag-ms N`: model time between an engine's prefix-cache event and the exact index seeing
// it. Default: one engine step at its shortest (the profile's step overhead, 5.8 ms on an h100).
const lagAt = process.argv.indexOf('--event-lag-ms');
const EVENT_LAG_MS = lagAt > 0 ? Number(process.argv[lagAt + 1]) : undefined;
if (EVENT_LAG_MS !== undefined && !(EVENT_LAG_MS >= 0)) throw new Error('--event-lag-ms takes a number of milliseconds ≥ 0');

const profile = (name: string): GpuProfile => {
  const p = GPU_PROFILES[name];
  if (p === undefined) throw new Error(`no GPU profile ${name}`);
  return p;
};
const H100 = profile('h100');
const A10 = profile('a10');
const HOMOGENEOUS = Array.from({ length: 8 }, () => H100);
const MIXED = [H100, H100, H100, H100, A10, A10, A10, A10];
/**
 * The evicting cells' engines: an h100 with an eighth of its KV blocks (3,520 blocks ≈ 56k tokens, as
 * an engine serving a larger model would have), so the whole fleet's KV (≈ 450k tokens, shared by
 * running sequences and the prefix cache) is below the shared-prefix workload's prefix working set
 * (128 groups ≈ 512k tokens) and no routing can keep every prefix cached: the caches evict under
 * load, and an index learnt from routing history, never told of evictions, goes stale.
 */
const KV_SHARE = 1 / 8;
const H100_SMALL_KV: GpuProfile = { ...H100, kvBlocks: Math.floor(H100.kvBlocks * KV_SHARE) };
const SMALL_KV = Array.from({ length: 8 }, () => H100_SMALL_KV);
/** The precise row (exact KV-event index) and the approximate one it is compared with. */
const PRECISE = 'cost+kv-events';
const APPROXIMATE = 'cost';

interface Cell {
  readonly name: string;
  readonly workload: WorkloadName;
  readonly fleet: readonly GpuProfile[];
  /** Cell whose capacity sets this one's rate (bursty: shared-prefix), and the share of it. */
  readonly capacityOf: string;
  readonly utilisation: number;
  readonly prefixHeavy: boolean;
}

const CELLS: readonly Cell[] = [
  { name: 'shared-prefix', workload: 'shared-prefix', fleet: HOMOGENEOUS, capacityOf: 'shared-prefix', utilisation: UTILISATION, prefixHeavy: true },
  { name: 'multi-turn', workload: 'multi-turn', fleet: HOMOGENEOUS, capacityOf: 'multi-turn', utilisation: UTILISATION, prefixHeavy: true },
  { name: 'sharegpt', workload: 'sharegpt', fleet: HOMOGENEOUS, capacityOf: 'sharegpt', utilisation: UTILISATION, prefixHeavy: false },
  { name: 'bursty', workload: 'bursty', fleet: HOMOGENEOUS, capacityOf: 'shared-prefix', utilisation: BURSTY_UTILISATION, prefixHeavy: false },
  { name: 'sharegpt 4×h100+4×a10', workload: 'sharegpt', fleet: MIXED, capacityOf: 'sharegpt 4×h100+4×a10', utilisation: UTILISATION, prefixHeavy: false },
  { name: 'shared-prefix, evicting', workload: 'shared-prefix', fleet: SMALL_KV, capacityOf: 'shared-prefix, evicting', utilisation: UTILISATION, prefixHeavy: true },
  { name: 'multi-turn, evicting', workload: 'multi-turn', fleet: SMALL_KV, capacityOf: 'multi-turn, evicting', utilisation: UTILISATION, prefixHeavy: true },
];

const t0 = performance.now();
const log = (msg: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
const leastRequest = POLICY_ENTRIES.find((p) => p.name === 'least-request') as PolicyEntry;

const capacities = new Map<string, number>();
for (const cell of CELLS) {
  if (cell.capacityOf !== cell.name) continue;
  const trace = buildTrace(cell.workload, 1, REQUESTS);
  const c = capacity(trace, cell.fleet, leastRequest.make, 50, CAPACITY_STEPS, new HashCache(trace));
  capacities.set(cell.name, c);
  log(`${cell.name}: least-request sustains ${c.toFixed(1)} req/s`);
}

type Metric = 'ttftP50' | 'ttftP99' | 'e2eP50' | 'e2eP99' | 'hitRate' | 'loadCv' | 'throughput' | 'decisionP99Us';
const METRICS: readonly { readonly key: Metric; readonly label: string; readonly unit: string; readonly higher: boolean; readonly scale: number }[] = [
  { key: 'ttftP50', label: 'TTFT p50', unit: 'ms', higher: false, scale: 1 },
  { key: 'ttftP99', label: 'TTFT p99', unit: 'ms', higher: false, scale: 1 },
  { key: 'e2eP50', label: 'E2E p50', unit: 'ms', higher: false, scale: 1 },
  { key: 'e2eP99', label: 'E2E p99', unit: 'ms', higher: false, scale: 1 },
  { key: 'hitRate', label: 'prefix hit rate', unit: '%', higher: true, scale: 100 },
  { key: 'loadCv', label: 'load CV', unit: '', higher: false, scale: 1 },
  { key: 'throughput', label: 'throughput', unit: 'req/s', higher: true, scale: 1 },
  { key: 'decisionP99Us', label: 'decision p99', unit: 'µs', higher: false, scale: 1 },
];

const rows: Row[] = [];
const targets: Target[] = [];
const baselines = POLICY_ENTRIES.filter((p) => p.baseline).map((p) => p.name);
const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

for (const cell of CELLS) {
  const cap = capacities.get(cell.capacityOf) as number;
  const rate = cap * cell.utilisation;
  const runs = new Map<string, SimResult[]>(POLICY_ENTRIES.map((p) => [p.name, []]));
  for (const seed of SEEDS) {
    const trace = buildTrace(cell.workload, seed, REQUESTS);
    const hashes = new HashCache(trace);
    for (const p of POLICY_ENTRIES) {
      const r = simulate({ trace, rate, fleet: cell.fleet, router: p.make, seed, hashes, ...(p.scrapeMs === undefined ? {} : { scrapeMs: p.scrapeMs }), ...(EVENT_LAG_MS === undefined ? {} : { eventLagMs: EVENT_LAG_MS }) });
      (runs.get(p.name) as SimResult[]).push(r);
    }
  }
  log(`${cell.name}: ${SEEDS.length} seed(s) × ${POLICY_ENTRIES.length} policies at ${rate.toFixed(1)} req/s`);

  const values = (policy: string, m: (typeof METRICS)[number]) => (runs.get(policy) as SimResult[]).map((r) => r[m.key] * m.scale);
  const med = (policy: string, key: Metric) => median(values(policy, METRICS.find((m) => m.key === key) as (typeof METRICS)[number]));

  // Readable table: medians over seeds.
  const lines = [`\n${cell.name} — ${cell.fleet.length} engines (${[...new Set(cell.fleet.map((f) => f.name))].join('+')}), ${rate.toFixed(1)} req/s = ${(cell.utilisation * 100).toFixed(0)} % of ${cell.capacityOf} capacity (${cap.toFixed(1)} req/s), medians of ${SEEDS.length} seed(s)`];
  const heads = METRICS.map((m) => `${m.label}${m.unit ? ` ${m.unit}` : ''}`);
  lines.push(`  ${'policy'.padEnd(14)}${heads.map((h) => h.padStart(Math.max(11, h.length + 2))).join('')}`);
  for (const p of POLICY_ENTRIES) lines.push(`  ${p.name.padEnd(14)}${METRICS.map((m, i) => fmt(median(values(p.name, m))).padStart(Math.max(11, (heads[i] as string).length + 2))).join('')}`);
  console.log(lines.join('\n'));

  for (const m of METRICS) {
    rows.push(row(`${cell.name}: ${m.label}`, m.unit, m.higher, values(DEFAULT, m), Object.fromEntries(POLICY_ENTRIES.filter((p) => p.name !== DEFAULT).map((p) => [p.name, values(p.name, m)]))));
  }
  const evictedPerRequest = (policy: string) => (runs.get(policy) as SimResult[]).map((r) => r.blocksEvicted / r.requests);
  rows.push(row(`${cell.name}: engine blocks evicted per request`, 'blocks', false, evictedPerRequest(DEFAULT), Object.fromEntries(POLICY_ENTRIES.filter((p) => p.name !== DEFAULT).map((p) => [p.name, evictedPerRequest(p.name)]))));
  rows.push(row(`${cell.name}: offered rate`, 'req/s', true, [rate]));
  rows.push(row(`${cell.name}: offered / ${cell.capacityOf} least-request capacity`, '%', false, [cell.utilisation * 100]));

  const bestTtft = Math.min(...baselines.map((b) => med(b, 'ttftP99')));
  targets.push(target(`${cell.name}: TTFT p99 ≤ 1.02 × best baseline`, 'max', 1.02, med(DEFAULT, 'ttftP99') / bestTtft));
  const bestHit = Math.max(...baselines.map((b) => med(b, 'hitRate')));
  targets.push(target(`${cell.name}: prefix hit rate − best baseline (points) ≥ −0.5`, 'min', -0.5, med(DEFAULT, 'hitRate') - bestHit));
  // Precise routing (the exact index fed by the engines' events after the event lag) against every other row.
  const others = POLICY_ENTRIES.map((p) => p.name).filter((p) => p !== PRECISE);
  const diff = (key: Metric) => (runs.get(PRECISE) as SimResult[]).map((r, i) => (r[key] - ((runs.get(APPROXIMATE) as SimResult[])[i] as SimResult)[key]) * (key === 'hitRate' ? 100 : 1));
  rows.push(row(`${cell.name}: ${PRECISE} − ${APPROXIMATE} prefix hit rate`, 'points', true, diff('hitRate')));
  rows.push(row(`${cell.name}: ${PRECISE} − ${APPROXIMATE} TTFT p99`, 'ms', false, diff('ttftP99')));
  targets.push(target(`${cell.name}: precise (${PRECISE}) prefix hit rate − best other row (points) ≥ 0`, 'min', 0, med(PRECISE, 'hitRate') - Math.max(...others.map((p) => med(p, 'hitRate')))));
  targets.push(target(`${cell.name}: precise (${PRECISE}) TTFT p99 / best other row ≤ 1`, 'max', 1, med(PRECISE, 'ttftP99') / Math.min(...others.map((p) => med(p, 'ttftP99')))));
  if (cell.prefixHeavy) {
    targets.push(target(`${cell.name}: TTFT p99 reduction vs least-request ≥ 30 %`, 'min', 30, 100 * (1 - med(DEFAULT, 'ttftP99') / med('least-request', 'ttftP99'))));
  }
}

writeReport('routing', args, rows, targets);
log('done');
