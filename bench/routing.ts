/**
 * npm run bench:routing [-- --quick]
 * Trace-driven routing simulator (bench/routing/simulator.ts): N mock-engine models
 * (src/mock-engine createEngineModel, GPU_PROFILES) in virtual time, one thread, deterministic per seed.
 * brixlet's policies run through the real Router (src/coordinator/router). Baselines
 * (bench/routing/baselines) reproduce published rules: AIBrix v0.2 prefix-cache, SGLang
 * cache_aware 0.3/64/1.5, llm-d's default scorer weights 3/2/2 and Dynamo's KV-router cost.
 * random and least-request are brixlet's shipped policies.
 *
 * Cells: shared-prefix, multi-turn, sharegpt and bursty on 8×h100, plus sharegpt on 4×h100 + 4×a10
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
 * Full run: 5 seeds × 8,000 requests per cell. Quick run: 1 seed × 6,000 requests (≈ 20 s).
 *
 * Targets ("baselines" = random, least-request, aibrix-v0.2, sglang, llm-d, dynamo; brixlet's
 * prefix-cache and kv-aware are shown for information):
 * - cost's TTFT p99 ≤ 1.02 × the best baseline's, in every cell;
 * - cost's prefix hit rate ≥ the best baseline's − 0.5 points, in every cell;
 * - cost's TTFT p99 ≥ 30 % below least-request's on shared-prefix and multi-turn.
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

const profile = (name: string): GpuProfile => {
  const p = GPU_PROFILES[name];
  if (p === undefined) throw new Error(`no GPU profile ${name}`);
  return p;
};
const H100 = profile('h100');
const A10 = profile('a10');
const HOMOGENEOUS = Array.from({ length: 8 }, () => H100);
const MIXED = [H100, H100, H100, H100, A10, A10, A10, A10];

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
      const r = simulate({ trace, rate, fleet: cell.fleet, router: p.make, seed, hashes, ...(p.scrapeMs === undefined ? {} : { scrapeMs: p.scrapeMs }) });
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
  rows.push(row(`${cell.name}: offered rate`, 'req/s', true, [rate]));
  rows.push(row(`${cell.name}: offered / ${cell.capacityOf} least-request capacity`, '%', false, [cell.utilisation * 100]));

  const bestTtft = Math.min(...baselines.map((b) => med(b, 'ttftP99')));
  targets.push(target(`${cell.name}: TTFT p99 ≤ 1.02 × best baseline`, 'max', 1.02, med(DEFAULT, 'ttftP99') / bestTtft));
  const bestHit = Math.max(...baselines.map((b) => med(b, 'hitRate')));
  targets.push(target(`${cell.name}: prefix hit rate − best baseline (points) ≥ −0.5`, 'min', -0.5, med(DEFAULT, 'hitRate') - bestHit));
  if (cell.prefixHeavy) {
    targets.push(target(`${cell.name}: TTFT p99 reduction vs least-request ≥ 30 %`, 'min', 30, 100 * (1 - med(DEFAULT, 'ttftP99') / med('least-request', 'ttftP99'))));
  }
}

writeReport('routing', args, rows, targets);
log('done');
