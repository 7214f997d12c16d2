/**
 * npm run bench:kv-remote [-- --quick]
 * Two processes on loopback: agent A (bench/kv/remote-holder.ts: a KV shard with the blocks and the
 * peer listener) and this process as agent B, whose peer client reads A's blocks with MGET into
 * preallocated views (256 KiB – 2 MiB, batches of 8 and 32), side by side in the same run with Redis 7
 * (MGET) and memcached 1.6 (multi-key get) holding the same bytes, through equivalent clients (one
 * persistent connection, one round trip per batch, one copy into the same views:
 * bench/kv/remote-clients.ts). Also a remote longest-prefix probe (MEXISTS, prefix) of chains of 8,
 * 64 and 512 keys against Redis EXISTS of as many keys, and CPU seconds per GB moved: the reader's
 * (this process, per backend) and the serving process's during the GET runs only (agent A, redis-server,
 * memcached: user + system time from /proc/<pid>/stat; on loopback the sender's core also runs the
 * receiver's TCP input, so the serving side carries most of the kernel's work).
 *
 * First increment: A and B are bench processes hosting the shard and the peer transport (not whole
 * `brixlet agent` processes with a coordinator), and the engine's read is the peer client's MGET
 * (the engine's one-call remote read, LOOKUP_REMOTE, is measured by bench/kv-remote-read.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PeerClient } from '../src/kvcache/peer/peer-client.js';
import { benchKeys, benchName, benchBlock } from './kv/remote-data.js';
import { type BatchGetClient, memcachedClient, redisClient } from './kv/remote-clients.js';
import { installMissing, type Peer, startMemcached, startRedis } from './kv/local-peers.js';
import { benchArgs, percentile, row, target, writeReport, type Row, type Target } from './lib/report.js';

const args = benchArgs();
const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB];
const BATCHES = [8, 32];
const CHAINS = [8, 64, 512];
const LOOKUP_SIZE = 4 * KiB;
/** Distinct bytes held per block size on every backend. */
const HELD = args.quick ? 64 * MiB : 256 * MiB;
/** Bytes read per counted run of one (size, batch) case. */
const WORKLOAD = args.quick ? 256 * MiB : 1024 * MiB;
const LOOKUP_CALLS = args.quick ? 2_000 : 10_000;

function label(size: number): string {
  return size >= MiB ? `${size / MiB}MiB` : `${size / KiB}KiB`;
}

const blocksOf = (size: number): number => (size === LOOKUP_SIZE ? 512 : Math.floor(HELD / size));

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** User + system CPU seconds of a process so far (Linux /proc); NaN where it cannot be read. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime); the split starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface Holder {
  readonly port: number;
  readonly pid: number | undefined;
  /** Ends A; resolves with its CPU seconds since it started serving. */
  stop(): Promise<number>;
}

function startHolder(key: Buffer): Promise<Holder> {
  const sizes = [...SIZES, LOOKUP_SIZE];
  // Whole slabs of --kv.slab-size (1 GiB by default): a capacity is rounded down to them.
  const capacity = `${Math.ceil((sizes.reduce((n, s) => n + blocksOf(s) * s, 0) * 1.3) / MiB / 1024)}GiB`;
  const child = spawn(process.execPath, [new URL('./kv/remote-holder.js', import.meta.url).pathname, JSON.stringify({ sizes, capacity })], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, BRIXLET_BENCH_PAIR_KEY: key.toString('hex'), BRIXLET_BENCH_BLOCKS: JSON.stringify(Object.fromEntries(sizes.map((s) => [s, blocksOf(s)]))) },
  });
  let out = '';
  const lines: ((line: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      lines.shift()?.(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve, reject) => {
    lines.push(resolve);
    child.once('exit', (code) => reject(new Error(`agent A exited ${code}`)));
  });
  return nextLine().then((first) => ({
    port: (JSON.parse(first) as { port: number }).port,
    pid: child.pid,
    async stop() {
      const last = nextLine();
      child.stdin.end();
      return (JSON.parse(await last) as { cpuSeconds: number }).cpuSeconds;
    },
  }));
}

async function fill(c: BatchGetClient, size: number): Promise<void> {
  for (let i = 0; i < blocksOf(size); i++) await c.set(benchName(size, i), benchBlock(size, i));
}

/** One counted run: reads WORKLOAD bytes in batches; returns GB/s. */
async function readRun(size: number, batch: number, start: number, get: (from: number, dests: Uint8Array[]) => Promise<number>): Promise<number> {
  const dests = Array.from({ length: batch }, () => new Uint8Array(size));
  const held = blocksOf(size);
  let bytes = 0;
  let at = start % held;
  const t0 = process.hrtime.bigint();
  while (bytes < WORKLOAD) {
    if (at + batch > held) at = 0;
    const got = await get(at, dests);
    if (got !== batch * size) throw new Error(`read ${got} bytes of ${batch} × ${size}`);
    bytes += got;
    at += batch;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return bytes / s / 1e9;
}

async function main(): Promise<void> {
  const started = Date.now();
  const missing: Record<string, string> = {};
  const problems = installMissing({ 'redis-server': 'redis-server', memcached: 'memcached' });
  for (const [cmd, why] of Object.entries(problems)) missing[cmd === 'redis-server' ? 'redis' : cmd] = why;
  const key = randomBytes(32);
  const holder = await startHolder(key);
  const peers: Peer[] = [];
  const clients = new Map<string, BatchGetClient>();
  for (const start of [startRedis, () => startMemcached(Math.ceil((SIZES.length * HELD * 1.6) / MiB) + 64)]) {
    if (start === startRedis && 'redis' in missing) continue;
    const r = await start();
    if (!r.ok) {
      missing[r.name] = r.reason;
      continue;
    }
    peers.push(r.peer);
    clients.set(r.peer.name, r.peer.name === 'redis' ? await redisClient(r.peer.port) : await memcachedClient(r.peer.port));
  }
  const membership = { current: () => ({ version: 1, self: 'b', members: [{ node: 'a', peerAddress: `127.0.0.1:${holder.port}` }], pairKeys: new Map([['a', key]]) }), onChange: () => () => undefined };
  const peer = new PeerClient({ self: 'b', pool: 'default', membership, deadlineMs: 60_000 });
  console.log(
    `kv-remote: ${HELD / MiB} MiB held per block size, ${WORKLOAD / MiB} MiB read per run; peers ${peers.map((p) => `${p.name} ${p.version}`).join(', ') || 'none'}` +
      Object.entries(missing)
        .map(([n, why]) => `; ${n} MISSING (${why})`)
        .join(''),
  );
  for (const [, c] of clients) for (const size of [...SIZES, LOOKUP_SIZE]) await fill(c, size);

  const rows: Row[] = [];
  const ratios = new Map<string, number>();
  const cpu: Record<string, { seconds: number; server: number; bytes: number }> = { brixlet: { seconds: 0, server: 0, bytes: 0 } };
  for (const name of clients.keys()) cpu[name] = { seconds: 0, server: 0, bytes: 0 };
  const serverPid = new Map<string, number | undefined>([['brixlet', holder.pid], ...peers.map((p): [string, number | undefined] => [p.name, p.pid])]);
  const timed = async (who: string, fn: () => Promise<number>): Promise<number> => {
    const c0 = process.cpuUsage();
    const s0 = processCpuSeconds(serverPid.get(who));
    const gbps = await fn();
    const c = process.cpuUsage(c0);
    const entry = cpu[who] as { seconds: number; server: number; bytes: number };
    entry.seconds += (c.user + c.system) / 1e6;
    entry.server += processCpuSeconds(serverPid.get(who)) - s0;
    entry.bytes += WORKLOAD;
    return gbps;
  };
  for (const size of SIZES) {
    const ns = `bench-${size}`;
    for (const batch of BATCHES) {
      const runs: Record<string, number[]> = { brixlet: [] };
      for (const name of clients.keys()) runs[name] = [];
      for (let run = -1; run < args.runs; run++) {
        // Run -1 warms every backend up; runs interleave backends so drift hits them alike.
        const brix = await timed('brixlet', () =>
          readRun(size, batch, (run + 1) * 997, async (from, dests) => {
            const r = await peer.mget('a', ns, benchKeys(size, from, batch), dests);
            let n = 0;
            for (const l of r.lengths) n += l;
            return n;
          }),
        );
        if (run >= 0) runs.brixlet!.push(brix);
        for (const [name, c] of clients) {
          const g = await timed(name, () =>
            readRun(size, batch, (run + 1) * 997, async (from, dests) => {
              const names = Array.from({ length: batch }, (_, i) => benchName(size, from + i));
              return (await c.get(names, dests)).reduce((a, b) => a + b, 0);
            }),
          );
          if (run >= 0) runs[name]!.push(g);
        }
      }
      const { brixlet, ...others } = runs;
      const r = row(`remote GET ${label(size)} batch ${batch}`, 'GB/s', true, brixlet as number[], others);
      rows.push(r);
      for (const [p, v] of Object.entries(r.ratio)) ratios.set(`${size}|${batch}|${p}`, v);
      console.log(`  ${r.case}: brixlet ${r.brixlet.median.toFixed(2)} GB/s; ${Object.entries(r.peers).map(([p, s]) => `${p} ${s.median.toFixed(2)}`).join(', ')}`);
    }
  }

  // Remote longest-prefix probe: p99 per call over LOOKUP_CALLS calls, per run.
  const redis = clients.get('redis');
  for (const chain of CHAINS) {
    const brixP99: number[] = [];
    const redisP99: number[] = [];
    const keys = benchKeys(LOOKUP_SIZE, 0, chain);
    const names = Array.from({ length: chain }, (_, i) => benchName(LOOKUP_SIZE, i));
    for (let run = -1; run < args.runs; run++) {
      const lat: number[] = [];
      for (let i = 0; i < LOOKUP_CALLS; i++) {
        const t0 = process.hrtime.bigint();
        const st = await peer.mexists('a', `bench-${LOOKUP_SIZE}`, keys, { prefix: true });
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (st[chain - 1] !== 0) throw new Error('lookup missed');
      }
      if (run >= 0) brixP99.push(percentile(lat, 99));
      if (redis !== undefined) {
        const rl: number[] = [];
        for (let i = 0; i < LOOKUP_CALLS; i++) {
          const t0 = process.hrtime.bigint();
          const n = await redis.exists(names);
          rl.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (n !== chain) throw new Error('redis EXISTS missed');
        }
        if (run >= 0) redisP99.push(percentile(rl, 99));
      }
    }
    rows.push(row(`remote longest-prefix lookup, chain of ${chain}, p99`, 'ms', false, brixP99, redis !== undefined ? { 'redis EXISTS': redisP99 } : {}));
  }

  const holderCpu = await holder.stop();
  await peer.close();
  for (const c of clients.values()) c.close();
  for (const p of peers) await p.stop();
  for (const [who, c] of Object.entries(cpu)) rows.push(row(`CPU seconds per GB read, reader side (${who})`, 's/GB', false, [c.seconds / (c.bytes / 1e9)]));
  for (const [who, c] of Object.entries(cpu)) {
    const server = who === 'brixlet' ? 'agent A' : `${who} server`;
    rows.push(row(`CPU seconds per GB served during the GET runs (${server})`, 's/GB', false, [c.server / (c.bytes / 1e9)]));
  }
  rows.push(row('CPU seconds per GB served, agent A (peer listener + shard; lookups included)', 's/GB', false, [holderCpu / (cpu.brixlet!.bytes / 1e9)]));

  const worst = (p: string) => Math.min(...SIZES.flatMap((s) => BATCHES.map((b) => ratios.get(`${s}|${b}|${p}`) ?? NaN)));
  const note = (p: string) => (p in missing ? ` — ${p} MISSING` : '');
  const targets: Target[] = [
    target(`remote GET ≥ 1.5× redis GB/s at every size and batch (worst case)${note('redis')}`, 'min', 1.5, worst('redis')),
    target(`remote GET ≥ 1.0× memcached GB/s at every size and batch (worst case)${note('memcached')}`, 'min', 1.0, worst('memcached')),
  ];
  for (const chain of CHAINS) {
    const r = rows.find((x) => x.case === `remote longest-prefix lookup, chain of ${chain}, p99`);
    targets.push(target(`remote longest-prefix lookup of ${chain} blocks p99 ≤ 1 ms`, 'max', 1, r?.brixlet.median ?? NaN));
  }
  writeReport('kv-remote', args, rows, targets);
  console.log(`kv-remote: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
