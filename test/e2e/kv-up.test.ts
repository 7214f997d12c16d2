// The built `brixlet up` hosts the KV shard; the built `brixlet kv` round-trips a block through its
// socket and slab files from another process, and GET /v1/kvcache shows the entry.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BIN, firstLine, run, spawnBrixlet } from './cli-process.js';
import { repoRoot } from '../helpers/repo.js';
import { Op, Status, decodeItemStatuses, decodeLeaseRecords, encodeAlloc, encodeHello, encodeLeaseIds } from '../../src/kvcache/protocol.js';
import { Wire } from '../kvcache/wire.js';

const root = mkdtempSync('/dev/shm/brixlet-e2e-kv-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `brixlet kv …` with bytes on stdin. */
function kvWithStdin(args: string[], input: Buffer, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'kv', ...args], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('brixlet up with the KV shard (built, spawned)', () => {
  it('prints kvSocket, and brixlet kv put/get round-trip a block that /v1/kvcache then counts', async () => {
    const dir = join(root, 'slabs');
    const socket = join(root, 'kv.sock');
    const up = spawnBrixlet(['up', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--json'], {
      BRIXLET_KV_DIR: dir,
      BRIXLET_KV_SOCKET: socket,
      BRIXLET_KV_CAPACITY: '32MiB',
      BRIXLET_KV_SLAB_SIZE: '16MiB',
    });
    try {
      const urls = JSON.parse(await firstLine(up)) as { agent: string; kvSocket: string };
      expect(urls.kvSocket).toBe(socket);
      expect(readdirSync(dir).filter((f) => f.startsWith('slab-'))).toHaveLength(2);

      // put from stdin, the socket found through BRIXLET_KV_SOCKET
      const block = Buffer.alloc(300_000);
      for (let i = 0; i < block.length; i++) block[i] = (i * 7) & 0xff;
      const put = await kvWithStdin(['put', '--text', 'e2e block'], block, { BRIXLET_KV_SOCKET: socket });
      expect([put.code, put.stderr]).toEqual([0, '']);
      expect(put.stdout).toMatch(/^stored [0-9a-f]{32} \(300000 bytes\)\n$/);

      // get into a file, the socket given by --socket
      const out = join(root, 'copy.bin');
      const get = await run(['kv', 'get', '--text', 'e2e block', '--out', out, '--socket', socket]);
      expect([get.code, get.stderr]).toEqual([0, `wrote 300000 bytes to ${out}\n`]);
      expect(Buffer.compare(readFileSync(out), block)).toBe(0);

      // No --agent.api-token-file: the figures, not the namespace names.
      const summary = (await (await fetch(`${urls.agent}/v1/kvcache`)).json()) as { entries: number; redacted: boolean; namespaces: { name: string; entries: number }[] };
      expect(summary.entries).toBe(1);
      expect(summary.redacted).toBe(true);
      expect(summary.namespaces).toEqual([expect.objectContaining({ name: '', entries: 1 })]);
      const metrics = await (await fetch(`${urls.agent}/metrics`)).text();
      expect(metrics).toMatch(/^brixlet_kvcache_\w+/m);

      const stats = await run(['kv', 'stats', '--json', '--socket', socket]);
      expect(JSON.parse(stats.stdout)).toMatchObject({ entries: 1, socket });
    } finally {
      up.child.kill('SIGTERM');
      expect((await up.exited).code).toBe(0);
    }
    // Stopping removes the socket and the slab files (the directory stays).
    expect(existsSync(socket)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(up.stderr).not.toMatch(/"level":(50|60)/);
  });

  it('a second agent on the same KV directory exits 1 with BRX_ERR_KV_IN_USE', async () => {
    const env = { BRIXLET_KV_DIR: join(root, 'shared'), BRIXLET_KV_CAPACITY: '16MiB', BRIXLET_KV_SLAB_SIZE: '16MiB', BRIXLET_LOG_LEVEL: 'silent' };
    const first = spawnBrixlet(['agent', '--agent.port', '0', '--json'], { ...env, BRIXLET_KV_SOCKET: join(root, 'a.sock') });
    try {
      await firstLine(first);
      const second = await run(['agent', '--agent.port', '0', '--json'], { ...env, BRIXLET_KV_SOCKET: join(root, 'b.sock') });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`${join(root, 'shared')} is used by another brixlet agent (pid ${first.child.pid}) [BRX_ERR_KV_IN_USE]`);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });

  it('an agent whose --kv.socket names a regular file exits 1 with BRX_ERR_KV_UNSAFE_PATH and leaves the file', async () => {
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const env = { BRIXLET_KV_DIR: join(root, 'unsafe'), BRIXLET_KV_SOCKET: victim, BRIXLET_KV_CAPACITY: '16MiB', BRIXLET_KV_SLAB_SIZE: '16MiB', BRIXLET_LOG_LEVEL: 'silent' };
    const agent = await run(['agent', '--agent.port', '0', '--json'], env);
    expect(agent.code).toBe(1);
    expect(agent.stderr).toContain(`refusing to use ${victim} for the KV cache shard: it is a regular file, not a socket`);
    expect(agent.stderr).toContain('[BRX_ERR_KV_UNSAFE_PATH]');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });
});

describe('brixlet up shutdown order (built, spawned)', () => {
  it('SIGTERM drains the gateway first, then the KV socket: a write in progress is sealed, new work gets SHUTTING_DOWN', async () => {
    const socket = join(root, 'drain.sock');
    const up = spawnBrixlet(
      ['up', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--json', '--engines', '1', '--engine-gpus', 'a10'],
      { BRIXLET_KV_DIR: join(root, 'drain-slabs'), BRIXLET_KV_SOCKET: socket, BRIXLET_KV_CAPACITY: '16MiB', BRIXLET_KV_SLAB_SIZE: '16MiB', BRIXLET_SHUTDOWN_TIMEOUT: '60s' },
    );
    const wires: Wire[] = [];
    const hello = async (): Promise<Wire> => {
      const w = await Wire.open(socket);
      wires.push(w);
      return w;
    };
    const helloStatus = async (w: Wire): Promise<number> => (await w.call(Op.HELLO, encodeHello({ namespace: 'e2e/drain', layout: '', blockSize: 1 << 20 }))).header.status;
    try {
      const urls = JSON.parse(await firstLine(up)) as { gateway: string };
      // An engine mid-write: it holds a write lease when SIGTERM comes.
      const writer = await hello();
      expect(await helloStatus(writer)).toBe(0);
      const lease = decodeLeaseRecords((await writer.call(Op.ALLOC, encodeAlloc(Buffer.alloc(16, 7), [4096]))).body)[0];
      expect(lease?.status).toBe(0);
      // A request streaming through the gateway (an A10 mock engine: ~28 ms a token) keeps the gateway draining.
      const res = await fetch(`${urls.gateway}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-llama-3-8b', stream: true, max_tokens: 120, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      up.child.kill('SIGTERM');
      // While the gateway drains, the KV socket still takes new work.
      await new Promise((r) => setTimeout(r, 200));
      expect(await helloStatus(await hello())).toBe(0);
      let streamed = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) streamed += Buffer.from(r.value).toString();
      expect(streamed).toContain('data: [DONE]');
      // Then the socket drains: new work is refused, the write in progress is still sealed.
      await vi.waitFor(async () => expect(await helloStatus(await hello())).toBe(Status.SHUTTING_DOWN), { timeout: 20_000, interval: 50 });
      const sealed = decodeItemStatuses((await writer.call(Op.SEAL, encodeLeaseIds([lease?.leaseId ?? 0]))).body);
      expect([...sealed]).toEqual([0]);
      expect((await up.exited).code).toBe(0);
    } finally {
      for (const w of wires) w.close();
      up.child.kill('SIGKILL');
      await up.exited;
    }
    expect(existsSync(socket)).toBe(false);
  });
});

describe('brixlet up with the Python engine client (built, spawned)', () => {
  it('round-trips a block from one Python process to another; an agent restart wipes the shard', async () => {
    const dir = join(root, 'py-slabs');
    const socket = join(root, 'py.sock');
    const env = { BRIXLET_KV_DIR: dir, BRIXLET_KV_SOCKET: socket, BRIXLET_KV_CAPACITY: '32MiB', BRIXLET_KV_SLAB_SIZE: '16MiB' };
    const python = (code: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn('python3', ['-c', code, socket], { env: { PATH: process.env.PATH ?? '', PYTHONPATH: join(repoRoot, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' } });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (out += d.toString()));
        p.on('exit', (c) => resolve({ code: c, out }));
      });
    const PUT = `import sys
from brixlet_kv import KvClient, chain_keys
keys = chain_keys([b'system prompt', b'turn 1'])
with KvClient(sys.argv[1], 'py/e2e', 1 << 20) as kv:
    print(kv.put(keys, [bytes(range(256)) * 4096, b'second block' * 1000]))`;
    const GET = `import sys
from brixlet_kv import KvClient, chain_keys
keys = chain_keys([b'system prompt', b'turn 1', b'turn 2'])
with KvClient(sys.argv[1], 'py/e2e', 1 << 20) as kv:
    blocks = kv.get(keys)
    first = blocks[0] == bytes(range(256)) * 4096 if blocks else False
    second = blocks[1] == b'second block' * 1000 if len(blocks) > 1 else None
    print(len(blocks), first, second)`;
    let left: string[] = [];
    for (const round of [1, 2]) {
      const up = spawnBrixlet(['up', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--json'], env);
      try {
        await firstLine(up);
        if (round === 1) expect(await python(PUT)).toEqual({ code: 0, out: '[0, 0]\n' });
        // Round 1: the blocks are there for another process. Round 2 (after a crash and restart): wiped.
        if (round === 2) expect(readdirSync(dir).filter((f) => left.includes(f))).toEqual([]);
        expect(await python(GET)).toEqual({ code: 0, out: round === 1 ? '2 True True\n' : '0 False None\n' });
      } finally {
        // Round 1 ends in a crash: the slab files, the lock file and the socket stay behind.
        up.child.kill(round === 1 ? 'SIGKILL' : 'SIGTERM');
        expect((await up.exited).code).toBe(round === 1 ? null : 0);
      }
      if (round === 1) {
        left = readdirSync(dir).filter((f) => f.startsWith('slab-'));
        expect(left).toHaveLength(2);
        expect(existsSync(socket)).toBe(true);
      }
    }
    // The restarted agent removed the crashed one's files and made its own (another generation).
    expect(readdirSync(dir).filter((f) => left.includes(f))).toEqual([]);
  });
});
