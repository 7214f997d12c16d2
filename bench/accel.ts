/**
 * npm run bench:accel [-- --quick]
 * Accelerator hot paths against the targets, each beside a peer or floor measured in the same run:
 *   sample   CPU per full sample of 8 GPUs through the native NVML mock  (peer: the pure-TS sim backend)
 *   ffi      ns per native call through koffi into the mock               (floors: koffi getpid, a JS call)
 *   scrape   /metrics p99 with every family at 8 GPUs                      (peer: prom-client serialising the same series)
 *   loop     event-loop delay p99 while sampling every 100 ms              (floor: the same loop idle)
 *   rss      idle agent RSS, spawned with the NVML mock                    (floor: a bare node process)
 *   fault    decorator cost per read with 100 rules, none matching          (peer: the bare backend)
 *            preset gpu-lost → GPU 3 unhealthy on /metrics, 500 ms sampling (target: interval + 100 ms)
 *            reset → GPU 3 healthy again on /metrics                        (target: interval + 100 ms)
 *   render   renderAccelMetrics of every family at 8 GPUs, in process      (peer: prom-client, same series)
 *   wait     CPU burnt by an idle 200 ms nvmlEventSetWait_v2 in the mock    (floor: Atomics.wait 200 ms)
 * The render, wait, reset and decorator targets were unit-test bounds once (render-metrics,
 * nvml-events, e2e/faults and decorator tests); tests keep the behaviour, this keeps the bounds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import koffi from 'koffi';
import { Gauge, Registry } from 'prom-client';
import { buildAgentApp } from '../src/agent/agent-app.js';
import { createAccelComponent } from '../src/agent/accel-component.js';
import { createFaultComponent } from '../src/agent/fault-component.js';
import { loadConfig } from '../src/common/config/load-config.js';
import { listen } from '../src/common/http/listen.js';
import { createLogger } from '../src/common/logger.js';
import { createAppMetrics, createProcessRegistry } from '../src/common/metrics.js';
import { Readiness } from '../src/common/readiness.js';
import { createNvmlBackend } from '../src/accel/nvml/index.js';
import { createFaultDecorator } from '../src/accel/fault/decorator.js';
import { FaultEngine } from '../src/accel/fault/engine.js';
import { renderAccelMetrics } from '../src/accel/metrics/render-metrics.js';
import { PROBES } from '../src/accel/probes/index.js';
import { Sampler } from '../src/accel/sampler.js';
import { loadScenarioFile } from '../src/accel/scenario.js';
import { createSimBackends } from '../src/accel/sim/index.js';
import { PROBE_GROUPS, type AcceleratorBackend } from '../src/accel/types.js';
import { benchArgs, percentile, row, target, writeReport, type Row, type Target } from './lib/report.js';

const args = benchArgs();
const MOCK = resolve('native/build/libnvidia-ml.so.1');
const SCENARIO = resolve('mocks/scenarios/healthy-8x-h100.json');
process.env.BRIXLET_MOCK_SCENARIO = SCENARIO;
const log = createLogger({ level: 'silent', format: 'json' });

async function nvmlBackend(): Promise<AcceleratorBackend> {
  const b = createNvmlBackend({ library: MOCK, log, env: process.env });
  const status = await b.open();
  if (status.state !== 'up') throw new Error(`NVML mock not up: ${status.message ?? status.state} (run npm run build first)`);
  return b;
}

/** CPU milliseconds per sampleNow() over `n` samples. */
async function cpuPerSample(backends: AcceleratorBackend[], n: number): Promise<number> {
  const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'bench', log, xidIgnore: [] });
  // Steady state: the first samples pay for JIT compilation, which a long-running agent pays once.
  for (let i = 0; i < 50; i++) await sampler.sampleNow();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await sampler.sampleNow();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / n;
}

async function benchSample(): Promise<{ rows: Row[]; p: number }> {
  const n = args.quick ? 200 : 500;
  const nvml: number[] = [];
  const sim: number[] = [];
  const nv = await nvmlBackend();
  const simBackends = createSimBackends(loadScenarioFile(SCENARIO), { log });
  for (const b of simBackends) await b.open();
  for (let r = 0; r < args.runs; r++) {
    nvml.push(await cpuPerSample([nv], n));
    sim.push(await cpuPerSample(simBackends, n));
  }
  const r = row('full sample, 8 GPUs, all probes (CPU)', 'ms', false, nvml, { 'sim backend': sim });
  return { rows: [r], p: r.brixlet.median };
}

function benchFfi(): Row {
  const lib = koffi.load(MOCK);
  const getCount = lib.func('int nvmlDeviceGetCount_v2(_Out_ uint32_t *count)');
  const libc = koffi.load('libc.so.6');
  const getpid = libc.func('int getpid()');
  const out = [0];
  const js = (x: number[]) => (x[0] = 8);
  const n = args.quick ? 100_000 : 500_000;
  const time = (fn: () => void) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - t) / n;
  };
  const mock: number[] = [];
  const floor: number[] = [];
  const plain: number[] = [];
  time(() => getCount(out));
  for (let r = 0; r < args.runs; r++) {
    mock.push(time(() => getCount(out)));
    floor.push(time(() => getpid()));
    plain.push(time(() => js(out)));
  }
  return row('native call nvmlDeviceGetCount_v2 via koffi', 'ns', false, mock, { 'koffi getpid (FFI floor)': floor, 'JS call': plain });
}

/** Latencies (ms) seen by a scraper in its own process (bench/scrape-client.ts), as Prometheus is. */
function scrapeLatencies(url: string, n: number): Promise<number[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['dist-bench/bench/scrape-client.js', url, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(out) as number[]) : reject(new Error(`scrape client exited ${code}`))));
  });
}

/** The same series as gauges in a prom-client registry, serialised on every scrape (the usual way). */
function promClientPeer(text: string): Registry {
  const reg = new Registry();
  const gauges = new Map<string, Gauge>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const [, name, rawLabels, value] = m as unknown as [string, string, string | undefined, string];
    const labels = Object.fromEntries([...(rawLabels ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1] as string, x[2] as string]));
    let g = gauges.get(name);
    if (g === undefined) {
      g = new Gauge({ name, help: name, labelNames: Object.keys(labels), registers: [reg] });
      gauges.set(name, g);
    }
    g.set(labels, Number(value));
  }
  return reg;
}

async function benchScrape(): Promise<{ rows: Row[]; p99: number; series: number }> {
  const { config } = loadConfig({ flags: { 'accel.backend': 'none' } });
  const accel = await createAccelComponent({ config, log, backends: [await nvmlBackend()], nodeName: 'bench' });
  await accel.sampler.sampleNow();
  const metrics = createAppMetrics(createProcessRegistry());
  const app = await buildAgentApp({ config, log, metrics, readiness: new Readiness(), version: '0', nodeName: 'bench', components: [accel] });
  const accelText = (await metrics.render()).split('\n').filter((l) => /^(DCGM_|brixlet_accelerator_|npu_)/.test(l));
  const peer = promClientPeer(accelText.join('\n'));
  app.get('/peer-metrics', async (_req, reply) => reply.type(peer.contentType).send(await peer.metrics()));
  const base = await listen(app, { host: '127.0.0.1', port: 0, server: 'agent', flag: '--agent.port' });
  const n = args.quick ? 300 : 1000;
  const ours: number[] = [];
  const theirs: number[] = [];
  const floor: number[] = [];
  for (let r = 0; r < args.runs; r++) {
    ours.push(percentile(await scrapeLatencies(`${base}/metrics`, n), 99));
    theirs.push(percentile(await scrapeLatencies(`${base}/peer-metrics`, n), 99));
    floor.push(percentile(await scrapeLatencies(`${base}/healthz`, n), 99));
  }
  await app.close();
  await accel.dispose();
  return {
    rows: [row(`/metrics p99, 8 GPUs, ${accelText.length} accel series`, 'ms', false, ours, { 'prom-client same series': theirs, '/healthz (HTTP floor)': floor })],
    p99: row('', '', false, ours).brixlet.median,
    series: accelText.length,
  };
}

async function loopDelayP99(sample: boolean, ms: number): Promise<number> {
  const sampler = sample
    ? new Sampler({ backends: [await nvmlBackend()], probes: PROBES, intervalMs: 100, node: 'bench', log, xidIgnore: [] })
    : undefined;
  const h = monitorEventLoopDelay({ resolution: 1 });
  sampler?.start();
  h.enable();
  await new Promise((r) => setTimeout(r, ms));
  h.disable();
  await sampler?.dispose();
  return h.percentile(99) / 1e6;
}

async function benchLoop(): Promise<{ rows: Row[]; p99: number }> {
  const ms = args.quick ? 2000 : 5000;
  const busy: number[] = [];
  const idle: number[] = [];
  for (let r = 0; r < args.runs; r++) {
    busy.push(await loopDelayP99(true, ms));
    idle.push(await loopDelayP99(false, ms));
  }
  const r = row('event-loop delay p99, sampling every 100 ms', 'ms', false, busy, { 'idle loop (floor)': idle });
  return { rows: [r], p99: r.brixlet.median };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

async function spawnRss(cmd: string, argv: string[], env: NodeJS.ProcessEnv, ready: (out: string) => boolean): Promise<number> {
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const started = Date.now();
  while (!ready(out)) {
    if (Date.now() - started > 15_000) throw new Error(`not ready: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const rss = rssOf(child.pid as number);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return rss;
}

async function benchRss(): Promise<{ rows: Row[]; rss: number }> {
  const agent: number[] = [];
  const bare: number[] = [];
  const env = { BRIXLET_NVML_LIBRARY: MOCK, BRIXLET_MOCK_SCENARIO: SCENARIO, BRIXLET_LOG_LEVEL: 'warn' };
  for (let r = 0; r < args.runs; r++) {
    // The agent runs as installed: the `brixlet` executable, whose shebang sets its V8 flags.
    agent.push(await spawnRss('dist/cli/main.js', ['agent', '--accel', 'nvml', '--agent.port', '0', '--agent.host', '127.0.0.1', '--json'], env, (o) => o.includes('\n')));
    bare.push(await spawnRss(process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1000)'], {}, (o) => o.includes('up')));
  }
  const r = row('agent idle RSS, 8 GPUs via the NVML mock', 'MiB', false, agent, { 'bare node (floor)': bare });
  return { rows: [r], rss: r.brixlet.median * (1024 * 1024) / 1e6 };
}

/** ns per awaited read(index, group), cycling over 8 GPUs and every probe group. */
async function nsPerRead(b: AcceleratorBackend, n: number): Promise<number> {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await b.read(i & 7, PROBE_GROUPS[i % PROBE_GROUPS.length]!);
  return Number(process.hrtime.bigint() - t) / n;
}

async function benchDecorator(): Promise<{ rows: Row[]; overheadNs: number }> {
  const n = args.quick ? 200_000 : 500_000;
  const [bare] = createSimBackends(loadScenarioFile(SCENARIO), { log });
  await bare!.open();
  const engine = new FaultEngine({ maxRules: 100 });
  // 100 live rules on devices this node does not have: every read pays for the check, none applies.
  engine.addAll(Array.from({ length: 100 }, (_, i) => ({ target: { device: 100 + i }, what: { class: 'ecc' }, effect: { xid: 48, values: { eccDbeVolatile: 1 } } })));
  const decorated = createFaultDecorator(bare!, engine);
  await nsPerRead(bare!, n / 4);
  await nsPerRead(decorated, n / 4);
  const plain: number[] = [];
  const wrapped: number[] = [];
  for (let r = 0; r < args.runs; r++) {
    plain.push(await nsPerRead(bare!, n));
    wrapped.push(await nsPerRead(decorated, n));
  }
  const overhead = wrapped.map((w, i) => w - plain[i]!);
  return {
    rows: [
      row('sim read through the fault decorator, 100 rules, none matching', 'ns', false, wrapped, { 'bare sim backend': plain }),
      row('decorator overhead per read (decorated − bare, same run)', 'ns', false, overhead),
    ],
    overheadNs: row('', '', false, overhead).brixlet.median,
  };
}

/** ms per renderAccelMetrics() of a sim 8×H100 snapshot, every family, beside prom-client serialising the same series. */
async function benchRender(): Promise<{ rows: Row[]; p50: number }> {
  const sims = createSimBackends(loadScenarioFile(SCENARIO), { log });
  for (const b of sims) await b.open();
  const sampler = new Sampler({ backends: sims, probes: PROBES, intervalMs: 60_000, node: 'bench', log, xidIgnore: [] });
  const snap = await sampler.sampleNow();
  await sampler.dispose();
  const opts = { probes: PROBES, dcgm: true, npu: true, hostname: 'bench' };
  const text = renderAccelMetrics(snap, opts);
  const peer = promClientPeer(text);
  const n = args.quick ? 200 : 1000;
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < 50; i++) {
    renderAccelMetrics(snap, opts);
    await peer.metrics();
  }
  for (let r = 0; r < args.runs; r++) {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      renderAccelMetrics(snap, opts);
      a.push(performance.now() - t0);
      t0 = performance.now();
      await peer.metrics();
      b.push(performance.now() - t0);
    }
    ours.push(percentile(a, 50));
    theirs.push(percentile(b, 50));
  }
  const r = row(`render every accel family, 8 GPUs, ${text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length} series, p50`, 'ms', false, ours, { 'prom-client same series': theirs });
  return { rows: [r], p50: r.brixlet.median };
}

/** CPU ms used while the NVML mock blocks an idle 200 ms event wait, beside Atomics.wait for as long. */
function benchIdleWait(): { rows: Row[]; cpuMs: number } {
  const lib = koffi.load(MOCK);
  const init = lib.func('int nvmlInit_v2()');
  const shutdown = lib.func('int nvmlShutdown()');
  const byIndex = lib.func('int nvmlDeviceGetHandleByIndex_v2(uint32_t i, void *handle)');
  const setCreate = lib.func('int nvmlEventSetCreate(void *set)');
  const register = lib.func('int nvmlDeviceRegisterEvents(void *dev, uint64_t types, void *set)');
  const wait = lib.func('int nvmlEventSetWait_v2(void *set, void *data, uint32_t timeoutms)');
  const setFree = lib.func('int nvmlEventSetFree(void *set)');
  if (init() !== 0) throw new Error('nvmlInit_v2 failed in the mock');
  const h = Buffer.alloc(8);
  const s = Buffer.alloc(8);
  if (byIndex(0, h) !== 0 || setCreate(s) !== 0) throw new Error('no event set from the mock');
  const set = s.readBigUInt64LE(0);
  if (register(h.readBigUInt64LE(0), 8n, set) !== 0) throw new Error('nvmlDeviceRegisterEvents failed in the mock');
  const cpuOf = (fn: () => void) => {
    const before = process.cpuUsage();
    fn();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  const data = Buffer.alloc(32);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const mock: number[] = [];
  const floor: number[] = [];
  for (let r = 0; r < args.runs; r++) {
    mock.push(
      cpuOf(() => {
        if (wait(set, data, 200) !== 10) throw new Error('the idle wait did not time out');
      }),
    );
    floor.push(cpuOf(() => Atomics.wait(cell, 0, 0, 200)));
  }
  setFree(set);
  shutdown();
  const r = row('CPU during an idle 200 ms nvmlEventSetWait_v2 (NVML mock)', 'ms', false, mock, { 'Atomics.wait 200 ms (floor)': floor });
  return { rows: [r], cpuMs: r.brixlet.median };
}

/** ms from POST /v1/faults/presets/gpu-lost to GPU 3 reading unhealthy on /metrics, and from reset to healthy again. */
async function benchPresetLatency(intervalMs: number): Promise<{ rows: Row[]; p: number; heal: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-bench-'));
  const token = 'bench-token-0123456789abcdef';
  writeFileSync(join(dir, 'token'), token);
  const { config } = loadConfig({
    flags: { 'accel.backend': 'none', 'accel.sampleInterval': `${intervalMs}ms`, 'faults.enabled': 'true', 'faults.tokenFile': join(dir, 'token'), 'faults.ruleFile': join(dir, 'faults.json') },
  });
  const faults = await createFaultComponent({ config, log });
  const sims = createSimBackends(loadScenarioFile(SCENARIO), { log });
  for (const b of sims) await b.open();
  const accel = await createAccelComponent({ config, log, backends: sims, nodeName: 'bench', decorate: faults.decorate });
  const app = await buildAgentApp({ config, log, metrics: createAppMetrics(createProcessRegistry()), readiness: new Readiness(), version: '0', nodeName: 'bench', components: [accel, faults] });
  const base = await listen(app, { host: '127.0.0.1', port: 0, server: 'agent', flag: '--agent.port' });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const gpu3 = async () => /^brixlet_accelerator_healthy\{[^}]*index="3"[^}]*\} (\d)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1];
  const until = async (want: string) => {
    while ((await gpu3()) !== want) await new Promise((r) => setTimeout(r, 2));
  };
  const latencies: number[] = [];
  const heals: number[] = [];
  await until('1');
  for (let r = 0; r < args.runs; r++) {
    // Start at a random point of the sampling cycle, as a user would.
    await new Promise((res) => setTimeout(res, Math.random() * intervalMs));
    const t0 = performance.now();
    await fetch(`${base}/v1/faults/presets/gpu-lost`, { method: 'POST', headers, body: JSON.stringify({ target: { device: 3 } }) });
    await until('0');
    latencies.push(performance.now() - t0);
    const t1 = performance.now();
    await fetch(`${base}/v1/faults/reset`, { method: 'POST', headers: { authorization: headers.authorization } });
    await until('1');
    heals.push(performance.now() - t1);
  }
  await app.close();
  await accel.dispose();
  await faults.dispose();
  const r = row(`preset gpu-lost → GPU 3 unhealthy on /metrics, ${intervalMs} ms sampling`, 'ms', false, latencies);
  const h = row(`reset → GPU 3 healthy again on /metrics, ${intervalMs} ms sampling`, 'ms', false, heals);
  return { rows: [r, h], p: r.brixlet.max, heal: h.brixlet.max };
}

const rows: Row[] = [];
const targets: Target[] = [];
const sample = await benchSample();
rows.push(...sample.rows);
targets.push(target('full sample of 8 GPUs through the mock ≤ 2 ms CPU (median of runs)', 'max', 2, sample.p));
rows.push(benchFfi());
const scrape = await benchScrape();
rows.push(...scrape.rows);
targets.push(target('/metrics scrape p99 ≤ 5 ms, all families, 8 GPUs (median of runs)', 'max', 5, scrape.p99));
const loop = await benchLoop();
rows.push(...loop.rows);
targets.push(target('event-loop delay p99 ≤ 5 ms while sampling (median of runs)', 'max', 5, loop.p99));
const rss = await benchRss();
rows.push(...rss.rows);
targets.push(target('agent idle RSS ≤ 100 MB (10^6 bytes, median of runs)', 'max', 100, rss.rss));
const decorator = await benchDecorator();
rows.push(...decorator.rows);
targets.push(target('fault decorator ≤ 1 µs per read, 100 rules, none matching (median of runs, ns)', 'max', 1000, decorator.overheadNs));
const PRESET_INTERVAL_MS = 500;
const preset = await benchPresetLatency(PRESET_INTERVAL_MS);
rows.push(...preset.rows);
targets.push(target(`preset → visible on /metrics ≤ sample interval + 100 ms (${PRESET_INTERVAL_MS + 100} ms, worst of runs)`, 'max', PRESET_INTERVAL_MS + 100, preset.p));
targets.push(target(`reset → healed on /metrics ≤ sample interval + 100 ms (${PRESET_INTERVAL_MS + 100} ms, worst of runs)`, 'max', PRESET_INTERVAL_MS + 100, preset.heal));
const render = await benchRender();
rows.push(...render.rows);
targets.push(target('render every accel family at 8 GPUs ≤ 2 ms (p50 per run, median of runs)', 'max', 2, render.p50));
const idleWait = benchIdleWait();
rows.push(...idleWait.rows);
targets.push(target('idle 200 ms NVML event wait burns ≤ 60 ms CPU, no spinning (median of runs)', 'max', 60, idleWait.cpuMs));
writeReport('accel', args, rows, targets);
process.exit(0);
