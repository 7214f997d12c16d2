/**
 * npm run bench:kv-remote-read [-- --quick]
 * The engine's one-call remote read (LOOKUP_REMOTE) on loopback: agent A (bench/kv/remote-holder.ts,
 * its own process: a shard with the blocks and the peer listener) holds chains; this process is agent
 * B, a shard whose LOOKUP_REMOTE fetches from A through the peer client, asked by an engine over B's
 * unix socket. Each counted call reads a chain B does not hold (B is small: the chains it fetched
 * earlier were evicted), so every block crosses the network. Measured per call: the engine's whole
 * call (directory answer, slot reservation, MGET into B's slots, seal, leases) against, in the same
 * run, the peer client's bare MGET of the same chain into preallocated buffers (the transport alone),
 * and the same LOOKUP_REMOTE once the chain is local (a local hit). The directory is in memory (it
 * names A): the directory's own round trip to a chain's home is not in these numbers.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/common/config/load-config.js';
import { createLogger } from '../src/common/logger.js';
import { KvClient } from '../src/kvcache/client/kv-client.js';
import { kvOptionsFromConfig } from '../src/kvcache/options.js';
import { PeerClient } from '../src/kvcache/peer/peer-client.js';
import { startKvService } from '../src/kvcache/service.js';
import { benchKeys } from './kv/remote-data.js';
import { benchArgs, median, percentile, row, target, writeReport, type Row, type Target } from './lib/report.js';

const args = benchArgs();
const KiB = 1024;
const MiB = 1024 * KiB;
/** (block size, blocks per chain): 8 MiB and 16 MiB per call. */
const CASES: readonly (readonly [number, number])[] = [
  [256 * KiB, 32],
  [2 * MiB, 8],
];
/** Chains A holds per case: calls per run cycle through them. */
const CHAINS = args.quick ? 16 : 32;
const HELD_BYTES = CASES.reduce((n, [size, len]) => n + size * len * CHAINS, 0);

function startHolder(key: Buffer): Promise<{ port: number; stop(): Promise<void> }> {
  const sizes = CASES.map(([s]) => s);
  const capacity = `${Math.ceil((HELD_BYTES * 1.3) / MiB / 64) * 64}MiB`;
  const blocks = Object.fromEntries(CASES.map(([s, len]) => [s, len * CHAINS]));
  const child = spawn(process.execPath, [new URL('./kv/remote-holder.js', import.meta.url).pathname, JSON.stringify({ sizes, capacity })], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, BRIXLET_BENCH_PAIR_KEY: key.toString('hex'), BRIXLET_BENCH_BLOCKS: JSON.stringify(blocks) },
  });
  let out = '';
  const waiters: ((line: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      waiters.shift()?.(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve, reject) => {
    waiters.push(resolve);
    child.once('exit', (code) => reject(new Error(`agent A exited ${code}`)));
  });
  return nextLine().then((first) => ({
    port: (JSON.parse(first) as { port: number }).port,
    async stop() {
      const last = nextLine();
      child.stdin.end();
      await last;
    },
  }));
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function main(): Promise<void> {
  const started = Date.now();
  const key = randomBytes(32);
  const holder = await startHolder(key);
  const log = createLogger({ level: 'warn', format: 'json' });
  const root = mkdtempSync('/dev/shm/brixlet-bench-kv-remote-read-');
  // B holds three of the largest calls: chains fetched earlier are evicted before they come round again.
  const capacity = `${Math.ceil((3 * Math.max(...CASES.map(([s, l]) => s * l))) / MiB)}MiB`;
  const { config } = loadConfig({ env: {}, flags: { 'kv.dir': join(root, 'slabs'), 'kv.socket': join(root, 'kv.sock'), 'kv.capacity': capacity, 'kv.slabSize': capacity, 'kv.policy': 'lru' } });
  const b = await startKvService(kvOptionsFromConfig(config.kv), { log });
  const membership = { current: () => ({ version: 1, self: 'b', members: [{ node: 'a', peerAddress: `127.0.0.1:${holder.port}` }], pairKeys: new Map([['a', key]]) }), onChange: () => () => undefined };
  const transport = new PeerClient({ self: 'b', pool: 'default', membership, deadlineMs: 60_000 });
  const directory = { lookup: async (_ns: string, k: Buffer) => ({ holders: ['a'], holderOf: new Uint16Array(k.length / 16) }) };
  b.enableRemoteRead?.({ transport, directory, self: 'b', options: { maxBudgetMs: 60_000 } });
  console.log(`kv-remote-read: ${CHAINS} chains per case on A, B capacity ${capacity}, ${args.runs} runs`);

  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const [size, len] of CASES) {
    const ns = `bench-${size}`;
    const engine = await KvClient.connect({ socketPath: b.socketPath, namespace: ns, blockSize: size });
    const dests = Array.from({ length: len }, () => new Uint8Array(size));
    const one: number[] = [];
    const bare: number[] = [];
    const local: number[] = [];
    const p99: number[] = [];
    let short = 0;
    for (let run = -1; run < args.runs; run++) {
      const lat: number[] = [];
      const mget: number[] = [];
      const hit: number[] = [];
      for (let c = 0; c < CHAINS; c++) {
        const keys = benchKeys(size, c * len, len);
        let t0 = process.hrtime.bigint();
        const r = await transport.mget('a', ns, keys, dests, { prefix: true });
        mget.push(ms(t0));
        if (r.lengths.some((l) => l !== size)) throw new Error('bare MGET missed');
        t0 = process.hrtime.bigint();
        const got = await engine.lookup(keys, { remoteBudgetMs: 60_000 });
        lat.push(ms(t0));
        if (got.remoteHits !== len) short++;
        await engine.release(got.leases.map((l) => l.leaseId));
        t0 = process.hrtime.bigint();
        const again = await engine.lookup(keys, { remoteBudgetMs: 60_000 });
        hit.push(ms(t0));
        if (again.hits !== len || again.remoteHits !== 0) throw new Error('second call was not a local hit');
        await engine.release(again.leases.map((l) => l.leaseId));
      }
      if (run < 0) continue; // warm-up
      one.push(percentile(lat, 50));
      p99.push(percentile(lat, 99));
      bare.push(percentile(mget, 50));
      local.push(percentile(hit, 50));
    }
    await engine.close();
    const label = `${len} × ${size / KiB} KiB`;
    const r = row(`one-call remote read of ${label} (B lacks all of it), p50`, 'ms', false, one, { 'peer MGET alone': bare });
    rows.push(r, row(`one-call remote read of ${label}, p99`, 'ms', false, p99), row(`the same call once the chain is local, p50`, 'ms', false, local));
    const gbps = (size * len) / (r.brixlet.median / 1000) / 1e9;
    rows.push(row(`one-call remote read of ${label}, effective GB/s at p50`, 'GB/s', true, [gbps]));
    console.log(`  ${label}: one call p50 ${r.brixlet.median.toFixed(2)} ms (bare MGET ${r.peers['peer MGET alone']?.median.toFixed(2)} ms), local hit ${median(local).toFixed(3)} ms; ${short} short calls`);
    targets.push(target(`one-call remote read of ${label} p50 ≤ 1.25× the bare MGET of the same bytes`, 'max', 1.25, r.ratio['peer MGET alone'] ?? NaN));
  }
  await transport.close();
  await b.close();
  await holder.stop();
  rmSync(root, { recursive: true, force: true });
  writeReport('kv-remote-read', args, rows, targets);
  console.log(`kv-remote-read: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
