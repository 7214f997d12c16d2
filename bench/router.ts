/**
 * npm run bench:router [-- --quick]
 *
 * (a) Routing decision time of every policy at 64 engines on the real Router (bench/router/decision.ts):
 *     p50/p99 per call; target p99 ≤ 50 µs for every policy.
 * (b) Gateway throughput for small non-streaming completions (max_tokens 1) against nginx 1.22
 *     (Debian; proxy_pass with upstream keepalive) in front of the SAME mock engine (zero-latency
 *     mode), both on loopback, same load generator (closed loop over an undici Pool), measured in
 *     the same run, alternating order per run; the engine alone is measured too. Target ≥ 0.5× nginx.
 * (c) Added latency: sequential requests over one keep-alive connection, p50 through the gateway
 *     minus p50 straight to the engine (nginx's the same way for comparison). Target ≤ 1 ms.
 * (d) Engine metrics parse: parseVllmMetrics on the mock engine's own /metrics after the load above
 *     (vLLM names, histograms filled), ms per scrape beside splitting the text into lines (floor).
 *     Target ≤ 1 ms per scrape (a unit-test bound once, test/coordinator/engines/metrics-parse.test.ts).
 * (e) Memory under a burst of large uploads (bench/router/body-burst.ts): 24 concurrent uploads just
 *     under the default body limit to a fresh gateway process, its peak resident set growth read
 *     from /proc, with the default --gateway.max-buffered-body (64 MiB) beside no bound (0).
 *     Target: growth ≤ 3× the bound (192 MiB) — bodies are admitted from their headers, so the
 *     gateway holds at most the bound in body bytes, plus for each held body the transient text
 *     and parsed prompt that validating and routing it take; never clients × body size.
 *
 * The gateway, nginx and the mock engine each run as their own process (the built CLI:
 * `brixlet coordinator`, `brixlet mock-engine --time-scale inf`) so the load generator in this process
 * measures them as a client would. nginx runs one worker, the gateway one Node.js thread.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ROUTING_POLICIES } from '../src/common/config/schema.js';
import { parseVllmMetrics } from '../src/coordinator/engines/metrics-parse.js';
import { benchArgs, median, row, target, writeReport, type Row, type Target } from './lib/report.js';
import { uploadBurst } from './router/body-burst.js';
import { measureDecisions } from './router/decision.js';
import { closedLoop, type LoadRequest, sequentialLatency } from './router/load.js';
import { startNginx } from './router/nginx.js';

const args = benchArgs();
const CLI = 'dist/cli/main.js';
const MODEL = 'mock-llama-3-8b';
const ENGINES = 64;
const DECISIONS = 20_000;
const CONCURRENCY = 32;
const DURATION_MS = args.quick ? 1500 : 4000;
const WARMUP_MS = args.quick ? 300 : 800;
const LATENCY_N = args.quick ? 1500 : 4000;
const SMALL: LoadRequest = { path: '/v1/completions', body: JSON.stringify({ model: MODEL, prompt: 'Say hello.', max_tokens: 1 }) };

interface Service {
  readonly urls: Record<string, string>;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Spawns the built CLI with --json and waits for its URL line. */
function startCli(argv: string[]): Promise<Service> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CLI, ...argv, '--json', '--log.level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`brixlet ${argv[0]} exited ${code}: ${err}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.removeAllListeners('exit');
      resolve({
        urls: JSON.parse(out.slice(0, nl)) as Record<string, string>,
        pid: child.pid ?? 0,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

async function waitOk(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`${url}${SMALL.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SMALL.body });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rows: Row[] = [];
const targets: Target[] = [];
const notes: string[] = [];

// (a) decision time
let worstP99 = 0;
for (const policy of ROUTING_POLICIES) {
  const p50: number[] = [];
  const p99: number[] = [];
  for (let run = 0; run < args.runs; run++) {
    const r = measureDecisions({ engines: ENGINES, requests: DECISIONS, policy, seed: 42 + run });
    p50.push(r.p50Micros);
    p99.push(r.p99Micros);
  }
  rows.push(row(`decision p50, ${policy}, ${ENGINES} engines`, 'µs', false, p50));
  rows.push(row(`decision p99, ${policy}, ${ENGINES} engines`, 'µs', false, p99));
  worstP99 = Math.max(worstP99, median(p99));
}
targets.push(target(`decision p99 ≤ 50 µs at ${ENGINES} engines (worst policy)`, 'max', 50, worstP99));

// (b) and (c): gateway vs nginx in front of one zero-latency mock engine
const engine = await startCli(['mock-engine', '--port', '0', '--time-scale', 'inf']);
const engineUrl = engine.urls.engine as string;
const gateway = await startCli(['coordinator', '--gateway.host', '127.0.0.1', '--gateway.port', '0', '--control.host', '127.0.0.1', '--control.port', '0', '--gateway.engines', engineUrl]);
const gatewayUrl = gateway.urls.gateway as string;
const nginx = await startNginx({ upstream: new URL(engineUrl).host });
try {
  await waitOk(engineUrl);
  await waitOk(gatewayUrl);
  const targetsToRun: Record<string, string> = { gateway: gatewayUrl, direct: engineUrl };
  if (nginx.ok) {
    await waitOk(nginx.nginx.url);
    targetsToRun.nginx = nginx.nginx.url;
    notes.push(`nginx ${nginx.nginx.version}, ${nginx.nginx.workers} worker, proxy_pass + upstream keepalive`);
  } else {
    notes.push(`nginx missing: ${nginx.reason}`);
  }
  const rps: Record<string, number[]> = {};
  const lat: Record<string, number[]> = {};
  // Warm-up round, not counted: connections opened, code paths compiled on every side.
  for (const url of Object.values(targetsToRun)) {
    await closedLoop(url, SMALL, { concurrency: CONCURRENCY, durationMs: WARMUP_MS * 2, warmupMs: 0 });
    await sequentialLatency(url, SMALL, 200, 0);
  }
  for (let run = 0; run < args.runs; run++) {
    // Alternate the order so neither side always runs on a warmer machine.
    const order = Object.keys(targetsToRun);
    if (run % 2 === 1) order.reverse();
    for (const name of order) {
      const r = await closedLoop(targetsToRun[name] as string, SMALL, { concurrency: CONCURRENCY, durationMs: DURATION_MS, warmupMs: WARMUP_MS });
      if (r.errors > 0) throw new Error(`${name}: ${r.errors} of ${r.requests} requests failed`);
      (rps[name] ??= []).push(r.rps);
    }
    for (const name of order) {
      const us = await sequentialLatency(targetsToRun[name] as string, SMALL, LATENCY_N);
      (lat[name] ??= []).push(median(us));
    }
  }
  const gw = rps.gateway as number[];
  const peers: Record<string, number[]> = { direct: rps.direct as number[] };
  if (rps.nginx) peers.nginx = rps.nginx;
  rows.push(row(`throughput, small completions, ${CONCURRENCY} connections`, 'req/s', true, gw, peers));
  const added = (name: string) => (lat[name] as number[]).map((v, i) => v - (lat.direct as number[])[i]!);
  rows.push(row('latency p50, sequential (gateway | nginx | engine alone)', 'µs', false, lat.gateway as number[], { ...(lat.nginx && { nginx: lat.nginx }), direct: lat.direct as number[] }));
  rows.push(row('added latency p50 over the engine alone', 'µs', false, added('gateway'), lat.nginx ? { nginx: added('nginx') } : {}));
  if (rps.nginx) targets.push(target('gateway throughput ≥ 0.5× nginx', 'min', 0.5, median(gw.map((g, i) => g / (rps.nginx as number[])[i]!))));
  targets.push(target('added latency p50 ≤ 1 ms', 'max', 1000, median(added('gateway'))));

  // (d) parsing what the engine exports, as the prober does on every scrape
  const exposition = await (await fetch(`${engineUrl}/metrics`)).text();
  const perScrape = (fn: () => unknown, n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (performance.now() - t0) / n;
  };
  const PARSES = args.quick ? 500 : 2000;
  perScrape(() => parseVllmMetrics(exposition), PARSES);
  const parse: number[] = [];
  const split: number[] = [];
  for (let run = 0; run < args.runs; run++) {
    parse.push(perScrape(() => parseVllmMetrics(exposition), PARSES));
    split.push(perScrape(() => exposition.split('\n'), PARSES));
  }
  const lines = exposition.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  rows.push(row(`parse the mock engine's /metrics (${lines} samples)`, 'ms', false, parse, { 'split into lines (floor)': split }));
  targets.push(target('engine metrics parse ≤ 1 ms per scrape (median of runs)', 'max', 1, median(parse)));

  // (e) a burst of large uploads against a fresh gateway, bounded and not
  const BURST_CLIENTS = 24;
  const BURST_BODY = 8 * 1024 * 1024 - 64 * 1024;
  const bounded: number[] = [];
  const unbounded: number[] = [];
  let statuses = '';
  for (let run = 0; run < args.runs; run++) {
    for (const [bound, out] of [
      ['64MiB', bounded],
      ['0', unbounded],
    ] as const) {
      const gw = await startCli(['coordinator', '--gateway.host', '127.0.0.1', '--gateway.port', '0', '--control.host', '127.0.0.1', '--control.port', '0', '--gateway.engines', engineUrl, '--gateway.max-buffered-body', bound]);
      try {
        await waitOk(gw.urls.gateway as string);
        const r = await uploadBurst(gw.urls.gateway as string, gw.pid, BURST_CLIENTS, BURST_BODY, MODEL);
        out.push(r.peakGrowthMiB);
        if (bound !== '0') statuses = JSON.stringify(r.statuses);
      } finally {
        await gw.stop();
      }
    }
  }
  notes.push(`upload burst answers with the bound (last run): ${statuses}`);
  rows.push(row(`gateway peak RSS growth, ${BURST_CLIENTS} concurrent ${(BURST_BODY / 2 ** 20).toFixed(2)} MiB uploads`, 'MiB', false, bounded, { 'no --gateway.max-buffered-body': unbounded }));
  targets.push(target('peak RSS growth under the upload burst ≤ 3× --gateway.max-buffered-body (192 MiB)', 'max', 192, median(bounded)));
} finally {
  await gateway.stop();
  if (nginx.ok) await nginx.nginx.stop();
  await engine.stop();
}

for (const n of notes) console.log(n);
writeReport('router', args, rows, targets);
