// Runs the Python client's unittest suite (clients/python/tests) against a real shard started in-process.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvService } from '../../src/kvcache/types.js';
import { startTestShard, type TestShard } from '../helpers/test-shard.js';

let shard: TestShard | undefined;
let service: KvService;

beforeAll(async () => {
  // Short lease TTL: the suite watches a stalled partial frame being cut off.
  shard = await startTestShard({ 'kv.capacity': '64MiB', 'kv.slabSize': '16MiB', 'kv.leaseTtl': '3s' });
  service = shard.service;
});

afterAll(async () => {
  await shard?.stop();
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
