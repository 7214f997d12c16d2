/**
 * npm run bench:optimizer [-- --quick]
 *
 * Solve time of the GPU optimizer (src/coordinator/optimizer) on synthetic instances: 2, 4 and 8 GPU
 * types × 40 (8 × 5) and 160 (16 × 10) request-shape buckets, every bucket loaded, the split model
 * and the slice model (s = 4, whole GPUs). brixlet = solveWith end to end on its HiGHS worker, as
 * the planner solves (slice: LP text built, sent, parsed, solved, read back; split: the count
 * windows' bounds, the model's arrays sent to HiGHS, one or two solves, read back); for the split
 * model the peer `highs-lp` is the previous path on the same worker (the whole model as LP text,
 * the same HiGHS options), so the ratio is the gain of the windows and arrays; peer `cbc` = CBC 2.10 (Debian `coinor-cbc`, installed
 * when missing) on the same LP text written to a file, the wall-clock time of its process (CBC
 * reports its own time in 10 ms steps only), so its start-up is counted: the row "cbc start-up"
 * measures that alone. Per case: p50 and p99 over the instances of one pass,
 * repeated (split: 12 instances, slice: 4; quick 6 and 3, and the slice model only at 2 types × 40
 * buckets; time limit 5 s); both solvers' objectives
 * are compared on every instance. Target: split 8 × 160 p99 ≤
 * 100 ms.
 *
 * Then exactness and cost (bench/optimizer/comparisons.ts): brute force against both models on
 * small seeded instances, and per instance of the solve-time sizes the split and slice plans against
 * AIBrix's pipeline and the best single GPU type.
 *
 * Then the seed's closed-loop experiment in simulated time (bench/optimizer/closed-loop-bench.ts):
 * l20 + a10 against l20 only on cost and SLO attainment, with and without the switching cost.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../src/common/seeded-random.js';
import { buildModel } from '../src/coordinator/optimizer/model.js';
import { HighsRunner, SPLIT_OPTIONS, solveWith } from '../src/coordinator/optimizer/solver.js';
import type { PlanModel, PlanProblem } from '../src/coordinator/optimizer/types.js';
import { installMissing } from './kv/local-peers.js';
import { closedLoopPart, writeClosedLoopDetail } from './optimizer/closed-loop-bench.js';
import { costComparisons, exactness } from './optimizer/comparisons.js';
import { benchArgs, percentile, row, target, writeReport, type Row, type Target } from './lib/report.js';

const args = benchArgs();
/** Instances per pass: the slice model is far slower (thousands of binaries), so it gets fewer. */
const INSTANCES = { split: args.quick ? 6 : 12, slice: args.quick ? 3 : 4 } as const;
const TIME_LIMIT_MS = 5_000;

/**
 * K GPU types with different speeds and different strengths (prefill- or decode-heavy shapes),
 * priced near their speed so that no single type wins every bucket; the largest shapes are out of
 * reach (0) for the slowest types.
 */
function instance(types: number, buckets: 40 | 160, model: PlanModel, seed: number): PlanProblem {
  const r = seededRandom(seed * 7919 + types * 31 + buckets);
  const [no, ni] = buckets === 40 ? [8, 5] : [16, 10];
  // Output ticks 4 … 512 and input ticks 128 … 4096 tokens, evenly spaced in log2.
  const ticks = (n: number, from: number, doublings: number) => Array.from({ length: n }, (_, k) => Math.round(from * 2 ** ((k * doublings) / (n - 1))));
  const grid = { outputs: ticks(no, 4, 7), inputs: ticks(ni, 128, 5) };
  const shares = Float64Array.from({ length: no * ni }, () => 0.05 + r());
  const sum = shares.reduce((a, b) => a + b, 0);
  for (let b = 0; b < shares.length; b++) shares[b] = (shares[b] as number) / sum;
  const list = Array.from({ length: types }, (_, j) => {
    const speed = 0.5 + 2 * r();
    const prefill = 0.6 + 0.8 * r();
    const decode = 0.6 + 0.8 * r();
    const tputs = new Float64Array(no * ni);
    for (let o = 0; o < no; o++) {
      for (let i = 0; i < ni; i++) {
        // Rate falls 32× from the smallest to the largest output and 8× along the inputs.
        const t = speed * 60 * 2 ** (-(5 * o * decode) / no - (3 * i * prefill) / ni) * (0.85 + 0.3 * r());
        // Slow types (never the first) cannot meet the SLO on some of the largest shapes.
        tputs[o * ni + i] = j > 0 && speed < 1 && o + i > no + ni - 5 && r() < 0.5 ? 0 : t;
      }
    }
    return { name: `gpu${j}`, cost: Math.round(speed * (0.7 + 0.6 * r()) * 100) / 100, tputs };
  });
  return { grid, types: list, load: { rate: 40 * types, shares }, model, sliceFactor: 4, timeLimitMs: TIME_LIMIT_MS };
}

interface Cbc {
  readonly ms: number;
  readonly objective: number | undefined;
}

function runCbc(dir: string, lp: string): Cbc {
  const file = join(dir, 'model.lp');
  const sol = join(dir, 'model.sol');
  writeFileSync(file, lp);
  const t0 = performance.now();
  spawnSync('cbc', [file, 'sec', String(TIME_LIMIT_MS / 1000), 'ratio', '1e-9', 'allow', '1e-9', 'solve', 'solution', sol], { stdio: 'ignore' });
  const ms = performance.now() - t0;
  const first = readFileSync(sol, 'utf8').split('\n')[0] ?? '';
  const obj = /objective value\s+(-?[\d.e+-]+)/.exec(first);
  return { ms, objective: first.startsWith('Optimal') && obj ? Number(obj[1]) : undefined };
}

const problems = installMissing({ cbc: 'coinor-cbc' });
const haveCbc = problems.cbc === undefined;
if (!haveCbc) console.log(`cbc: missing (${problems.cbc}); brixlet measured alone`);
const cbcVersion = haveCbc ? (/Version:\s*(\S+)/.exec(spawnSync('cbc', ['-quit'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 'unknown') : 'missing';

const runner = new HighsRunner();
const dir = mkdtempSync(join(tmpdir(), 'brixlet-bench-optimizer-'));
const rows: Row[] = [];
const targets: Target[] = [];
let disagreements = 0;
let compared = 0;
let disagreementsLp = 0;
let comparedLp = 0;
let splitAboveSlice = 0;
let notOptimal = 0;
const splitCost = new Map<string, number>();
let split8x160p99 = NaN;

try {
  // Warm-up: load the wasm and JIT both paths.
  await solveWith(runner, instance(2, 40, 'split', 0));
  await solveWith(runner, instance(2, 40, 'slice', 0));
  if (haveCbc) {
    const starts: number[] = [];
    for (let run = 0; run < args.runs; run++) {
      const t0 = performance.now();
      spawnSync('cbc', ['-quit'], { stdio: 'ignore' });
      starts.push(performance.now() - t0);
    }
    rows.push(row('cbc start-up alone (cbc -quit), for reference', 'ms', false, starts));
  }
  for (const model of ['split', 'slice'] as const) {
    for (const buckets of [40, 160] as const) {
      for (const types of [2, 4, 8]) {
        // --quick: the slice model only where both solvers take well under a second (2 types × 40 buckets).
        if (args.quick && model === 'slice' && (types !== 2 || buckets === 160)) continue;
        const p50: number[] = [];
        const p99: number[] = [];
        const cbc50: number[] = [];
        const cbc99: number[] = [];
        const lp50: number[] = [];
        const lp99: number[] = [];
        for (let run = 0; run < args.runs; run++) {
          const ours: number[] = [];
          const theirs: number[] = [];
          const before: number[] = [];
          for (let k = 1; k <= INSTANCES[model]; k++) {
            const p = instance(types, buckets, model, k);
            const t0 = performance.now();
            const sol = await solveWith(runner, p);
            ours.push(performance.now() - t0);
            const key = `${types}×${buckets}#${k}`;
            if (run === 0 && sol.status !== 'optimal') {
              notOptimal++;
              console.log(`  ${model} ${key}: ${sol.status} ${sol.message ?? ''}`);
            }
            if (run === 0 && model === 'split') splitCost.set(key, sol.cost);
            if (run === 0 && model === 'slice' && sol.status === 'optimal' && (splitCost.get(key) ?? Infinity) > sol.cost + 1e-9) splitAboveSlice++;
            if (model === 'split') {
              // The previous path: the whole model as LP text on the same worker, timed the same way.
              const t1 = performance.now();
              const prev = buildModel(p);
              const a = 'built' in prev ? await runner.run(prev.built.lp, TIME_LIMIT_MS, undefined, SPLIT_OPTIONS) : undefined;
              before.push(performance.now() - t1);
              if (run === 0 && sol.status === 'optimal' && a?.status === 'Optimal') {
                comparedLp++;
                if (Math.abs((a.objective ?? NaN) - sol.cost) > 1e-6 * Math.max(1, sol.cost)) {
                  disagreementsLp++;
                  console.log(`  objective differs from the whole-model LP path: ${key}: ${sol.cost} vs ${a.objective}`);
                }
              }
            }
            if (!haveCbc) continue;
            const prepared = buildModel(p);
            if (!('built' in prepared)) continue;
            const c = runCbc(dir, prepared.built.lp);
            theirs.push(c.ms);
            if (run === 0 && sol.status === 'optimal' && c.objective !== undefined) {
              compared++;
              if (Math.abs(c.objective - sol.cost) > 1e-6 * Math.max(1, sol.cost)) {
                disagreements++;
                console.log(`  objective differs: ${model} ${types}×${buckets} #${k}: highs ${sol.cost}, cbc ${c.objective}`);
              }
            }
          }
          p50.push(percentile(ours, 50));
          p99.push(percentile(ours, 99));
          if (before.length > 0) {
            lp50.push(percentile(before, 50));
            lp99.push(percentile(before, 99));
          }
          if (theirs.length > 0) {
            cbc50.push(percentile(theirs, 50));
            cbc99.push(percentile(theirs, 99));
          }
        }
        const name = `${model} ${types} types × ${buckets} buckets`;
        const peers = (cbc: number[], lp: number[]) => ({ ...(lp.length > 0 ? { 'highs-lp': lp } : {}), ...(cbc.length > 0 ? { cbc } : {}) });
        rows.push(row(`${name} p50`, 'ms', false, p50, peers(cbc50, lp50)));
        rows.push(row(`${name} p99`, 'ms', false, p99, peers(cbc99, lp99)));
        if (model === 'split' && types === 8 && buckets === 160) split8x160p99 = rows[rows.length - 1]?.brixlet.median ?? NaN;
      }
    }
  }
  // Exactness by brute force, and costs against AIBrix's pipeline and the best single type (optimizer/comparisons.ts).
  const exact = await exactness(runner, args.quick ? 30 : 200);
  targets.push(target(`exact on every brute-forced instance, slice and split (instances that differ, of ${exact.instances}; ${exact.feasible} feasible)`, 'max', 0, exact.differ));
  // --quick compares on the small sizes only (AIBrix's pipeline solves the slice model in 1/100 GPUs: slow on large ones).
  const sizes = args.quick ? ([40] as const) : ([40, 160] as const);
  const typeCounts = args.quick ? [2, 4] : [2, 4, 8];
  const cases = sizes.flatMap((buckets) => typeCounts.flatMap((types) => Array.from({ length: INSTANCES.slice }, (_, k) => ({ name: `${types}×${buckets}#${k + 1}`, problem: instance(types, buckets, 'split', k + 1) }))));
  const costs = await costComparisons(runner, cases);
  rows.push(...costs.rows);
  targets.push(...costs.targets);
} finally {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
}

targets.push(target('split model 8 types × 160 buckets p99 ≤ 100 ms', 'max', 100, split8x160p99));
targets.push(target('split never costs more than slice (instances above)', 'max', 0, splitAboveSlice));
targets.push(target(`every instance solved to optimality within ${TIME_LIMIT_MS} ms (instances not)`, 'max', 0, notOptimal));
if (haveCbc) targets.push(target(`same optimum as CBC ${cbcVersion} (instances that differ, of ${compared})`, 'max', 0, disagreements));
targets.push(target(`split: same optimum as the whole model on HiGHS (instances that differ, of ${comparedLp})`, 'max', 0, disagreementsLp));
// The seed's experiment, closed loop in simulated time (bench/optimizer/closed-loop-bench.ts).
const loop = await closedLoopPart(args);
rows.push(...loop.rows);
targets.push(...loop.targets);
writeClosedLoopDetail(args, loop);
writeReport('optimizer', args, rows, targets);
