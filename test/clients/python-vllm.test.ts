// Runs the vLLM connector's harness (clients/python/tests_vllm) against a real shard started in-process.
// The harness needs torch (CPU is enough): BRIXLET_TORCH_PYTHON names the interpreter, else the first of
// python3 and /usr/bin/python3 that imports torch; without one the suite reports its tests skipped.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvService } from '../../src/kvcache/types.js';
import { startTestShard, type TestShard } from '../helpers/test-shard.js';
import { PeerClient } from '../../src/kvcache/peer/peer-client.js';
import { startKvService } from '../../src/kvcache/service.js';
import { type PeerRig, silent, startPeerRig } from '../kvcache/peer/peer-fixture.js';
import { MiB, shardOptions } from '../kvcache/shard-fixture.js';

let shard: TestShard | undefined;
let service: KvService;
// A shard whose pages (largest blocks, 64 KiB at the least) are smaller than the harness's 17-layer blocks: they are split.
let smallPages: TestShard | undefined;

beforeAll(async () => {
  shard = await startTestShard({ 'kv.capacity': '64MiB', 'kv.slabSize': '16MiB' });
  service = shard.service;
  smallPages = await startTestShard({ 'kv.capacity': '16MiB', 'kv.slabSize': '4MiB', 'kv.pageSize': '64KiB' });
});

afterAll(async () => {
  await shard?.stop();
  await smallPages?.stop();
});

function torchPython(): string | undefined {
  const wanted = process.env.BRIXLET_TORCH_PYTHON;
  for (const py of wanted ? [wanted] : ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

function runPython(py: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(py, args, { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('clients/python BrixletConnector (vLLM KV connector) against a live shard', () => {
  it('passes the connector harness (two engines, layouts, TP and PP ranks, blocks split across pages, async-scheduled saves, preemption, failed loads, shard down)', { timeout: 180_000 }, async () => {
    const py = torchPython() ?? 'python3';
    const { code, output } = await runPython(py, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests_vllm', '-v'], {
      BRIXLET_KV_SOCKET: service.socketPath,
      BRIXLET_KV_SMALL_PAGE_SOCKET: smallPages?.service.socketPath ?? '',
    });
    if (code !== 0) expect.fail(`${py} -m unittest exited ${code}:\n${output}`);
    if (/skipped 'torch is not importable/.test(output)) {
      console.warn(`connector harness skipped: no Python with torch (set BRIXLET_TORCH_PYTHON)\n${output}`);
      return;
    }
    expect(output).toMatch(/test_what_one_engine_saves_the_other_loads_nhd .* ok/);
    expect(output).toMatch(/test_blocks_larger_than_a_page_are_split_by_layers .* ok/);
    expect(output).not.toMatch(/skipped/);
    // Every connection the harness opened is gone and no lease outlived it.
    for (const svc of [service, smallPages?.service]) {
      const s = svc?.summary();
      expect(s?.leases).toEqual({ read: 0, write: 0 });
      expect(s?.bytesByState.writing).toBe(0);
    }
  });
});

describe('clients/python BrixletConnector hardware scenario, on the CPU', () => {
  // The script test/hardware/vllm-connector-gpu.test.ts runs with --device cuda: here with small shapes,
  // so that it keeps working where no GPU is lent.
  const py = torchPython();
  it.skipIf(py === undefined)('engine B loads what engine A saved, byte for byte, in both layouts, and the script reports timings', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-vllm-gpu-scenario-'));
    try {
      const out = join(dir, 'out.json');
      const args = ['clients/python/tests_vllm/gpu_scenario.py', '--socket', service.socketPath, '--device', 'cpu', '--blocks', '4', '--layers', '3', '--heads', '2', '--head-size', '32', '--tp', '2', '--reps', '1', '--json', out];
      const { code, output } = await runPython(py ?? 'python3', args, {});
      if (code !== 0) expect.fail(`gpu scenario exited ${code}:\n${output}`);
      const r = JSON.parse(readFileSync(out, 'utf8')) as { device: string; torch: { intact: boolean }; layouts: Record<string, { loaded_blocks: number[]; bytes_intact: boolean; load_failed_blocks: number; save_GBps: number; load_vs_torch_pieces: number }> };
      expect(r.device).toBe('cpu');
      expect(r.torch.intact).toBe(true);
      expect(Object.keys(r.layouts)).toEqual(['NHD', 'HND']);
      for (const l of Object.values(r.layouts)) {
        expect(l).toMatchObject({ loaded_blocks: [4, 4], bytes_intact: true, load_failed_blocks: 0 });
        expect(l.save_GBps).toBeGreaterThan(0);
        expect(l.load_vs_torch_pieces).toBeGreaterThan(0);
      }
      expect(service.summary().leases).toEqual({ read: 0, write: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('clients/python BrixletConnector across an agent restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-vllm-restart-'));
  const socketPath = join(dir, 'kv.sock');
  const flags = { 'kv.capacity': '64MiB', 'kv.slabSize': '16MiB', 'kv.socket': socketPath };
  let restartShard: TestShard | undefined;
  afterAll(async () => {
    await restartShard?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const py = torchPython();
  it.skipIf(py === undefined)('recovers on its own: the engines reconnect, recompute, save, and load again', { timeout: 180_000 }, async () => {
    restartShard = await startTestShard(flags);
    const child = spawn(py ?? 'python3', ['clients/python/tests_vllm/restart_scenario.py'], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', BRIXLET_KV_SOCKET: socketPath },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let restarted = false;
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!restarted && output.includes('RESTART\n')) {
        restarted = true;
        void (async () => {
          await restartShard?.stop();
          restartShard = await startTestShard(flags);
          child.stdin.write('restarted\n');
        })();
      }
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) expect.fail(`restart scenario exited ${code}:\n${output}`);
    expect(restarted).toBe(true);
    expect(output).toContain('COUNTERS');
  });
});

describe('clients/python BrixletConnector with remote_budget_ms', () => {
  let rig: PeerRig | undefined;
  let b: KvService | undefined;
  let transport: PeerClient | undefined;
  let root = '';
  afterAll(async () => {
    await transport?.close();
    await b?.close();
    await rig?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const py = torchPython();
  it.skipIf(py === undefined)('an engine on node b loads what an engine on node a saved, on every TP rank', { timeout: 180_000 }, async () => {
    rig = await startPeerRig();
    root = mkdtempSync('/dev/shm/brixlet-vllm-remote-');
    b = await startKvService(shardOptions({ dir: join(root, 'b'), socketPath: join(root, 'b.sock'), slabSize: 16 * MiB }), { log: silent });
    transport = new PeerClient({ self: 'b', pool: 'default', membership: rig.bMembership });
    // Every block is said to be held by node a (the directory is not under test here).
    const directory = { lookup: async (_ns: string, k: Buffer) => ({ holders: ['a'], holderOf: new Uint16Array(k.length / 16) }) };
    b.enableRemoteRead?.({ transport, directory, self: 'b', options: { maxBudgetMs: 60_000 } });
    const a = rig.services.get('default') as KvService;
    const { code, output } = await runPython(py ?? 'python3', ['clients/python/tests_vllm/remote_scenario.py', a.socketPath, b.socketPath], {});
    if (code !== 0) expect.fail(`remote scenario exited ${code}:\n${output}`);
    const r = JSON.parse(output.trim().split('\n').pop() as string) as { loaded: number; same: boolean[]; failed: number };
    expect(r).toEqual({ loaded: 64, same: Array<boolean>(8).fill(true), failed: 0 });
    expect(b.summary().leases).toEqual({ read: 0, write: 0 });
  });
});
