// Shared by the backend e2e tests (accel-nvml, accel-dcmi): builds a native mock library and binds
// the control ABI both mocks export under their own prefix (native/include/brixlet-mock.h).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { repoRoot } from '../helpers/repo.js';

/** Why the native mocks cannot be built here (not Linux, no make, no C compiler), or '' when they can. */
export function nativeToolchainMissing(): string {
  if (process.platform !== 'linux') return 'the native mocks are Linux libraries';
  for (const tool of ['make', process.env.CC ?? 'cc']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error !== undefined) return `${tool} is not installed`;
  }
  return '';
}

/**
 * Builds native/build/<files>; true when they exist afterwards. Only a missing toolchain answers false
 * (the caller skips, saying why); with make and a compiler present a failing build throws with its
 * output, so a broken native source fails the tests instead of skipping them.
 */
export function buildNativeMocks(...files: string[]): boolean {
  const missing = nativeToolchainMissing();
  if (missing !== '') {
    console.warn(`native mocks not built: ${missing}`);
    return false;
  }
  const make = ['make', '-C', join(repoRoot, 'native'), '--no-print-directory', ...files.map((f) => `build/${f}`)];
  // Test files run in parallel processes: one make at a time, or two would write the same objects.
  const serial = spawnSync('flock', ['--version'], { stdio: 'ignore' }).error === undefined ? ['flock', join(tmpdir(), 'brixlet-native-make.lock'), ...make] : make;
  try {
    execFileSync(serial[0] as string, serial.slice(1), { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`make -C native failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`, { cause: err });
  }
  return files.every((f) => existsSync(join(repoRoot, 'native/build', f)));
}

/** One library: see buildNativeMocks. */
export function buildNativeMock(file: string): boolean {
  return buildNativeMocks(file);
}

/** The control functions common to both mocks; `device` is the NVML index or the Ascend logic id. */
export function mockControl(path: string, prefix: 'nvml' | 'dcmi') {
  const lib = koffi.load(path);
  const fn = `brixlet_${prefix}_mock`;
  return {
    lib,
    load: lib.func(`int ${fn}_load(const char *path)`) as (path: string | null) => number,
    setReturn: lib.func(`int ${fn}_set_return(const char *fn, int device, int code)`) as (name: string, device: number, code: number) => number,
    setValue: lib.func(`int ${fn}_set_value(int device, const char *key, const char *json)`) as (device: number, key: string, json: string) => number,
    reset: lib.func(`void ${fn}_reset(void)`) as () => void,
    calls: lib.func(`unsigned long long ${fn}_call_count(const char *fn)`) as (name: string | null) => number | bigint,
  };
}
