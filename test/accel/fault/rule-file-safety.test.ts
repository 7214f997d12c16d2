// Issue 12 (trust boundaries): the root agent writes the interposer rule file without following or
// truncating anything another user planted. Cases with a second owner run only as root (chown to nobody).
import { execFileSync } from 'node:child_process';
import type * as crypto from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RuleFileWriter, writeFileAtomic } from '../../../src/accel/fault/rule-file-writer.js';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof crypto>();
  return { ...real, randomBytes: vi.fn(real.randomBytes) };
});

const root = mkdtempSync(join(tmpdir(), 'brixlet-rule-safety-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NOBODY = 65534;
const notRoot = process.getuid?.() !== 0;
if (notRoot) console.info('rule-file-safety: the case with a second owner is skipped: needs root to chown to nobody (65534)');

let n = 0;
function scene(): { dir: string; path: string; victim: string } {
  const base = join(root, `case-${n++}`);
  mkdirSync(base);
  const victim = join(base, 'victim');
  writeFileSync(victim, 'precious\n');
  const dir = join(base, 'run');
  mkdirSync(dir, { mode: 0o755 });
  return { dir, path: join(dir, 'faults.json'), victim };
}

describe('rule file on a shared node', () => {
  it('never writes through a symlink planted at the old temp name <path>.tmp', async () => {
    const { path, victim } = scene();
    symlinkSync(victim, `${path}.tmp`);
    await new RuleFileWriter(path).write([], { now: 0 });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 2, generation: 1 });
  });

  it('skips a temp name someone created first (O_EXCL) instead of following or truncating it', async () => {
    const { dir, path, victim } = scene();
    const fixed = Buffer.from('00112233aabb', 'hex');
    symlinkSync(victim, join(dir, `.faults.json.${process.pid}.${fixed.toString('hex')}.tmp`));
    vi.mocked(randomBytes).mockImplementationOnce(() => fixed);
    await writeFileAtomic(path, '{"version":1,"generation":7}\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readFileSync(path, 'utf8')).toBe('{"version":1,"generation":7}\n');
    // The planted link is left as it was; no temp file of ours stays behind.
    expect(readdirSync(dir).sort()).toEqual([`.faults.json.${process.pid}.${fixed.toString('hex')}.tmp`, 'faults.json']);
  });

  it('replaces a symlink at the rule file itself instead of writing through it', async () => {
    const { path, victim } = scene();
    symlinkSync(victim, path);
    await new RuleFileWriter(path).write([], { now: 0 });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(path).isFile()).toBe(true);
  });

  it('does not hang on a FIFO planted at the rule file', async () => {
    const { path } = scene();
    execFileSync('mkfifo', [path]);
    const compiled = await new RuleFileWriter(path).write([], { now: 0 });
    expect(compiled.file.generation).toBe(1);
    expect(lstatSync(path).isFile()).toBe(true);
  });

  it('refuses a rule directory that is a symlink: the target directory is untouched', async () => {
    const { dir, victim } = scene();
    const linked = join(dir, 'linked');
    symlinkSync(join(victim, '..'), linked);
    const before = readdirSync(join(victim, '..')).sort();
    await expect(new RuleFileWriter(join(linked, 'victim')).write([], { now: 0 })).rejects.toMatchObject({
      code: 'BRX_ERR_FAULT_UNSAFE_PATH',
      params: { path: linked, problem: expect.stringMatching(/symbolic link/) },
    });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readdirSync(join(victim, '..')).sort()).toEqual(before);
  });

  it('refuses a rule directory writable by others (mode 0777)', async () => {
    const { dir, path } = scene();
    chmodSync(dir, 0o777);
    await expect(writeFileAtomic(path, '{}\n')).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_UNSAFE_PATH', params: { path: dir, problem: expect.stringMatching(/mode 0777/) } });
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(notRoot)('refuses a rule directory owned by nobody', async () => {
    const { dir, path } = scene();
    chownSync(dir, NOBODY, NOBODY);
    await expect(writeFileAtomic(path, '{}\n')).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_UNSAFE_PATH', params: { path: dir, problem: expect.stringMatching(/owned by uid 65534/) } });
    expect(readdirSync(dir)).toEqual([]);
  });
});
