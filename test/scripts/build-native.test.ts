// The native step of the build on a host without make or a C compiler: one clear line, exit 0 (the
// mock libraries are for tests and benchmarks only), instead of a `spawnSync make ENOENT` stack.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.js';

const bin = mkdtempSync(join(tmpdir(), 'brixlet-path-'));
symlinkSync(process.execPath, join(bin, 'node'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

const buildNative = (env: Record<string, string>) =>
  spawnSync(process.execPath, [join(repoRoot, 'scripts/build-native.mjs')], { cwd: repoRoot, env, encoding: 'utf8' });

describe('scripts/build-native.mjs', () => {
  it('skips the mock libraries with one line when make is not on PATH', () => {
    const r = buildNative({ PATH: bin });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      'brixlet build: native mock libraries not built: make not found; they are only needed by tests and benchmarks ' +
        '(install make and gcc, e.g. apt-get install make gcc, then npm run build)\n',
    );
    expect(r.stderr).not.toContain('ENOENT');
  });

  const hasMake = (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, 'make')));
  it.skipIf(!hasMake)('names the compiler when make is there but CC is not', () => {
    const r = buildNative({ PATH: process.env.PATH ?? '', CC: 'brixlet-no-such-cc' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('native mock libraries not built: a C compiler (brixlet-no-such-cc) not found');
  });
});
