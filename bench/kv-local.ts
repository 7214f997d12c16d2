/**
 * npm run bench:kv-local [-- --quick]
 * A Python engine process (bench/kv/engine_bench.py, stdlib only) puts and gets 256 KiB – 2 MiB blocks
 * in batches of 1, 8 and 32 through the node KV shard (started in-process, slabs under /dev/shm), and
 * in the same run through Redis 7 and memcached 1.6 on loopback (equivalent stdlib clients), beside
 * the engine's own memcpy ceiling. Rows: PUT/GET GB/s and per-block p50/p99; control round trips.
 *
 * Every block size gets fresh servers (shard, Redis, memcached), as a deployment uses one block size
 * per namespace: each run writes WORKLOAD bytes of new keys and the shard evicts older runs' blocks
 * (default policy) once full; memcached's slab classes likewise start empty.
 *
 * Also, in this process before any server starts: the longest GC pause while 1 M entries churn
 * through each eviction policy and through the shard's index (bench/kv/gc-pauses.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/common/config/load-config.js';
import { createLogger } from '../src/common/logger.js';
import { kvOptionsFromConfig } from '../src/kvcache/options.js';
import { startKvService } from '../src/kvcache/service.js';
import { chainCachePause, GC_ENTRIES, GC_POLICIES, shardPause } from './kv/gc-pauses.js';
import { installMissing, type Peer, startMemcached, startRedis } from './kv/local-peers.js';
import { benchArgs, row, target, writeReport, type Row, type Target } from './lib/report.js';

const args = benchArgs();
const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB];
const BATCHES = [1, 8, 32];
/** Bytes moved per counted run of one (size, batch) case, each way. */
const WORKLOAD = args.quick ? 128 * MiB : 1024 * MiB;
const CAPACITY = args.quick ? '512MiB' : '2GiB';
const RTT_CALLS = args.quick ? 10_000 : 20_000;
const TARGET_BATCH = 32;
const ENGINE = 'bench/kv/engine_bench.py';

interface Sample {
  readonly backend: string;
  readonly op: string;
  readonly size?: number;
  readonly batch?: number;
  readonly gbps?: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly failed?: number;
}

function label(size: number): string {
  return size >= MiB ? `${size / MiB}MiB` : `${size / KiB}KiB`;
}

/** Runs the Python engine once; every stdout line is one JSON sample. */
function engine(argv: string[]): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [ENGINE, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`python3 ${ENGINE} ${argv.join(' ')} exited ${code}:\n${err}`));
      resolve(
        out
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Sample),
      );
    });
  });
}

const samples: Sample[] = [];
const runs = ['--runs', String(args.runs), '--warmup', '1'];

function pick(backend: string, op: string, size?: number, batch?: number): Sample[] {
  return samples.filter((s) => s.backend === backend && s.op === op && s.size === size && s.batch === batch);
}

interface Servers {
  readonly socket: string;
  readonly peers: readonly Peer[];
  stop(): Promise<void>;
}

const log = createLogger({ level: 'warn', format: 'json' });
const missing: Record<string, string> = {};

/** A fresh shard (slabs under /dev/shm) and fresh peers on loopback. */
async function startServers(capacity: string): Promise<Servers> {
  const root = mkdtempSync('/dev/shm/brixlet-bench-kv-local-');
  const { config } = loadConfig({ env: {}, flags: { 'kv.dir': join(root, 'slabs'), 'kv.socket': join(root, 'kv.sock'), 'kv.capacity': capacity } });
  const kv = await startKvService(kvOptionsFromConfig(config.kv), { log });
  const peers: Peer[] = [];
  if (!('redis' in missing)) {
    const r = await startRedis();
    if (r.ok) peers.push(r.peer);
    else missing[r.name] = r.reason;
  }
  if (!('memcached' in missing)) {
    // One run's workload plus slab-class slack; runs are flushed in between.
    const m = await startMemcached(Math.ceil((WORKLOAD * 1.5) / MiB) + 64);
    if (m.ok) peers.push(m.peer);
    else missing[m.name] = m.reason;
  }
  return {
    socket: kv.socketPath,
    peers,
    async stop() {
      for (const p of peers) await p.stop();
      await kv.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Longest GC pause per run at 1 M entries: one row per policy and one for the shard. */
async function gcPauseRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const cases: [string, () => Promise<number>][] = [
    ...Object.entries(GC_POLICIES).map(([name, make]): [string, () => Promise<number>] => [`${name} policy via the chain cache`, () => chainCachePause(make)]),
    ['shard index + arc', shardPause],
  ];
  for (const [name, measure] of cases) {
    await measure(); // warm-up
    const pauses: number[] = [];
    for (let i = 0; i < args.runs; i++) pauses.push(await measure());
    rows.push(row(`longest GC pause, ${GC_ENTRIES} entries churned, ${name}`, 'ms', false, pauses));
  }
  return rows;
}

async function main(): Promise<void> {
  const started = Date.now();
  const gcRows = await gcPauseRows();
  const problems = installMissing({ 'redis-server': 'redis-server', memcached: 'memcached' });
  for (const [cmd, why] of Object.entries(problems)) missing[cmd === 'redis-server' ? 'redis' : cmd] = why;
  let peerNames: string[] = [];
  for (const size of SIZES) {
    const srv = await startServers(CAPACITY);
    try {
      if (size === SIZES[0]) {
        peerNames = srv.peers.map((p) => p.name);
        console.log(
          `kv-local: shard ${CAPACITY} per block size; workload ${WORKLOAD / MiB} MiB per run; peers ${srv.peers.map((p) => `${p.name} ${p.version}`).join(', ') || 'none'}` +
            Object.entries(missing)
              .map(([n, why]) => `; ${n} MISSING (${why})`)
              .join(''),
        );
      }
      for (const batch of BATCHES) {
        const c = ['--size', String(size), '--batch', String(batch), '--bytes', String(WORKLOAD), ...runs];
        samples.push(...(await engine(['--backend', 'shm', '--socket', srv.socket, ...c])));
        for (const p of srv.peers) samples.push(...(await engine(['--backend', p.name, '--port', String(p.port), ...c])));
        samples.push(...(await engine(['--backend', 'memcpy', ...c])));
      }
      if (size === SIZES[SIZES.length - 1]) {
        samples.push(...(await engine(['--backend', 'rtt-shm', '--socket', srv.socket, '--calls', String(RTT_CALLS), ...runs])));
        for (const p of srv.peers) samples.push(...(await engine(['--backend', `rtt-${p.name}`, '--port', String(p.port), '--calls', String(RTT_CALLS), ...runs])));
      }
    } finally {
      await srv.stop();
    }
  }

  // Blocks not stored (put) or not found (get) are left out of GB/s; say where that happened.
  const failures = new Map<string, number>();
  for (const s of samples) if ((s.failed ?? 0) > 0) failures.set(`${s.backend} ${s.op} ${label(s.size ?? 0)} batch ${s.batch}`, (failures.get(`${s.backend} ${s.op} ${label(s.size ?? 0)} batch ${s.batch}`) ?? 0) + (s.failed ?? 0));
  for (const [where, n] of failures) console.log(`kv-local: ${where}: ${n} block(s) not stored or not found over all runs (left out of GB/s)`);
  const rows: Row[] = [];
  const ratios = new Map<string, number>();
  for (const op of ['put', 'get']) {
    for (const size of SIZES) {
      for (const batch of BATCHES) {
        const name = `${op} ${label(size)} batch ${batch}`;
        const brix = pick('shm', op, size, batch);
        const vs = (field: 'gbps' | 'p50_us' | 'p99_us', withMemcpy: boolean) => {
          const out: Record<string, number[]> = {};
          for (const p of peerNames) out[p] = pick(p, op, size, batch).map((s) => s[field] ?? NaN);
          if (withMemcpy) out.memcpy = pick('memcpy', op, size, batch).map((s) => s[field] ?? NaN);
          return out;
        };
        const r = row(name, 'GB/s', true, brix.map((s) => s.gbps ?? NaN), vs('gbps', true));
        rows.push(r);
        for (const [peer, ratio] of Object.entries(r.ratio)) ratios.set(`${op}|${size}|${batch}|${peer}`, ratio);
        rows.push(row(`${name} per-block p50`, 'µs', false, brix.map((s) => s.p50_us), vs('p50_us', false)));
        rows.push(row(`${name} per-block p99`, 'µs', false, brix.map((s) => s.p99_us), vs('p99_us', false)));
      }
    }
  }
  const rttPeers = (op: string, field: 'p50_us' | 'p99_us') => Object.fromEntries(peerNames.map((p) => [`${p} ${p === 'redis' ? 'PING' : 'version'}`, pick(p, op).map((s) => s[field])]));
  for (const field of ['p50_us', 'p99_us'] as const) {
    rows.push(row(`control RTT PING ${field.slice(0, 3)}`, 'µs', false, pick('shm', 'rtt-ping').map((s) => s[field]), rttPeers('rtt-ping', field)));
  }
  for (const field of ['p50_us', 'p99_us'] as const) {
    rows.push(row(`control RTT EXISTS 1 key ${field.slice(0, 3)}`, 'µs', false, pick('shm', 'rtt-exists').map((s) => s[field])));
  }

  const worst = (op: string, peer: string) => Math.min(...SIZES.map((s) => ratios.get(`${op}|${s}|${TARGET_BATCH}|${peer}`) ?? NaN));
  const note = (peer: string) => (peer in missing ? ` — ${peer} MISSING` : '');
  const targets: Target[] = [];
  for (const op of ['put', 'get']) {
    targets.push(target(`${op.toUpperCase()} ≥ 3× redis GB/s at every size (batch ${TARGET_BATCH}; worst size)${note('redis')}`, 'min', 3, worst(op, 'redis')));
  }
  for (const op of ['put', 'get']) {
    targets.push(target(`${op.toUpperCase()} ≥ 2× memcached GB/s at every size (batch ${TARGET_BATCH}; worst size)${note('memcached')}`, 'min', 2, worst(op, 'memcached')));
  }
  targets.push(target(`GET ≥ 0.8× the memcpy ceiling at 1MiB (batch ${TARGET_BATCH})`, 'min', 0.8, ratios.get(`get|${MiB}|${TARGET_BATCH}|memcpy`) ?? NaN));
  const rttP99 = rows.find((r) => r.case === 'control RTT PING p99');
  targets.push(target('control round trip (PING) p99 ≤ 100 µs', 'max', 100, rttP99?.brixlet.median ?? NaN));
  rows.push(...gcRows);
  // Was a unit-test bound (test/kvcache/eviction/gc.test.ts, shard-gc.test.ts): no pause over 10 ms.
  targets.push(target('no GC pause over 10 ms at 1 M entries, every policy and the shard (worst case; median of runs)', 'max', 10, Math.max(...gcRows.map((r) => r.brixlet.median))));
  writeReport('kv-local', args, rows, targets);
  console.log(`kv-local: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
