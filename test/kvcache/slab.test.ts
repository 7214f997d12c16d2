import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, MAX_SLAB_BYTES, errnoName, mapSlabFile, openSlabSet, slabPath } from '../../src/kvcache/slab.js';

const log = pino({ level: 'silent' });
const root = mkdtempSync('/dev/shm/brixlet-slab-test-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const KiB = 1024;
const SIZE = 256 * KiB;

function open(dir: string, count = 2, prefault = true) {
  return openSlabSet({ dir, slabSize: SIZE, count, prefault, log });
}

/** A node process that holds `dir`'s lock the way an agent does (flock + pid) until killed. */
async function lockHolder(dir: string): Promise<ChildProcess> {
  const script = `
    const koffi = require(${JSON.stringify(createRequire(import.meta.url).resolve('koffi'))});
    const fs = require('node:fs');
    const flock = koffi.load('libc.so.6').func('int flock(int, int)');
    const fd = fs.openSync(${JSON.stringify(join(dir, LOCK_FILE))}, 'a+');
    if (flock(fd, 6) !== 0) process.exit(3);
    fs.ftruncateSync(fd, 0); fs.writeSync(fd, process.pid + '\\n');
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return child;
}

describe('openSlabSet', () => {
  it('creates count files of slabSize bytes named slab-<gen>-<index>, mode 0660 in a 0750 directory with the pool group, and a pid lock', () => {
    const dir = join(root, 'create', 'nested');
    const set = open(dir, 3);
    expect(set.generation).toMatch(/^[0-9a-f]{8}$/);
    expect(set.paths).toEqual([0, 1, 2].map((i) => join(dir, `slab-${set.generation}-000${i}`)));
    expect(set.paths[1]).toBe(slabPath(dir, set.generation, 1));
    for (const p of set.paths) {
      const st = statSync(p);
      expect(st.size).toBe(SIZE);
      expect(st.mode & 0o777).toBe(0o660);
      // fallocate allocated every page (blocks are 512-byte units).
      expect(st.blocks * 512).toBeGreaterThanOrEqual(SIZE);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o750);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    set.close();
  });

  it('leaves pages unallocated without prefault', () => {
    const set = open(join(root, 'sparse'), 1, false);
    expect(statSync(set.paths[0] as string).blocks).toBe(0);
    set.close();
  });

  it('shares bytes both ways between view(i) and the file', () => {
    const set = open(join(root, 'share'));
    const v = set.view(1);
    expect(v.byteLength).toBe(SIZE);
    expect(set.view(1)).toBe(v); // cached
    v.set([1, 2, 3, 4], SIZE - 4);
    const fd = openSync(set.paths[1] as string, 'r+');
    const buf = Buffer.alloc(4);
    readSync(fd, buf, 0, 4, SIZE - 4);
    expect([...buf]).toEqual([1, 2, 3, 4]);
    writeSync(fd, Buffer.from('brixlet'), 0, 7, 1000);
    closeSync(fd);
    expect(Buffer.from(v.subarray(1000, 1007)).toString()).toBe('brixlet');
    expect(set.view(0)[SIZE - 1]).toBe(0); // slabs are distinct
    expect(() => set.view(2)).toThrow(RangeError);
    set.close();
    expect(() => set.view(1)).toThrow(RangeError);
  });

  it('lets Python mmap the same file and see and write bytes', () => {
    const set = open(join(root, 'python'), 1);
    const v = set.view(0);
    v.set(Buffer.from('from-node'), 4096);
    const py = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, ${SIZE})
os.close(fd)
sys.stdout.write(m[4096:4105].decode())
m[8192:8201] = b"from-pyth"
m.close()`;
    expect(execFileSync('python3', ['-c', py, set.paths[0] as string], { encoding: 'utf8' })).toBe('from-node');
    expect(Buffer.from(v.subarray(8192, 8201)).toString()).toBe('from-pyth');
    set.close();
  });

  it('refuses a directory another live agent process holds, and takes it over once that process is gone', async () => {
    const dir = join(root, 'locked');
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const holder = await lockHolder(dir);
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_IN_USE', params: { path: dir, pid: holder.pid } }));
    // Nothing of ours was left behind.
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const set = open(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    set.close();
  });

  it('takes over a stale lock file naming a dead pid', () => {
    const dir = join(root, 'stale');
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    writeFileSync(join(dir, LOCK_FILE), `${dead}\n`);
    const set = open(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    set.close();
  });

  it('refuses a second open of a directory this process already holds', () => {
    const dir = join(root, 'twice');
    const set = open(dir);
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_IN_USE' }));
    expect(set.paths.every((p) => existsSync(p))).toBe(true);
    set.close();
  });

  it('wipes slab files of an earlier agent but keeps other files', () => {
    const dir = join(root, 'wipe');
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    writeFileSync(join(dir, 'slab-0badc0de-0000'), 'old');
    writeFileSync(join(dir, 'slab-junk'), 'old');
    writeFileSync(join(dir, 'notes.txt'), 'keep');
    const set = open(dir, 1);
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE, 'notes.txt', `slab-${set.generation}-0000`].sort());
    set.close();
  });

  it('close unmaps and unlinks the slabs and the lock, and is idempotent', () => {
    const dir = join(root, 'close');
    const set = open(dir, 2);
    set.view(0);
    set.close();
    set.close();
    expect(readdirSync(dir)).toEqual([]);
    // The directory is free again.
    open(dir, 1).close();
  });

  it('gives BRX_ERR_KV_INIT naming the path when the directory lies under a regular file', () => {
    const file = join(root, 'plain-file');
    writeFileSync(file, '');
    expect(() => open(join(file, 'slabs'))).toThrow(
      expect.objectContaining({ code: 'BRX_ERR_KV_INIT', params: { path: join(file, 'slabs'), reason: 'mkdir: ENOTDIR' } }),
    );
  });

  it('gives BRX_ERR_KV_INIT ENOSPC on a full tmpfs and removes what it created', (ctx) => {
    const mnt = join(root, 'tiny');
    mkdirSync(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0750', 'tmpfs', mnt]).status !== 0) {
      ctx.skip('needs root (CAP_SYS_ADMIN) to mount a small tmpfs');
    }
    try {
      let err: unknown;
      try {
        open(mnt, 8); // 8 × 256 KiB > 1 MiB
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'BRX_ERR_KV_INIT', params: { path: mnt } });
      expect(String((err as Error).message)).toMatch(/ENOSPC.*df /);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('rejects slab sizes a view cannot cover and bad counts with BRX_ERR_KV_CONFIG', () => {
    const dir = join(root, 'config');
    for (const slabSize of [0, -1, 1.5, MAX_SLAB_BYTES + 1]) {
      expect(() => openSlabSet({ dir, slabSize, count: 1, prefault: false, log })).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_CONFIG' }));
    }
    expect(() => openSlabSet({ dir, slabSize: SIZE, count: 0, prefault: false, log })).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_CONFIG' }));
    expect(existsSync(dir)).toBe(false);
  });
});

describe('mapSlabFile', () => {
  it('maps an agent slab from the client side, sharing bytes with the agent view', () => {
    const set = open(join(root, 'client'), 2);
    const client = mapSlabFile(set.paths[1] as string, SIZE);
    client[77] = 0xab;
    expect(set.view(1)[77]).toBe(0xab);
    set.close();
  });

  it('refuses missing files and files shorter than the size with BRX_ERR_KV_CONNECT', () => {
    const missing = join(root, 'nope');
    expect(() => mapSlabFile(missing, SIZE)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_CONNECT', params: { path: missing, reason: 'open slab: ENOENT' } }));
    const short = join(root, 'short');
    writeFileSync(short, Buffer.alloc(4096));
    expect(() => mapSlabFile(short, SIZE)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_CONNECT' }));
    expect(() => mapSlabFile(short, MAX_SLAB_BYTES + 1)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_CONNECT' }));
  });
});

describe('errnoName', () => {
  it('names errno values', () => {
    expect(errnoName(28)).toBe('ENOSPC');
    expect(errnoName(99999)).toBe('errno 99999');
  });
});
