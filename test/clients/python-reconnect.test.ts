// A quiet engine survives the shard's idle timeout: the shard closes its connection (it holds no
// lease), and the Python client reopens it with the same HELLO before its next request.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { kvOptionsFromConfig } from '../../src/kvcache/options.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { repoRoot } from '../helpers/repo.js';

const root = mkdtempSync('/dev/shm/brixlet-pyreconnect-test-');
const registry = new Registry();
let service: KvService;

beforeAll(async () => {
  const { config } = loadConfig({
    env: {},
    flags: {
      'kv.dir': join(root, 'slabs'),
      'kv.socket': join(root, 'kv.sock'),
      'kv.capacity': '16MiB',
      'kv.slabSize': '16MiB',
      // The sweep that closes idle connections runs every lease TTL / 4 (at least 50 ms).
      'kv.leaseTtl': '400ms',
      'kv.idleTimeout': '200ms',
    },
  });
  service = await startKvService(kvOptionsFromConfig(config.kv), { log: pino({ level: 'silent' }), registry });
});

afterAll(async () => {
  await service?.close();
  rmSync(root, { recursive: true, force: true });
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
    const child = spawn('python3', ['-c', SCRIPT, service.socketPath, '1.5'], {
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
