#!/usr/bin/env node
// The native step of `npm run build`: the mock NVML/DCMI libraries and the interposer in native/.
// They are only loaded by tests and benchmarks, so a host without make or a C compiler (a slim
// production image, `npm ci --omit=dev`) gets one line saying what is skipped, and the build goes on.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when `cmd` is an executable file on `pathVar` (or is itself an executable path). */
export function onPath(cmd, pathVar = process.env.PATH ?? '') {
  const candidates = isAbsolute(cmd) ? [cmd] : pathVar.split(delimiter).filter(Boolean).map((d) => join(d, cmd));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What is missing to build native/ ('make', the compiler), or undefined when both are there. */
export function missingTool(env = process.env) {
  if (!onPath('make', env.PATH)) return 'make';
  const cc = (env.CC ?? 'cc').trim().split(/\s+/)[0] || 'cc';
  if (!onPath(cc, env.PATH)) return `a C compiler (${cc})`;
  return undefined;
}

/** Builds native/ when it has a Makefile and the tools are there; returns the exit status. */
export function buildNative(root = fileURLToPath(new URL('..', import.meta.url)), env = process.env) {
  const dir = join(root, 'native');
  if (!existsSync(join(dir, 'Makefile'))) return 0;
  const missing = missingTool(env);
  if (missing !== undefined) {
    process.stderr.write(
      `brixlet build: native mock libraries not built: ${missing} not found; they are only needed by tests and benchmarks ` +
        `(install make and gcc, e.g. apt-get install make gcc, then npm run build)\n`,
    );
    return 0;
  }
  const r = spawnSync('make', ['-C', dir, '--no-print-directory'], { stdio: 'inherit', env });
  if (r.error) {
    process.stderr.write(`brixlet build: make -C native failed to start: ${r.error.message}\n`);
    return 1;
  }
  return r.status ?? 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = buildNative();
