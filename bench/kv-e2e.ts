/**
 * npm run bench:kv-e2e [-- --quick]
 * AIBrix's distributed-KV experiment with mock engines: 4 mock vLLM engines (h100 profile, their GPU
 * KV cut to KV_BLOCKS blocks so that the workload's prefixes do not fit one engine's prefix cache) on 2
 * agents of the built `brixlet up --agents 2`, requests spread by the gateway's `random` policy.
 * Pool off: the engines' GPU prefix caches only. Pool on: each engine looks a GPU miss up in its
 * agent's shard (LOOKUP_REMOTE: blocks other agents hold are fetched through the peer transport),
 * loads hits at --kv-load-gbps instead of computing them, and offloads what it computed.
 *
 * Workloads (bench/kv/e2e-workload.ts): text2sql (tenants with long schema prefixes, short questions
 * and answers) and multi-turn (chat sessions resending their history). Each side starts fresh, is warmed
 * with WARMUP requests (not counted), then the offered rate is swept up RATES (Poisson arrivals,
 * seeded), each point DURATION of model time of arrivals then every answer waited for, until a point
 * is not sustained (completed req/s < SUSTAINED × the rate actually sent): that point is past saturation.
 *
 * Reported per workload: TTFT and ITL mean / P99 (model ms) at every rate both sides ran, with the pool
 * on as brixlet and off as the peer; the headline rate is the highest one the pool-off side sustains.
 * Peak throughput = the highest completed req/s of a side's sweep (answers ÷ model seconds from the
 * first send to the last answer, as vLLM's benchmark_serving counts it: past saturation, the capacity).
 * One sweep per side: BENCHMARKS.md's 5 repeats would take about an hour on the 2-core build machine.
 *
 * Engine step times are modelled and run TIME_SCALE model seconds per wall second; the HTTP path, the
 * gateway, the KV shards, the peer transport and the KV bytes (1/kvScale of the modelled size) are real,
 * and every wall millisecond they take counts as TIME_SCALE model milliseconds (the quick run's time
 * scale of 2 doubles their weight).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Pool } from 'undici';
import { GPU_PROFILES, KV_BYTES_PER_TOKEN, KV_DEFAULTS } from '../src/mock-engine/index.js';
import { createGatewayPool, runPoint, type PointResult } from './kv/e2e-client.js';
import { startStack, type StackReport } from './kv/e2e-stack.js';
import { createMultiTurnWorkload, createText2SqlWorkload, type Workload, type WorkloadName } from './kv/e2e-workload.js';
import { benchArgs, percentile, row, target, writeReport, type Row, type Target } from './lib/report.js';

const args = benchArgs();
const quick = args.quick;
const GPU = 'h100';
/** GPU KV blocks per engine (16 tokens, 2 MiB each: 16 GiB), instead of the h100 profile's. */
const KV_BLOCKS = 8192;
/** Model seconds per wall second: 1 in the full run; the quick run goes twice as fast (its real overheads weigh twice). */
const TIME_SCALE = quick ? 2 : 1;
const KV_SCALE = KV_DEFAULTS.scale;
const MODEL = 'mock-llama-3-8b';
/** Offered rates, requests per model second; a side's sweep stops after its first unsustained point. */
const RATES = quick ? [12, 48] : [8, 12, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256];
/** Model ms of arrivals per point: at least MIN_REQUESTS requests' worth. */
const DURATION_MS = quick ? 4_000 : 15_000;
const MIN_REQUESTS = quick ? 0 : 240;
const SUSTAINED = 0.9;
const SEED = 13;

const WORKLOADS: Record<WorkloadName, () => Workload> = {
  // Bird-like: 96 databases with 1k–5k-token schemas (sample rows included), questions of 16–64
  // tokens, SQL answers of 24–96 tokens.
  text2sql: () => createText2SqlWorkload({ seed: SEED, tenants: 96, schemaTokens: [1000, 5000], questionTokens: [16, 64], outputTokens: [24, 96] }),
  // 512 live chats (quick: 64, so that its few hundred requests reach later turns) of 3–10 turns, a
  // 256-token system prompt, questions of 32–256 tokens, answers of 32–192.
  'multi-turn': () => createMultiTurnWorkload({ seed: SEED, sessions: quick ? 64 : 512, turns: [3, 10], systemTokens: 256, questionTokens: [32, 256], outputTokens: [32, 192] }),
};
/** Requests before the sweep (not counted), offered at WARMUP_RATE, so the caches are in their steady state. */
const WARMUP: Record<WorkloadName, number> = quick ? { text2sql: 96, 'multi-turn': 96 } : { text2sql: 288, 'multi-turn': 1024 };
const WARMUP_RATE: Record<WorkloadName, number> = { text2sql: 24, 'multi-turn': 48 };

interface Point {
  readonly rate: number;
  /** Requests per model second actually sent (Poisson: near `rate`). */
  readonly offered: number;
  readonly completed: number;
  readonly errors: number;
  readonly held: number;
  readonly dropped: number;
  /** Completed req/s and output tokens/s, model time. */
  readonly rps: number;
  readonly tps: number;
  readonly ttftMean: number;
  readonly ttftP99: number;
  readonly itlMean: number;
  readonly itlP99: number;
  /** Busy share of the machine's CPUs during the point. */
  readonly cpu: number;
}

interface Side {
  readonly points: Point[];
  readonly report: StackReport;
  readonly warmupS: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

function summarise(rate: number, r: PointResult, cpu: number): Point {
  const ok = r.samples.filter((s) => s.ok);
  const itls = ok.flatMap((s) => s.itlMs);
  const tokens = ok.reduce((n, s) => n + s.tokens, 0);
  return {
    rate,
    offered: r.samples.length / r.sendSpanS,
    completed: ok.length,
    errors: r.samples.length - ok.length,
    held: r.held,
    dropped: r.dropped,
    rps: ok.length / r.spanS,
    tps: tokens / r.spanS,
    ttftMean: mean(ok.map((s) => s.ttftMs)),
    ttftP99: percentile(ok.map((s) => s.ttftMs), 99),
    itlMean: mean(itls),
    itlP99: itls.length > 0 ? percentile(itls, 99) : NaN,
    cpu,
  };
}

/** Answers kept pace with arrivals: completed req/s ≥ SUSTAINED × the rate actually sent. */
const sustained = (p: Point) => p.rps >= SUSTAINED * p.offered;

let peerPort = 20_000 + Math.floor(Math.random() * 20_000);

async function runSide(name: WorkloadName, pool: boolean): Promise<Side> {
  const root = mkdtempSync('/dev/shm/brixlet-bench-kv-e2e-');
  peerPort += 4;
  const stack = await startStack({
    pool,
    root,
    engines: { engines: 4, gpu: GPU, kvBlocks: KV_BLOCKS, timeScale: TIME_SCALE, kvScale: KV_SCALE, seed: SEED },
    agents: 2,
    capacity: quick ? '1GiB' : '2GiB',
    peerPort,
    policy: 'random',
  });
  const http: Pool = createGatewayPool(stack.gateway);
  const workload = WORKLOADS[name]();
  const side = pool ? 'pool on' : 'pool off';
  const points: Point[] = [];
  let warmupS = 0;
  try {
    // Warm-up: the caches fill (not counted).
    const w0 = performance.now();
    await runPoint(http, workload, { rate: WARMUP_RATE[name], durationMs: (WARMUP[name] / WARMUP_RATE[name]) * 1000, timeScale: TIME_SCALE, seed: SEED, model: MODEL });
    warmupS = (performance.now() - w0) / 1000;
    for (const [i, rate] of RATES.entries()) {
      const c0 = cpuTimes();
      const r = await runPoint(http, workload, { rate, durationMs: Math.max(DURATION_MS, (MIN_REQUESTS / rate) * 1000), timeScale: TIME_SCALE, seed: SEED + 1 + i, model: MODEL });
      const c1 = cpuTimes();
      const p = summarise(rate, r, (c1.busy - c0.busy) / Math.max(1, c1.total - c0.total));
      points.push(p);
      console.error(
        `  ${name} ${side} @ ${rate} req/s (sent ${p.offered.toFixed(1)}): ${p.rps.toFixed(1)} req/s done, TTFT ${p.ttftMean.toFixed(0)}/${p.ttftP99.toFixed(0)} ms, ITL ${p.itlMean.toFixed(1)}/${p.itlP99.toFixed(1)} ms, ` +
          `${p.completed} ok ${p.errors} failed ${p.held} held (${p.dropped} never sent), CPU ${(p.cpu * 100).toFixed(0)} %`,
      );
      // The quick run's two points are always both run (its windows are too short for the rule).
      if (!quick && !sustained(p)) break;
    }
  } finally {
    await http.close();
  }
  const report = await stack.stop();
  rmSync(root, { recursive: true, force: true });
  return { points, report, warmupS };
}

const pct = (on: number, off: number) => 100 * (1 - on / off);

function engineSummary(r: StackReport): string {
  const prompt = r.engines.reduce((n, e) => n + e.model.promptTokensTotal, 0);
  const gpu = r.engines.reduce((n, e) => n + e.model.cachedPromptTokensTotal, 0);
  const loaded = r.engines.reduce((n, e) => n + (e.kv?.hitBlocks ?? 0), 0);
  const preempt = r.engines.reduce((n, e) => n + e.model.preemptionsTotal, 0);
  const fallbacks = r.engines.reduce((n, e) => n + Object.values(e.kv?.fallbacks ?? {}).reduce((a, b) => a + b, 0), 0);
  const remote = r.agentMetrics.reduce((n, m) => n + Object.entries(m).filter(([k]) => k.startsWith('brixlet_kvcache_remote_hit_blocks_total')).reduce((a, [, v]) => a + v, 0), 0);
  return `GPU prefix hits ${((100 * gpu) / Math.max(1, prompt)).toFixed(1)} % of prompt tokens, ${loaded} blocks read from the shards (${remote} fetched from the other agent), ${preempt} preemptions, ${fallbacks} KV fallbacks, engine process CPU ${r.engineCpuSeconds.toFixed(1)} s`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const profile = GPU_PROFILES[GPU];
  console.log(
    `kv-e2e: 4 × ${GPU} mock engines (prefill ${profile?.prefillMsPerToken} ms/token, GPU KV ${KV_BLOCKS} blocks of 16 tokens = ${KV_BLOCKS * 16} tokens), ` +
      `KV ${KV_BYTES_PER_TOKEN} B/token, load ${KV_DEFAULTS.loadGbps} GB/s, bytes moved 1/${KV_SCALE}, time scale ${TIME_SCALE}, gateway random, 2 agents`,
  );
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const name of Object.keys(WORKLOADS) as WorkloadName[]) {
    console.log(`${name}: working set ${WORKLOADS[name]().workingSetTokens().toFixed(0)} prompt tokens at start (one engine's GPU cache: ${KV_BLOCKS * 16})`);
    const off = await runSide(name, false);
    console.log(`  pool off: warm-up ${off.warmupS.toFixed(1)} s; ${engineSummary(off.report)}`);
    const on = await runSide(name, true);
    console.log(`  pool on: warm-up ${on.warmupS.toFixed(1)} s; ${engineSummary(on.report)}`);

    const both = off.points.filter((p) => on.points.some((q) => q.rate === p.rate));
    for (const p of both) {
      const q = on.points.find((x) => x.rate === p.rate) as Point;
      const at = `${name} @ ${p.rate} req/s`;
      rows.push(
        row(`${at}: TTFT mean`, 'ms', false, [q.ttftMean], { 'pool off': [p.ttftMean] }),
        row(`${at}: TTFT P99`, 'ms', false, [q.ttftP99], { 'pool off': [p.ttftP99] }),
        row(`${at}: ITL mean`, 'ms', false, [q.itlMean], { 'pool off': [p.itlMean] }),
        row(`${at}: ITL P99`, 'ms', false, [q.itlP99], { 'pool off': [p.itlP99] }),
        row(`${at}: completed`, 'req/s', true, [q.rps], { 'pool off': [p.rps] }),
      );
    }
    for (const q of on.points.filter((x) => !off.points.some((p) => p.rate === x.rate))) {
      rows.push(row(`${name} @ ${q.rate} req/s (pool on only): TTFT mean`, 'ms', false, [q.ttftMean]), row(`${name} @ ${q.rate} req/s (pool on only): completed`, 'req/s', true, [q.rps]));
    }
    const peakOn = Math.max(...on.points.map((p) => p.rps));
    const peakOff = Math.max(...off.points.map((p) => p.rps));
    rows.push(
      row(`${name}: peak throughput`, 'req/s', true, [peakOn], { 'pool off': [peakOff] }),
      row(`${name}: peak output throughput`, 'tok/s', true, [Math.max(...on.points.map((p) => p.tps))], { 'pool off': [Math.max(...off.points.map((p) => p.tps))] }),
    );
    // The headline rate: the highest the pool-off side sustains (and the pool-on side ran).
    const common = [...both].reverse().find((p) => sustained(p)) ?? both[0];
    if (common !== undefined) {
      const q = on.points.find((x) => x.rate === common.rate) as Point;
      rows.push(row(`${name}: headline rate (highest pool off sustains)`, 'req/s', true, [common.rate]));
      targets.push(
        target(`${name} @ ${common.rate} req/s: TTFT mean reduction with the pool ≥ 60 % (AIBrix: −60 %)`, 'min', 60, pct(q.ttftMean, common.ttftMean)),
        target(`${name} @ ${common.rate} req/s: TTFT P99 reduction with the pool ≥ 70 % (AIBrix: −70 %)`, 'min', 70, pct(q.ttftP99, common.ttftP99)),
      );
      console.log(
        `  ${name} @ ${common.rate} req/s: TTFT mean ${common.ttftMean.toFixed(0)} → ${q.ttftMean.toFixed(0)} ms (−${pct(q.ttftMean, common.ttftMean).toFixed(0)} %), P99 ${common.ttftP99.toFixed(0)} → ${q.ttftP99.toFixed(0)} ms (−${pct(q.ttftP99, common.ttftP99).toFixed(0)} %); ` +
          `ITL mean ${common.itlMean.toFixed(1)} → ${q.itlMean.toFixed(1)} ms, P99 ${common.itlP99.toFixed(1)} → ${q.itlP99.toFixed(1)} ms`,
      );
    }
    targets.push(target(`${name}: peak throughput gain with the pool ≥ 50 % (AIBrix: +50 %)`, 'min', 50, 100 * (peakOn / peakOff - 1)));
    console.log(`  ${name}: peak ${peakOff.toFixed(1)} → ${peakOn.toFixed(1)} req/s (+${(100 * (peakOn / peakOff - 1)).toFixed(0)} %)${on.points.every(sustained) ? '; the pool-on side sustained every rate offered (its peak is a lower bound)' : ''}`);
  }
  writeReport('kv-e2e', args, rows, targets);
  console.log(`kv-e2e: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
