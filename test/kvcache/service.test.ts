import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_KV_SOCKET, prepareSocketPath, startKvService } from '../../src/kvcache/service.js';
import { shardOptions } from './shard-fixture.js';

const log = pino({ level: 'silent' });
const root = mkdtempSync('/dev/shm/brixlet-svc-test-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('startKvService', () => {
  it('replaces a stale socket file and removes everything on close', async () => {
    const sock = join(root, 'a.sock');
    // A socket whose process is gone (Python leaves the file behind; a regular file is refused).
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', sock]);
    expect(lstatSync(sock).isSocket()).toBe(true);
    const s = await startKvService(shardOptions({ dir: join(root, 'a'), socketPath: sock }), { log });
    expect(s.summary().slabs.files.every((f) => existsSync(f))).toBe(true);
    const files = s.summary().slabs.files;
    await s.close();
    await s.close();
    expect(existsSync(sock)).toBe(false);
    expect(files.some((f) => existsSync(f))).toBe(false);
  });

  it('refuses a socket another process answers on', async () => {
    const sock = join(root, 'b.sock');
    const other = createServer();
    await new Promise<void>((r) => other.listen(sock, r));
    await expect(startKvService(shardOptions({ dir: join(root, 'b'), socketPath: sock }), { log })).rejects.toMatchObject({ code: 'BRX_ERR_KV_IN_USE' });
    await new Promise((r) => other.close(r));
  });

  it('names the path when the socket directory cannot be made', () => {
    const file = join(root, 'plain-file');
    writeFileSync(file, '');
    expect(() => prepareSocketPath(join(file, 'kv.sock'), log)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_INIT' }));
    expect(DEFAULT_KV_SOCKET).toBe('/run/brixlet/kv.sock');
  });
});
