// A connection the shard refuses at accept (here: the uid already holds --kv.max-connections-per-uid)
// gets one unsolicited frame; the Python client reports that status by name and does not retry.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KvClient } from '../../src/kvcache/client/index.js';
import { repoRoot } from '../helpers/repo.js';
import { startTestShard, type TestShard } from '../helpers/test-shard.js';

let shard: TestShard | undefined;
let holder: KvClient | undefined;

beforeAll(async () => {
  shard = await startTestShard({ 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB', 'kv.maxConnectionsPerUid': '1' }, new Registry());
  holder = await KvClient.connect({ socketPath: shard.service.socketPath, namespace: 'ts/holder', blockSize: 1 << 16 });
});

afterAll(async () => {
  await holder?.close();
  await shard?.stop();
});

const SCRIPT = `import sys
from brixlet_kv import KvClient, KvError
try:
    with KvClient(sys.argv[1], 'py/refused', 1 << 16) as kv:
        kv.ping()
    print('connected')
except KvError as e:
    print(type(e).__name__, e)`;

it('names TOO_MANY_CONNECTIONS when the uid is at its connection cap', { timeout: 30_000 }, async () => {
  const text = await new Promise<string>((resolve) => {
    const child = spawn('python3', ['-c', SCRIPT, (shard as TestShard).service.socketPath], {
      env: { PATH: process.env.PATH ?? '', PYTHONPATH: join(repoRoot, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => resolve(out));
  });
  expect(text).toContain('TOO_MANY_CONNECTIONS');
  expect(text).not.toContain('connected');
});
