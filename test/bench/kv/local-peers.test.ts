// bench:kv-local's moving parts on a tiny workload: the peers it starts and the Python engine's output.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, installMissing, type Peer, startMemcached, startRedis } from '../../../bench/kv/local-peers.js';
import { loadConfig } from '../../../src/common/config/load-config.js';
import { kvOptionsFromConfig } from '../../../src/kvcache/options.js';
import { startKvService } from '../../../src/kvcache/service.js';
import type { KvService } from '../../../src/kvcache/types.js';
import { canBind } from '../../helpers/ports.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const root = mkdtempSync('/dev/shm/brixlet-bench-kv-test-');
let kv: KvService;

beforeAll(async () => {
  const { config } = loadConfig({ env: {}, flags: { 'kv.dir': join(root, 'slabs'), 'kv.socket': join(root, 'kv.sock'), 'kv.capacity': '16MiB' } });
  kv = await startKvService(kvOptionsFromConfig(config.kv), { log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await kv?.close();
  rmSync(root, { recursive: true, force: true });
});

interface Sample {
  backend: string;
  op: string;
  size?: number;
  batch?: number;
  blocks?: number;
  gbps?: number;
  p50_us: number;
  p99_us: number;
  failed?: number;
}

function engine(argv: string[]): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['bench/kv/engine_bench.py', ...argv], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out.trim().split('\n').map((l) => JSON.parse(l) as Sample)) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

const tiny = ['--size', String(256 * 1024), '--batch', '4', '--bytes', String(4 << 20), '--runs', '2', '--warmup', '1'];

describe('bench/kv/engine_bench.py', () => {
  it('puts and gets through the shard: one sample per counted run and op, nothing failed', async () => {
    const s = await engine(['--backend', 'shm', '--socket', kv.socketPath, ...tiny]);
    expect(s.map((x) => x.op)).toEqual(['put', 'get', 'put', 'get']);
    for (const x of s) {
      expect(x).toMatchObject({ backend: 'shm', size: 256 * 1024, batch: 4, blocks: 16, failed: 0 });
      expect(x.gbps).toBeGreaterThan(0);
      expect(x.p99_us).toBeGreaterThanOrEqual(x.p50_us);
    }
    expect(kv.summary().leases).toEqual({ read: 0, write: 0 });
  });

  it('measures the memcpy ceiling and control round trips', async () => {
    const m = await engine(['--backend', 'memcpy', ...tiny]);
    expect(m.map((x) => `${x.backend} ${x.op}`)).toEqual(['memcpy put', 'memcpy get', 'memcpy put', 'memcpy get']);
    const r = await engine(['--backend', 'rtt-shm', '--socket', kv.socketPath, '--calls', '200', '--runs', '1', '--warmup', '0']);
    expect(r.map((x) => x.op)).toEqual(['rtt-ping', 'rtt-exists']);
    expect(r[0]?.p50_us).toBeGreaterThan(0);
  });
});

describe('bench/kv/local-peers', () => {
  it('finds free loopback ports and reports what cannot be installed', async () => {
    const port = await freePort();
    expect(await canBind(port)).toBe(true);
    expect(installMissing({ sh: 'dash' })).toEqual({});
  });

  const peers: [string, () => Promise<Awaited<ReturnType<typeof startRedis>>>][] = [
    ['redis-server', startRedis],
    ['memcached', () => startMemcached(64)],
  ];
  for (const [cmd, start] of peers) {
    it.skipIf(!has(cmd))(`starts ${cmd} on loopback, drives it from the engine, and stops it`, async () => {
      const r = await start();
      if (!r.ok) expect.fail(r.reason);
      const peer: Peer = r.peer;
      try {
        expect(peer.version).toMatch(/^\d+\.\d+/);
        const s = await engine(['--backend', peer.name, '--port', String(peer.port), ...tiny]);
        expect(s.map((x) => [x.backend, x.op, x.blocks, x.failed])).toEqual([
          [peer.name, 'put', 16, 0],
          [peer.name, 'get', 16, 0],
          [peer.name, 'put', 16, 0],
          [peer.name, 'get', 16, 0],
        ]);
      } finally {
        await peer.stop();
      }
      expect(await canBind(peer.port)).toBe(true);
    });
  }
});
