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

// The refusal frame arrives and the shard closes before the client's HELLO goes out: the send hits a
// broken pipe, and the client still names the status the frame carries (the race made deterministic
// by holding the HELLO until the fake shard has closed).
const LATE_SCRIPT = `import os, socket, tempfile, threading
from brixlet_kv import KvClient, KvError, protocol as p
path = os.path.join(tempfile.mkdtemp(), 'kv.sock')
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
closed = threading.Event()
def refuse():
    c, _ = srv.accept()
    msg = b'uid 0 holds 1 connection'
    c.sendall(p.frame(0x80, 0, p.U16.pack(len(msg)) + msg, p.TOO_MANY_CONNECTIONS))
    c.close()
    closed.set()
threading.Thread(target=refuse, daemon=True).start()
class Late(KvClient):
    def _connect(self):
        super()._connect()
        closed.wait(10)
try:
    with Late(path, 'py/late', 1 << 16) as kv:
        pass
    print('connected')
except KvError as e:
    print(type(e).__name__, e)`;

it('names the refusal when the shard closed before HELLO was sent (broken pipe)', { timeout: 30_000 }, async () => {
  const text = await new Promise<string>((resolve) => {
    const child = spawn('python3', ['-c', LATE_SCRIPT], { env: { PATH: process.env.PATH ?? '', PYTHONPATH: join(repoRoot, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => resolve(out));
  });
  expect(text).toContain('TOO_MANY_CONNECTIONS');
  expect(text).toContain('uid 0 holds 1 connection');
  expect(text).not.toContain('connected');
});
