// Token files are refused unless only their owner (this process's uid or root) can read them.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../src/common/token-file.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-token-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const opts = { flag: '--control.token-file', code: 'BRX_ERR_REGISTRY_TOKEN' } as const;
const TOKEN = 'abcdefghijklmnop-0123456789';
const notRoot = process.getuid?.() !== 0;
let n = 0;
function file(mode: number, text = `${TOKEN}\n`): string {
  const p = join(dir, `t-${n++}`);
  writeFileSync(p, text, { mode });
  chmodSync(p, mode);
  return p;
}

describe('readTokenFile', () => {
  it('reads a 0600 and a 0400 file, trimming the newline', async () => {
    await expect(readTokenFile(file(0o600), opts)).resolves.toBe(TOKEN);
    await expect(readTokenFile(file(0o400), opts)).resolves.toBe(TOKEN);
  });

  it('refuses a file group or others may read or write, naming the mode, the flag and the fix', async () => {
    for (const mode of [0o640, 0o644, 0o604, 0o620, 0o602]) {
      const err = await readTokenFile(file(mode), opts).catch((e: unknown) => e);
      expect(err, mode.toString(8)).toMatchObject({ code: 'BRX_ERR_REGISTRY_TOKEN', exitCode: 2 });
      expect((err as Error).message).toContain(`0${mode.toString(8)}`);
      expect((err as Error).message).toContain('--control.token-file');
      expect((err as Error).message).toContain('chmod 600');
    }
  });

  it('follows a symbolic link (Kubernetes Secret volumes are links) and checks the file it reaches', async () => {
    const good = join(dir, `link-${n++}`);
    symlinkSync(file(0o600), good);
    await expect(readTokenFile(good, opts)).resolves.toBe(TOKEN);
    const loose = join(dir, `link-${n++}`);
    symlinkSync(file(0o644), loose);
    await expect(readTokenFile(loose, opts)).rejects.toMatchObject({ code: 'BRX_ERR_REGISTRY_TOKEN', message: expect.stringContaining('0644') });
  });

  it('refuses a FIFO without blocking on it, a directory, an empty path and an oversized file', async () => {
    const fifo = join(dir, `fifo-${n++}`);
    execFileSync('mkfifo', ['-m', '600', fifo]);
    await expect(readTokenFile(fifo, opts)).rejects.toMatchObject({ message: expect.stringContaining('not a regular file') });
    await expect(readTokenFile(dir, opts)).rejects.toMatchObject({ code: 'BRX_ERR_REGISTRY_TOKEN' });
    await expect(readTokenFile('', opts)).rejects.toMatchObject({ message: expect.stringContaining('no file given') });
    await expect(readTokenFile(file(0o600, 'x'.repeat(5000)), opts)).rejects.toMatchObject({ message: expect.stringContaining('5000 bytes') });
  });

  it.skipIf(notRoot)('refuses a 0600 file owned by another user (needs root to chown it to nobody)', async () => {
    const p = file(0o600);
    chownSync(p, 65534, 65534);
    await expect(readTokenFile(p, opts)).rejects.toMatchObject({ message: expect.stringContaining('owned by uid 65534') });
  });
});
