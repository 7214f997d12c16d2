import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentUid, dirProblem, ensureSafeDir, unlinkOwned } from '../../src/common/safe-fs.js';

const root = mkdtempSync(join(tmpdir(), 'brixlet-safe-fs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const notRoot = process.getuid?.() !== 0;
let n = 0;
const fresh = (): string => {
  const d = join(root, `c${n++}`);
  mkdirSync(d, { mode: 0o755 });
  return d;
};

describe('dirProblem', () => {
  it('accepts the agent\'s own 0755 directory and a missing one; leaves a non-directory to the open that follows', () => {
    const d = fresh();
    expect(agentUid()).toBe(process.geteuid?.());
    expect(dirProblem(d)).toBeUndefined();
    expect(dirProblem(join(d, 'missing'))).toBeUndefined();
    writeFileSync(join(d, 'file'), '');
    expect(dirProblem(join(d, 'file'))).toBeUndefined();
  });

  it('names a symlink with its target, and a group/world-writable mode', () => {
    const d = fresh();
    symlinkSync(d, join(d, 'link'));
    expect(dirProblem(join(d, 'link'))).toMatch(new RegExp(`symbolic link \\(to ${d}\\)`));
    chmodSync(d, 0o775);
    expect(dirProblem(d)).toMatch(/mode 0775 lets group or others/);
  });

  it.skipIf(notRoot)('names another owner (root only: chown to nobody)', () => {
    const d = fresh();
    chownSync(d, 65534, 65534);
    expect(dirProblem(d)).toMatch(/owned by uid 65534, not the agent's uid 0/);
  });
});

describe('ensureSafeDir', () => {
  it('creates a missing directory with the mode and refuses a symlink to a directory', () => {
    const d = fresh();
    ensureSafeDir(join(d, 'a', 'b'), 0o700, 'BRX_ERR_KV_UNSAFE_PATH');
    expect(statSync(join(d, 'a', 'b')).mode & 0o777).toBe(0o700);
    symlinkSync(join(d, 'a'), join(d, 'link'));
    expect(() => ensureSafeDir(join(d, 'link'), 0o755, 'BRX_ERR_FAULT_UNSAFE_PATH')).toThrow(
      expect.objectContaining({ code: 'BRX_ERR_FAULT_UNSAFE_PATH', params: expect.objectContaining({ path: join(d, 'link') }) }),
    );
  });
});

describe('unlinkOwned', () => {
  it('removes the agent\'s own file or socket, and refuses the wrong type or a symlink without touching it', () => {
    const d = fresh();
    const file = join(d, 'f');
    writeFileSync(file, 'x');
    const sock = join(d, 's');
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', sock]);
    expect(unlinkOwned(file, 'socket')).toMatch(/regular file, not a socket/);
    expect(readFileSync(file, 'utf8')).toBe('x');
    expect(unlinkOwned(sock, 'file')).toMatch(/socket, not a regular file/);
    symlinkSync(file, join(d, 'l'));
    expect(unlinkOwned(join(d, 'l'), 'file')).toMatch(/symbolic link/);
    expect(lstatSync(join(d, 'l')).isSymbolicLink()).toBe(true);
    expect(unlinkOwned(file, 'file')).toBeUndefined();
    expect(unlinkOwned(sock, 'socket')).toBeUndefined();
    expect(existsSync(file) || existsSync(sock)).toBe(false);
    expect(unlinkOwned(file, 'file')).toBeUndefined(); // already gone
  });

  it.skipIf(notRoot)('leaves a file another user owns (root only: chown to nobody)', () => {
    const d = fresh();
    const file = join(d, 'theirs');
    writeFileSync(file, 'x');
    chownSync(file, 65534, 65534);
    expect(unlinkOwned(file, 'file')).toMatch(/owned by uid 65534/);
    expect(existsSync(file)).toBe(true);
  });
});
