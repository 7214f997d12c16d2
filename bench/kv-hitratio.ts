/**
 * npm run bench:kv-hitratio [-- --quick]
 * Offline replay of KV block traffic through the eviction policies (no data moves): every request
 * looks up its longest cached prefix, touches it deepest first, then seals its missing blocks root to
 * leaf, evicting leaf first (src/kvcache/eviction/chain-cache.ts, the shard's semantics). Reported:
 * the prefix-hit ratio, Σ contiguous hits from block 0 / Σ blocks requested over all requests from a
 * cold cache (no warm-up), for the default policy (brixlet) against LRU, FIFO, S3-FIFO (10 % and
 * 30 % small queue, and 30 % with a 1-bit access flag) and Belady's offline optimum (the ceiling;
 * bench/kv/belady.ts).
 * - Traces: every *.jsonl under $BRIXLET_TESTDATA/traces (default ../shared/testdata): the Mooncake
 *   FAST'25 conversation and synthetic traces, 512-token blocks with chained ids. Deterministic, so
 *   one run each. Missing traces are skipped with a message.
 * - Synthetic: Zipf(1.0) multi-turn chat with 0 / 20 / 40 % one-off scans (bench/kv/synthetic.ts),
 *   one run per seed (5 seeds; 3 in quick mode). Scan mixes also get a row over non-scan traffic.
 * Capacities: 2 / 5 / 10 / 20 % of the unique blocks (for the synthetic mixes: of the unique blocks of
 * the non-scan traffic, which is the same for every mix of a seed, so scans only add pressure).
 */
import { ArcPolicy } from '../src/kvcache/eviction/arc.js';
import { FifoPolicy } from '../src/kvcache/eviction/fifo.js';
import { LruPolicy } from '../src/kvcache/eviction/lru.js';
import { S3FifoPolicy } from '../src/kvcache/eviction/s3fifo.js';
import { capacityBlocks, type Cell, cellRows, hitRatioTargets, type PolicyFactory, runCell } from './kv/cells.js';
import { syntheticWorkload } from './kv/synthetic.js';
import { loadTraces, testdataDir } from './kv/traces.js';
import { uniqueBlocks } from './kv/workload.js';
import { benchArgs, row, type Row, writeReport } from './lib/report.js';

const args = benchArgs();
const DEFAULT = 'arc';
const POLICIES: Record<string, PolicyFactory> = {
  arc: (capacity) => new ArcPolicy({ capacity }),
  lru: (capacity) => new LruPolicy({ capacity }),
  fifo: (capacity) => new FifoPolicy({ capacity }),
  's3fifo-10': (capacity) => new S3FifoPolicy({ capacity, smallRatio: 0.1 }),
  's3fifo-30': (capacity) => new S3FifoPolicy({ capacity, smallRatio: 0.3 }),
  's3fifo-30-1bit': (capacity) => new S3FifoPolicy({ capacity, smallRatio: 0.3, freqBits: 1 }),
};
const PERCENTS = [2, 5, 10, 20];
const SCAN_SHARES = [0, 0.2, 0.4];
/** Conversation requests per synthetic workload (scans come on top). */
const TURNS = args.quick ? 6000 : 40_000;
const SEEDS = Array.from({ length: args.runs }, (_, i) => i + 1);

const t0 = performance.now();
const cells: Cell[] = [];
const log = (msg: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${msg}`);

const dir = testdataDir();
const traces = loadTraces(dir);
if (traces.length === 0) console.error(`kv-hitratio: no traces under ${dir}/traces (set BRIXLET_TESTDATA); trace cells skipped`);
for (const w of traces) {
  const unique = uniqueBlocks(w);
  for (const pct of PERCENTS) cells.push(runCell(`${w.name} ${pct}%`, [{ workload: w, capacity: capacityBlocks(unique, pct) }], POLICIES));
  log(`${w.name}: ${w.starts.length - 1} requests, ${w.blocks.length} blocks, ${unique} unique`);
}

for (const share of SCAN_SHARES) {
  const runs = SEEDS.map((seed) => {
    const workload = syntheticWorkload({ seed, turns: TURNS, scanShare: share });
    return { workload, unique: uniqueBlocks(workload, true) };
  });
  for (const pct of PERCENTS) {
    cells.push(runCell(`synthetic scan ${share * 100}% ${pct}%`, runs.map((r) => ({ workload: r.workload, capacity: capacityBlocks(r.unique, pct) })), POLICIES));
  }
  const w0 = runs[0]?.workload;
  log(`synthetic scan ${share * 100}%: ${SEEDS.length} seeds, ${w0 ? w0.starts.length - 1 : 0} requests and ${w0?.blocks.length ?? 0} blocks each`);
}

const rows: Row[] = cells.flatMap((c) => cellRows(c, DEFAULT));
// Bytes the policies hold per entry of capacity, at one million entries.
const bytes = (make: PolicyFactory) => make(1_000_000).memoryBytes / 1_000_000;
rows.push(row('policy memory per entry of capacity', 'B', false, [bytes(POLICIES[DEFAULT] as PolicyFactory)], Object.fromEntries(Object.entries(POLICIES).filter(([p]) => p !== DEFAULT).map(([p, f]) => [p, [bytes(f)]]))));
writeReport('kv-hitratio', args, rows, hitRatioTargets(cells, DEFAULT));
log('done');
