// Opt-in (BRIXLET_TEST_HARDWARE=1, an NVIDIA GPU, python3 with a CUDA build of PyTorch): the vLLM
// connector (clients/python/brixlet_kv/vllm) moves paged KV tensors on the GPU into a live shard and
// back through its own code path, driven in vLLM's step order by clients/python/tests_vllm/gpu_scenario.py:
// engine A saves, engine B loads, bytes compared on the GPU, NHD and HND. The script also times the
// connector's save and load steps next to torch copying the same bytes, in the same pieces (one per
// layer per block), between the GPU and pinned host memory. test/clients/python-vllm.test.ts runs the
// same script on the CPU in the normal suite. The 0.3 floor is not yet calibrated on a GPU (the steps include
// the shard round trips; the reference does not): it catches copies that lost page-locking, not small losses.
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

interface LayoutResult {
  readonly loaded_blocks: number[];
  readonly bytes_intact: boolean;
  readonly load_failed_blocks: number;
  readonly save_GBps: number;
  readonly load_GBps: number;
  readonly save_vs_torch_pieces: number;
  readonly load_vs_torch_pieces: number;
}

describe.skipIf(!torchCuda)(`vLLM connector: paged KV on the GPU <-> shard${why}`, () => {
  // Slabs on tmpfs as in production (--kv.dir /dev/shm/brixlet), so the connector can page-lock them.
  let root = '';
  let service: KvService | undefined;
  beforeAll(() => {
    root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-vllm-gpu-'));
  });
  afterAll(async () => {
    await service?.close();
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('engine B loads what engine A saved, intact in NHD and HND, the save and load steps at ≥ 0.3× torch pinned copies of the same pieces', { timeout: 300_000 }, async () => {
    const socketPath = join(root, 'kv.sock');
    // 32 blocks × 32 layers × 64 KiB (8 KV heads × 128, 16 tokens, fp16, K and V) = 64 MiB a round; 2 MiB blocks.
    service = await startKvService(
      shardOptions({ dir: join(root, 'slabs'), socketPath, slabSize: 1024 * MiB, slabCount: 1, pageSize: 4 * MiB, maxEntries: 8192, maxBatch: 1024, maxLeases: 8192, prefault: true }),
      { log: pino({ level: 'silent' }), registry: new Registry() },
    );
    const out = join(root, 'vllm-gpu.json');
    const args = [join(repoRoot, 'clients/python/tests_vllm/gpu_scenario.py'), '--socket', socketPath, '--device', 'cuda', '--blocks', '32', '--layers', '32', '--reps', '5', '--json', out];
    // Asynchronously: the shard answers from this process's event loop while Python runs.
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('python3', args, { timeout: 240_000 }, (err, _stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    console.log(text); // the figures, for the record
    const res = JSON.parse(text) as { torch: { intact: boolean }; layouts: Record<string, LayoutResult> };
    expect(res.torch.intact).toBe(true);
    expect(Object.keys(res.layouts)).toEqual(['NHD', 'HND']);
    for (const l of Object.values(res.layouts)) {
      expect(l.bytes_intact).toBe(true);
      expect(l.load_failed_blocks).toBe(0);
      expect(l.save_vs_torch_pieces).toBeGreaterThanOrEqual(0.3);
      expect(l.load_vs_torch_pieces).toBeGreaterThanOrEqual(0.3);
    }
    expect(service.summary().leases).toEqual({ read: 0, write: 0 });
  });
});
