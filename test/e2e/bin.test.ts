// How `brixlet` gets on PATH, as the README's quick start says: the built bin is an executable
// script, and `npm link` puts it on PATH (here into a throwaway npm prefix).
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readmePath, repoRoot } from '../helpers/repo.js';

const run = promisify(execFile);
const prefix = mkdtempSync(join(tmpdir(), 'brixlet-npm-prefix-'));
afterAll(() => rmSync(prefix, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('the brixlet executable', () => {
  it('is package.json bin, executable, with a node shebang', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const bin = join(repoRoot, pkg.bin.brixlet ?? '');
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toMatch(/^#!\/usr\/bin\/env (-S )?node\b/);
    expect(() => accessSync(bin, constants.X_OK)).not.toThrow();
    expect((await run(bin, ['--version'])).stdout.trim()).toBe(version);
  });

  it('gets on PATH with npm link, as the quick start says', async () => {
    expect(readFileSync(readmePath, 'utf8')).toMatch(/## Quick start[\s\S]*?npm link\s+# puts `brixlet` on your PATH/);
    const env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`, HOME: prefix, npm_config_prefix: prefix };
    await run('npm', ['link', '--ignore-scripts', '--no-audit', '--no-fund', '--silent'], { cwd: repoRoot, env });
    expect((await run('brixlet', ['--version'], { cwd: tmpdir(), env })).stdout.trim()).toBe(version);
  }, 60_000);
});
