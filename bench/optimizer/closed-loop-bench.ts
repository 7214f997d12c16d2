/**
 * The closed-loop part of `npm run bench:optimizer`: the seed's experiment (closed-loop.ts) in
 * simulated time. Profiles of the mock engine's l20 and a10 models made in-process by the profiler's
 * sweep and cell rule (closed-loop-profiles.ts; `--shipped-profiles` reads
 * profiles/mock-llama-3-8b-{l20,a10}.json instead); the bursty 25-minute ShareGPT + Text2SQL trace
 * (closed-loop-trace.ts) after a 5-minute warm-up; eleven cases on the same trace per seed: l20 +
 * a10 with the mix hysteresis (brixlet: add cost 100 %, plan gate 10 %, no symmetric switching
 * cost), l20 only, l20 + a10 with the symmetric 10 % switching cost instead, with no mix hysteresis
 * (scale-down window only), with no hysteresis at all, with the rate from finished requests instead
 * of arrivals, with the split ignored (least load per profiled throughput), both fleets at 60 %
 * headroom, both fleets with no cold start (what the ramps cost), and both fleets planning for the
 * rate now instead of the forecast one cold start ahead; the others wait 90 s per cold start, plan
 * with 80 % headroom and for the forecast 90 s ahead (--optimizer.forecast-lead, the cold start).
 * The monitor counts arrivals for the rate. One run per seed (5 seeds, 3 with --quick; `--seeds
 * 11,12,13` runs those instead, to check figures on seeds nothing was tuned on). Rows and targets go into the optimizer report; the profiles, settings
 * and per-run figures into bench/results/optimizer-closed-loop[.quick].json.
 *
 * Run alone: `node scripts/bench.mjs optimizer/closed-loop-bench [-- --quick]`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { PlannerSettings } from '../../src/coordinator/optimizer/planner.js';
import { HighsRunner, solveWith } from '../../src/coordinator/optimizer/solver.js';
import type { ServingProfile } from '../../src/coordinator/optimizer/types.js';
import { GPU_PROFILES } from '../../src/mock-engine/profiles.js';
import type { GpuProfile } from '../../src/mock-engine/types.js';
import { type BenchArgs, benchArgs, median, row, type Row, type Target, target, writeReport } from '../lib/report.js';
import { runClosedLoop, type ClosedLoopResult } from './closed-loop.js';
import { profileJson, shippedProfile, simProfile } from './closed-loop-profiles.js';
import { loopTrace } from './closed-loop-trace.js';

/** The profiler's rates, finer than the shipped profiles' doublings: 2^(k/4) from 1 to 64 req/s. */
export const LOOP_PROFILE_RATES: readonly number[] = Array.from({ length: 25 }, (_, k) => Number((2 ** (k / 4)).toFixed(3)));
export const LOOP_PROFILE_REQUESTS = 200;
export const LOOP_COLD_START_MS = 90_000;
export const LOOP_HEADROOM = 0.8;

interface LoopCase {
  readonly name: string;
  readonly gpus: readonly string[];
  readonly settings: Partial<PlannerSettings>;
  readonly routing?: 'split' | 'least-load';
  /** Default arrivals (as the gateway feeds the monitor). */
  readonly rateFrom?: 'arrivals' | 'completions';
  /** Default LOOP_COLD_START_MS. */
  readonly coldStartMs?: number;
}

/** Planning for the rate now: no forecast. */
const NO_FORECAST: Partial<PlannerSettings> = { forecastLeadMs: 0 };

/** Mix hysteresis: each GPU added above the plan in force costs one cheapest GPU; a new mix must be 10 % cheaper. */
export const LOOP_HYSTERESIS: Partial<PlannerSettings> = { switchingCostPercent: 0, addCostPercent: 100, planGatePercent: 10 };
export const LOOP_LOW_HEADROOM = 0.6;

export const LOOP_CASES: readonly LoopCase[] = [
  { name: 'l20+a10', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS } },
  { name: 'l20 only', gpus: ['l20'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS } },
  { name: 'l20+a10 switching cost 10 %', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM } },
  { name: 'l20+a10 no mix hysteresis', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM, switchingCostPercent: 0 } },
  { name: 'l20+a10 no hysteresis', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM, switchingCostPercent: 0, scaleDownWindowMs: 0 } },
  { name: 'l20+a10 rate from completions', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS }, rateFrom: 'completions' },
  { name: 'l20+a10 least-load routing', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS }, routing: 'least-load' },
  { name: 'l20+a10 headroom 60 %', gpus: ['l20', 'a10'], settings: { headroom: LOOP_LOW_HEADROOM, ...LOOP_HYSTERESIS } },
  { name: 'l20 only headroom 60 %', gpus: ['l20'], settings: { headroom: LOOP_LOW_HEADROOM, ...LOOP_HYSTERESIS } },
  // The forecast lead defaults to the cold start: 0 here.
  { name: 'l20+a10 no cold start', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS }, coldStartMs: 0 },
  { name: 'l20 only no cold start', gpus: ['l20'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS }, coldStartMs: 0 },
  { name: 'l20+a10 no forecast', gpus: ['l20', 'a10'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS, ...NO_FORECAST } },
  { name: 'l20 only no forecast', gpus: ['l20'], settings: { headroom: LOOP_HEADROOM, ...LOOP_HYSTERESIS, ...NO_FORECAST } },
];

export interface ClosedLoopPart {
  readonly rows: Row[];
  readonly targets: Target[];
  readonly detail: Record<string, unknown>;
}

function loopProfiles(shipped: boolean): { profiles: Record<string, ServingProfile>; source: string } {
  if (shipped) {
    const paths = { l20: 'profiles/mock-llama-3-8b-l20.json', a10: 'profiles/mock-llama-3-8b-a10.json' };
    const missing = Object.values(paths).filter((p) => !existsSync(p));
    if (missing.length > 0) throw new Error(`--shipped-profiles: ${missing.join(', ')} missing (scripts/mock-profiles.sh makes them)`);
    return { profiles: { l20: shippedProfile(paths.l20), a10: shippedProfile(paths.a10) }, source: `brixlet profile files ${Object.values(paths).join(', ')}` };
  }
  const make = (gpu: string) => simProfile(GPU_PROFILES[gpu] as GpuProfile, { rates: LOOP_PROFILE_RATES, requests: LOOP_PROFILE_REQUESTS });
  return {
    profiles: { l20: make('l20'), a10: make('a10') },
    source: `in-process sweep of the mock engine models (rates 2^(k/4) 1–64 req/s, ${LOOP_PROFILE_REQUESTS} requests per point, e2e p99 < 10 s, AIBrix's cell rule)`,
  };
}

const QUICK_CASES = new Set(['l20+a10', 'l20 only', 'l20+a10 no mix hysteresis', 'l20+a10 no forecast', 'l20 only no forecast']);

/** `--seeds 11,12,13`: the seeds to run (default 1 … runs). */
function loopSeeds(args: BenchArgs, argv: readonly string[]): number[] {
  const k = argv.indexOf('--seeds');
  if (k < 0) return Array.from({ length: args.runs }, (_, i) => i + 1);
  const seeds = (argv[k + 1] ?? '').split(',').map(Number);
  if (seeds.length === 0 || seeds.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--seeds: expected a comma-separated list of positive integers, got ${argv[k + 1] ?? 'nothing'}`);
  return seeds;
}

export async function closedLoopPart(args: BenchArgs, argv: readonly string[] = process.argv.slice(2)): Promise<ClosedLoopPart> {
  const { profiles, source } = loopProfiles(argv.includes('--shipped-profiles'));
  const engines = { l20: GPU_PROFILES.l20 as GpuProfile, a10: GPU_PROFILES.a10 as GpuProfile };
  // --quick keeps the 25-minute trace (a shorter one squeezes the ramps under the cold start) and runs fewer seeds.
  const durationMs = 25 * 60_000;
  const warmupMs = 300_000;
  const runner = new HighsRunner();
  // --quick runs only the cases the targets compare (the mix, l20 only, the mix without its hysteresis).
  const cases = args.quick ? LOOP_CASES.filter((c) => QUICK_CASES.has(c.name)) : LOOP_CASES;
  const runs = new Map<string, ClosedLoopResult[]>(cases.map((c) => [c.name, []]));
  const seeds = loopSeeds(args, argv);
  try {
    for (const seed of seeds) {
      const trace = loopTrace({ seed, durationMs, warmupMs });
      for (const c of cases) {
        const t0 = performance.now();
        const r = await runClosedLoop({
          trace,
          profiles: c.gpus.map((g) => profiles[g] as ServingProfile),
          engines,
          solve: (p, o) => solveWith(runner, p, o),
          seed,
          coldStartMs: c.coldStartMs ?? LOOP_COLD_START_MS,
          settings: c.settings,
          ...(c.routing !== undefined && { routing: c.routing }),
          ...(c.rateFrom !== undefined && { rateFrom: c.rateFrom }),
        });
        (runs.get(c.name) as ClosedLoopResult[]).push(r);
        console.log(
          `  closed loop seed ${seed} ${c.name.padEnd(26)} cost ${r.cost.toFixed(3)} (${r.gpuHours.toFixed(2)} GPU-h)  within SLO ${(100 * r.attainment).toFixed(2)} %  ` +
            `E2E p99 ${r.e2eP99.toFixed(1)} s  TTFT p99 ${r.ttftP99.toFixed(2)} s  scale events ${r.scaleEvents}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
        );
      }
    }
  } finally {
    await runner.close();
  }
  const of = (name: string, f: (r: ClosedLoopResult) => number) => (runs.get(name) as ClosedLoopResult[]).map(f);
  const [main, ...peers] = cases.map((c) => c.name) as [string, ...string[]];
  const mk = (label: string, unit: string, higher: boolean, f: (r: ClosedLoopResult) => number) =>
    row(`closed loop ${label}`, unit, higher, of(main, f), Object.fromEntries(peers.map((p) => [p, of(p, f)])));
  const rows = [
    mk('cost (GPU-h × $/h)', '$', false, (r) => r.cost),
    mk('cost of the plans as solved', '$', false, (r) => r.plannedCost),
    mk('GPU-hours', 'GPU-h', false, (r) => r.gpuHours),
    mk('requests within SLO', '%', true, (r) => 100 * r.attainment),
    mk('E2E p99', 's', false, (r) => r.e2eP99),
    mk('TTFT p99', 's', false, (r) => r.ttftP99),
    mk('scale events', 'events', false, (r) => r.scaleEvents),
    mk('plan changes (of 150 re-plans)', 'plans', false, (r) => r.planChanges),
  ];
  const saving = 100 * (1 - median(of(main, (r) => r.cost).map((c, i) => c / (of('l20 only', (r) => r.cost)[i] as number))));
  const fewer = median(of(main, (r) => r.scaleEvents).map((e, i) => e - (of('l20+a10 no mix hysteresis', (r) => r.scaleEvents)[i] as number)));
  const targets = [
    target('closed loop: l20 + a10 costs ≥ 10 % less than l20 only (%)', 'min', 10, saving),
    target('closed loop: l20 + a10 requests within the SLO (%)', 'min', 99, median(of(main, (r) => 100 * r.attainment))),
    target('closed loop: scale events with the mix hysteresis (add cost + plan gate) minus without (fewer: ≤ -1)', 'max', -1, fewer),
  ];
  const pct = (name: string) => median(of(name, (r) => 100 * r.attainment));
  const cost = (name: string) => median(of(name, (r) => r.cost));
  const events = (name: string) => median(of(name, (r) => r.scaleEvents));
  // Forecast on (the default) against off, per fleet: medians of the seeds.
  const forecast = Object.fromEntries(
    [['l20+a10', 'l20+a10 no forecast'], ['l20 only', 'l20 only no forecast']].map(([on, off]) => [
      on as string,
      { on: { withinSloPct: pct(on as string), cost: cost(on as string), scaleEvents: events(on as string) }, off: { withinSloPct: pct(off as string), cost: cost(off as string), scaleEvents: events(off as string) } },
    ]),
  );
  console.log('  closed loop, forecast one cold start ahead on / off (medians):');
  for (const [fleet, v] of Object.entries(forecast)) {
    console.log(
      `    ${fleet.padEnd(9)} within SLO ${v.on.withinSloPct.toFixed(1)} / ${v.off.withinSloPct.toFixed(1)} %  cost $${v.on.cost.toFixed(2)} / $${v.off.cost.toFixed(2)}  scale events ${v.on.scaleEvents} / ${v.off.scaleEvents}`,
    );
  }
  const detail = {
    profiles: { source, l20: profileJson(profiles.l20 as ServingProfile), a10: profileJson(profiles.a10 as ServingProfile) },
    trace: { durationMs, warmupMs, seeds },
    coldStartMs: LOOP_COLD_START_MS,
    forecastLeadMs: LOOP_COLD_START_MS,
    forecast,
    cases,
    runs: Object.fromEntries([...runs].map(([name, rs]) => [name, rs.map(({ timeline, ...r }) => ({ ...r, timeline: process.env.LOOP_FULL_TIMELINE ? timeline : timeline.filter((_, i) => i % 6 === 0) }))])),
  };
  return { rows, targets, detail };
}

/** Writes the part's detail beside the optimizer report. */
export function writeClosedLoopDetail(args: BenchArgs, part: ClosedLoopPart, dir = 'bench/results'): string {
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/optimizer-closed-loop${args.quick ? '.quick' : ''}.json`;
  writeFileSync(path, `${JSON.stringify({ bench: 'optimizer-closed-loop', quick: args.quick, date: new Date().toISOString(), rows: part.rows, targets: part.targets, ...part.detail }, null, 2)}\n`);
  return path;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = benchArgs();
  const part = await closedLoopPart(args);
  // The table on stdout; the file then gets the detail too.
  writeReport('optimizer-closed-loop', args, part.rows, part.targets);
  writeClosedLoopDetail(args, part);
}
