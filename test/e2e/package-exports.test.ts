// The package as a dependency sees it: `brixlet/kv-client` resolves to the built client (with its
// types), works against a real shard, and deep imports stay private.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { kvOptionsFromConfig } from '../../src/kvcache/options.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { repoRoot } from '../helpers/repo.js';

const app = mkdtempSync(join(tmpdir(), 'brixlet-consumer-'));
const shard = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-exports-kv-'));
const socket = join(shard, 'kv.sock');
let service: KvService;

beforeAll(async () => {
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(repoRoot, join(app, 'node_modules', 'brixlet'), 'dir');
  const { config } = loadConfig({ env: {}, flags: { 'kv.dir': join(shard, 'slabs'), 'kv.socket': socket, 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB' } });
  service = await startKvService(kvOptionsFromConfig(config.kv), { log: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await service?.close();
  rmSync(app, { recursive: true, force: true });
  rmSync(shard, { recursive: true, force: true });
});

// Asynchronous: the shard runs in this process and must keep serving while the child talks to it.
const node = (file: string, source: string) =>
  new Promise<{ stdout: string; stderr: string }>((resolve) => {
    writeFileSync(join(app, file), source);
    execFile(process.execPath, [file], { cwd: app, env: { PATH: process.env.PATH ?? '', KV_SOCKET: socket } }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
  });

describe("import 'brixlet/kv-client'", () => {
  it('puts and gets blocks through a real shard', async () => {
    const r = await node(
      'use-client.mjs',
      `import { KvClient, chainKeys, ItemStatus } from 'brixlet/kv-client';
const blocks = [Buffer.alloc(4096, 1), Buffer.alloc(4096, 2)];
const keys = chainKeys(blocks);
const kv = await KvClient.connect({ socketPath: process.env.KV_SOCKET, namespace: 'consumer/test', blockSize: 4096 });
const statuses = await kv.put(keys, blocks);
const back = await kv.get(keys);
await kv.close();
console.log(JSON.stringify({ statuses: [...statuses].every((s) => s === ItemStatus.OK), same: back.length === 2 && back.every((b, i) => b.equals(blocks[i])) }));
`,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ statuses: true, same: true });
  });

  it('resolves to the built client with declarations; internals are not importable', async () => {
    const r = await node(
      'resolve.mjs',
      `console.log(import.meta.resolve('brixlet/kv-client'));
try { await import('brixlet/dist/cli/run-cli.js'); console.log('deep import allowed'); } catch (e) { console.log(e.code); }
`,
    );
    const [resolved, deep] = r.stdout.trim().split('\n');
    expect(resolved).toMatch(/\/dist\/kvcache\/client\/index\.js$/);
    expect(existsSync(join(repoRoot, 'dist/kvcache/client/index.d.ts'))).toBe(true);
    expect(deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
