// Shared by the backend e2e tests (accel-nvml, accel-dcmi): builds a native mock library and binds
// the control ABI both mocks export under their own prefix (native/include/brixlet-mock.h).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import { repoRoot } from '../helpers/repo.js';

/** Builds native/build/<file> when a compiler is there; true when the library exists afterwards (Linux only). */
export function buildNativeMock(file: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('make', ['-C', join(repoRoot, 'native'), '--no-print-directory', `build/${file}`], { stdio: 'pipe' });
  } catch {
    // no compiler: the caller skips its suite when the library is missing
  }
  return existsSync(join(repoRoot, 'native/build', file));
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
