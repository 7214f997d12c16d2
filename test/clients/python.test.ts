// Runs the Python client's unittest suite (clients/python/tests) against a real shard started in-process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { kvOptionsFromConfig } from '../../src/kvcache/options.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';

const root = mkdtempSync('/dev/shm/brixlet-pyclient-test-');
let service: KvService;

beforeAll(async () => {
  const { config } = loadConfig({
    env: {},
    flags: {
      'kv.dir': join(root, 'slabs'),
      'kv.socket': join(root, 'kv.sock'),
      'kv.capacity': '64MiB',
      'kv.slabSize': '16MiB',
      // Short enough that the suite can watch a stalled partial frame being cut off.
      'kv.leaseTtl': '3s',
    },
  });
  service = await startKvService(kvOptionsFromConfig(config.kv), { log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await service?.close();
  rmSync(root, { recursive: true, force: true });
});

function runPython(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('clients/python against a live shard', () => {
  it('passes the unittest suite (protocol, client, crash)', { timeout: 60_000 }, async () => {
    const { code, output } = await runPython(['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], { BRIXLET_KV_SOCKET: service.socketPath });
    if (code !== 0) expect.fail(`python3 -m unittest exited ${code}:\n${output}`);
    // The live tests ran rather than skipped.
    expect(output).toMatch(/test_engine_killed_mid_alloc .* ok/);
    expect(output).not.toMatch(/skipped/);
    // Every connection the suite opened is gone and no lease outlived it.
    const s = service.summary();
    expect(s.leases).toEqual({ read: 0, write: 0 });
    expect(s.bytesByState.writing).toBe(0);
  });
});
