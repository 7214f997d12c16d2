// A quiet engine survives the shard's idle timeout: the shard closes its connection (it holds no
// lease), and the Python client reopens it with the same HELLO before its next request.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.js';
import { startTestShard, type TestShard } from '../helpers/test-shard.js';

const registry = new Registry();
let shard: TestShard | undefined;

beforeAll(async () => {
  // The sweep that closes idle connections runs every lease TTL / 4 (at least 50 ms).
  shard = await startTestShard({ 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB', 'kv.leaseTtl': '400ms', 'kv.idleTimeout': '200ms' }, registry);
});

afterAll(async () => {
  await shard?.stop();
});

const SCRIPT = `import sys, time
from brixlet_kv import KvClient, chain_keys
keys = chain_keys([b'system prompt'])
with KvClient(sys.argv[1], 'py/idle', 1 << 16) as kv:
    kv.put(keys, [b'x' * 1000])
    first = kv.session.session_id
    # Quiet for well past the idle timeout: the shard closes the connection meanwhile.
    time.sleep(float(sys.argv[2]))
    blocks = kv.get(keys)
    print(len(blocks), blocks[0] == b'x' * 1000 if blocks else None, kv.session.session_id != first)`;

it('reopens a connection the shard closed for idleness, and the next get finds the block', { timeout: 30_000 }, async () => {
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn('python3', ['-c', SCRIPT, (shard as TestShard).service.socketPath, '1.5'], {
      env: { PATH: process.env.PATH ?? '', PYTHONPATH: join(repoRoot, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' },
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', (code) => resolve({ code, text }));
  });
  expect(out).toEqual({ code: 0, text: '1 True True\n' });
  expect(await registry.getSingleMetricAsString('brixlet_kvcache_connections_closed_total')).toMatch(/reason="idle"} [1-9]/);
});
