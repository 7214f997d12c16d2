// Four engine processes × 10,000 mixed operations on shared chains, in a shard small enough that
// eviction and slot reuse run all the time: no engine ever reads a byte that is not the block's
// content (each block's bytes are a pure function of its key), and nothing leaks afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { repoRoot } from '../helpers/repo.js';
import { MiB, shardOptions } from './shard-fixture.js';

const WORKERS = 4;
const OPS = 10_000;
const BLOCK = 16 * 1024;
let root: string;
let service: KvService;

beforeAll(async () => {
  root = mkdtempSync('/dev/shm/brixlet-conc-');
  // 4 MiB = 256 blocks of 16 KiB against 64 chains × 24 blocks: constant eviction.
  service = await startKvService(shardOptions({ dir: join(root, 'slabs'), socketPath: join(root, 'kv.sock'), slabSize: 4 * MiB, pageSize: MiB, policy: 's3fifo', maxEntries: 4096 }), {
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await service.close();
  rmSync(root, { recursive: true, force: true });
});

function worker(i: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn('python3', [join(repoRoot, 'test/kvcache/fixtures/engine_worker.py'), service.socketPath, String(i), String(OPS), String(BLOCK)], {
      env: { ...process.env, PYTHONPATH: join(repoRoot, 'clients/python') },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('KV shard under concurrent engines', () => {
  it(`${WORKERS} processes × ${OPS} ops read only bytes that were written for the key`, { timeout: 120_000 }, async () => {
    const results = await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i)));
    let blocksRead = 0;
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code, r.out).toBe(0);
      const counts = JSON.parse(r.out) as { put: number; get: number; blocks_read: number };
      expect(counts.put).toBeGreaterThan(OPS / 5);
      blocksRead += counts.blocks_read;
    }
    expect(blocksRead).toBeGreaterThan(1000);
    const s = service.summary();
    expect(Object.values(s.evictions).reduce((a, b) => a + (b ?? 0), 0)).toBeGreaterThan(100);
    expect(s.leases).toEqual({ read: 0, write: 0 });
    expect(s.bytesByState.writing).toBe(0);
    expect(s.usedBytes).toBeLessThanOrEqual(s.capacityBytes);
  });
});
