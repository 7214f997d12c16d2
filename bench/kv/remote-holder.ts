/**
 * Agent A of bench:kv-remote, in its own process: a KV shard (slabs under /dev/shm) filled with
 * the given number of blocks of each size (one namespace per size, put through the engine socket), and the peer
 * listener on loopback, which trusts node "b" with the pair key from BRIXLET_BENCH_PAIR_KEY (hex).
 * Prints one JSON line {port} once it serves, then its CPU seconds when stdin closes, and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/common/config/load-config.js';
import { createLogger } from '../../src/common/logger.js';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { kvOptionsFromConfig } from '../../src/kvcache/options.js';
import { PeerServer } from '../../src/kvcache/peer/peer-server.js';
import { startKvService } from '../../src/kvcache/service.js';
import { benchBlock, benchKeys } from './remote-data.js';

const { sizes, capacity } = JSON.parse(process.argv[2] ?? '{}') as { sizes: number[]; capacity: string };
/** Blocks to hold per block size. */
const blocksBySize = JSON.parse(process.env.BRIXLET_BENCH_BLOCKS ?? '{}') as Record<string, number>;
const key = Buffer.from(process.env.BRIXLET_BENCH_PAIR_KEY ?? '', 'hex');
const log = createLogger({ level: 'warn', format: 'json' });
const root = mkdtempSync('/dev/shm/brixlet-bench-kv-remote-');
const { config } = loadConfig({ env: {}, flags: { 'kv.dir': join(root, 'slabs'), 'kv.socket': join(root, 'kv.sock'), 'kv.capacity': capacity } });
const kv = await startKvService(kvOptionsFromConfig(config.kv), { log });
for (const size of sizes) {
  const c = await KvClient.connect({ socketPath: kv.socketPath, namespace: `bench-${size}`, blockSize: size });
  const blocks = blocksBySize[String(size)] ?? 0;
  for (let i = 0; i < blocks; i += 16) {
    const n = Math.min(16, blocks - i);
    await c.put(benchKeys(size, i, n), Array.from({ length: n }, (_, j) => benchBlock(size, i + j)), { independent: true });
  }
  await c.close();
}
const membership = { current: () => ({ version: 1, self: 'a', members: [], pairKeys: new Map([['b', key]]) }), onChange: () => () => undefined };
const server = new PeerServer({ host: '127.0.0.1', port: 0, membership, pools: new Map([['default', kv.blocks!]]) }, log);
await server.listen();
const cpu0 = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void (async () => {
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(`${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
    await server.close();
    await kv.close();
    rmSync(root, { recursive: true, force: true });
    process.exit(0);
  })();
});
