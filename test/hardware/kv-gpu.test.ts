// Opt-in (BRIXLET_TEST_HARDWARE=1, an NVIDIA GPU, python3 with a CUDA build of PyTorch): KV blocks
// copied from GPU memory into shard slots and back through lease views of the mapped slabs
// (bench/kv/gpu_slab.py) arrive intact, and with the slabs page-locked by cudaHostRegister the
// copies run near torch's own pinned-memory speed.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { repoRoot } from '../helpers/repo.js';
import { shardOptions } from '../kvcache/shard-fixture.js';

const MiB = 1024 * 1024;
const enabled = process.env.BRIXLET_TEST_HARDWARE === '1';
const torchCuda = enabled && spawnSync('python3', ['-c', 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)']).status === 0;
const why = !enabled ? ' (SKIPPED: set BRIXLET_TEST_HARDWARE=1 on a GPU machine)' : !torchCuda ? ' (SKIPPED: python3 has no CUDA PyTorch)' : '';

interface SizeResult {
  readonly blockBytes: number;
  readonly slabD2H_GBps: number;
  readonly slabH2D_GBps: number;
  readonly pinnedD2H_GBps: number;
  readonly pinnedH2D_GBps: number;
  readonly bytesIntact: boolean;
}

describe.skipIf(!torchCuda)(`KV slabs <-> GPU${why}`, () => {
  // Slabs on tmpfs as in production (--kv.dir /dev/shm/brixlet): CUDA cannot page-lock a mapping of a
  // file on a disk-backed filesystem.
  // Made in beforeAll: the body of a skipped describe still runs, and would leave an empty directory behind.
  let root = '';
  let service: KvService | undefined;
  beforeAll(() => {
    root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-kv-gpu-'));
  });
  afterAll(async () => {
    await service?.close();
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('moves blocks both ways intact, registered slabs at ≥ 0.7× pinned speed from 1 MiB blocks', async () => {
    const socketPath = join(root, 'kv.sock');
    service = await startKvService(
      shardOptions({ dir: join(root, 'slabs'), socketPath, slabSize: 1024 * MiB, slabCount: 1, pageSize: 4 * MiB, maxEntries: 8192, maxBatch: 1024, maxLeases: 8192, prefault: true }),
      { log: pino({ level: 'silent' }), registry: new Registry() },
    );
    const out = join(root, 'gpu.json');
    // Asynchronously: the shard answers from this process's event loop while Python runs.
    const args = [join(repoRoot, 'bench/kv/gpu_slab.py'), '--socket', socketPath, '--sizes', '1048576,2097152', '--batch', '32', '--reps', '5', '--json', out];
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('python3', args, { timeout: 120_000 }, (err, _stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(out, 'utf8')) as { registered: SizeResult[]; unregistered: SizeResult[] };
    for (const s of [...res.registered, ...res.unregistered]) expect(s.bytesIntact).toBe(true);
    for (const s of res.registered) {
      expect(s.slabD2H_GBps / s.pinnedD2H_GBps).toBeGreaterThanOrEqual(0.7);
      expect(s.slabH2D_GBps / s.pinnedH2D_GBps).toBeGreaterThanOrEqual(0.7);
    }
  });
});
