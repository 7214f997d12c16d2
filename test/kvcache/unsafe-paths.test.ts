// Issue 12 (trust boundaries): the root agent must not follow, truncate or delete what another user
// planted where it creates or removes KV files. One test per attack a tester reproduced; cases that
// need a second owner chown to nobody (65534) and run only as root.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startKvService } from '../../src/kvcache/service.js';
import { LOCK_FILE, openSlabSet } from '../../src/kvcache/slab.js';
import { shardOptions } from './shard-fixture.js';

const log = pino({ level: 'silent' });
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-unsafe-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NOBODY = 65534;
const notRoot = process.getuid?.() !== 0;
const ROOT_ONLY = 'needs root to chown a planted path to nobody (65534)';
if (notRoot) console.info(`unsafe-paths: cases with a second owner skipped: ${ROOT_ONLY}`);

let n = 0;
/** A fresh case directory with a victim file the attacker wants overwritten or deleted. */
function scene(): { base: string; victim: string } {
  const base = join(root, `case-${n++}`);
  mkdirSync(base);
  const victim = join(base, 'victim');
  writeFileSync(victim, 'precious\n');
  return { base, victim };
}

function unsafe(pathPart: string, problem: RegExp) {
  return expect.objectContaining({ code: 'BRX_ERR_KV_UNSAFE_PATH', params: expect.objectContaining({ path: expect.stringContaining(pathPart), problem: expect.stringMatching(problem) }) });
}

/** A unix socket file with no listener, as a crashed process leaves it. */
function staleSocket(path: string): void {
  execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
}

describe('KV files on a shared node', () => {
  it.skipIf(notRoot)('refuses a kv dir owned by nobody whose agent.lock links to a victim: victim unchanged, no slab made', async () => {
    const { base, victim } = scene();
    const dir = join(base, 'kv');
    mkdirSync(dir, { mode: 0o750 });
    symlinkSync(victim, join(dir, LOCK_FILE));
    lchownSync(join(dir, LOCK_FILE), NOBODY, NOBODY);
    chownSync(dir, NOBODY, NOBODY);
    await expect(startKvService(shardOptions({ dir, socketPath: join(base, 'kv.sock') }), { log })).rejects.toThrow(unsafe(dir, /owned by uid 65534/));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    expect(existsSync(join(base, 'kv.sock'))).toBe(false);
  });

  it('refuses an agent.lock that is a symlink even in the agent\'s own directory: victim unchanged', () => {
    const { base, victim } = scene();
    const dir = join(base, 'kv');
    mkdirSync(dir, { mode: 0o750 });
    symlinkSync(victim, join(dir, LOCK_FILE));
    expect(() => openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, log })).toThrow(unsafe(LOCK_FILE, /symbolic link/));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
  });

  it('refuses an agent.lock hard-linked to another file: victim unchanged', () => {
    const { base, victim } = scene();
    const dir = join(base, 'kv');
    mkdirSync(dir, { mode: 0o750 });
    execFileSync('ln', [victim, join(dir, LOCK_FILE)]);
    expect(() => openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, log })).toThrow(unsafe(LOCK_FILE, /hard links/));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('refuses a kv dir writable by others (mode 0777)', () => {
    const { base } = scene();
    const dir = join(base, 'kv');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(() => openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, log })).toThrow(unsafe(dir, /mode 0777/));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a kv dir that is a symlink to a directory of slab-* files: they survive', async () => {
    const { base } = scene();
    const target = join(base, 'someone-elses');
    mkdirSync(target);
    for (const f of ['slab-0badc0de-0000', 'slab-data']) writeFileSync(join(target, f), 'theirs');
    const dir = join(base, 'kv');
    symlinkSync(target, dir);
    await expect(startKvService(shardOptions({ dir, socketPath: join(base, 'kv.sock') }), { log })).rejects.toThrow(unsafe(dir, /symbolic link/));
    expect(readdirSync(target).sort()).toEqual(['slab-0badc0de-0000', 'slab-data']);
  });

  it('wipes only regular slab files it owns: a slab-* symlink and its target survive', () => {
    const { base, victim } = scene();
    const dir = join(base, 'kv');
    mkdirSync(dir, { mode: 0o750 });
    symlinkSync(victim, join(dir, 'slab-00000000-0000'));
    writeFileSync(join(dir, 'slab-11111111-0000'), 'old');
    const set = openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, log });
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE, 'slab-00000000-0000', `slab-${set.generation}-0000`].sort());
    set.close();
    expect(lstatSync(join(dir, 'slab-00000000-0000')).isSymbolicLink()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it.skipIf(notRoot)('leaves a slab-* file owned by another user in place', () => {
    const { base } = scene();
    const dir = join(base, 'kv');
    mkdirSync(dir, { mode: 0o750 });
    const theirs = join(dir, 'slab-22222222-0000');
    writeFileSync(theirs, 'theirs');
    chownSync(theirs, NOBODY, NOBODY);
    const set = openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, log });
    set.close();
    expect(readFileSync(theirs, 'utf8')).toBe('theirs');
  });

  it('refuses a --kv.socket that names a regular file: the file survives', async () => {
    const { base, victim } = scene();
    await expect(startKvService(shardOptions({ dir: join(base, 'kv'), socketPath: victim }), { log })).rejects.toThrow(unsafe(victim, /regular file, not a socket/));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(existsSync(join(base, 'kv'))).toBe(false);
  });

  it('refuses a --kv.socket that is a symlink: neither link nor target is removed', async () => {
    const { base } = scene();
    const theirs = join(base, 'their.sock');
    staleSocket(theirs);
    const sock = join(base, 'kv.sock');
    symlinkSync(theirs, sock);
    await expect(startKvService(shardOptions({ dir: join(base, 'kv'), socketPath: sock }), { log })).rejects.toThrow(unsafe(sock, /symbolic link/));
    expect(lstatSync(sock).isSymbolicLink()).toBe(true);
    expect(lstatSync(theirs).isSocket()).toBe(true);
  });

  it.skipIf(notRoot)('refuses a stale socket owned by another user: it survives', async () => {
    const { base } = scene();
    const sock = join(base, 'kv.sock');
    staleSocket(sock);
    lchownSync(sock, NOBODY, NOBODY);
    await expect(startKvService(shardOptions({ dir: join(base, 'kv'), socketPath: sock }), { log })).rejects.toThrow(unsafe(sock, /owned by uid 65534/));
    expect(lstatSync(sock).isSocket()).toBe(true);
  });

  it.skipIf(notRoot)('refuses a socket directory owned by another user', async () => {
    const { base } = scene();
    const sockDir = join(base, 'run');
    mkdirSync(sockDir, { mode: 0o755 });
    chownSync(sockDir, NOBODY, NOBODY);
    await expect(startKvService(shardOptions({ dir: join(base, 'kv'), socketPath: join(sockDir, 'kv.sock') }), { log })).rejects.toThrow(unsafe(sockDir, /owned by uid 65534/));
    expect(readdirSync(sockDir)).toEqual([]);
  });
});
