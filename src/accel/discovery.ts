/**
 * Where the vendor libraries live. Pure: the caller injects `exists`, so tests feed a fake file
 * system and production passes `systemExists` (a file check, or a dlopen probe for a bare soname).
 */
import { existsSync } from 'node:fs';
import koffi from 'koffi';

export type LibraryVendor = 'nvml' | 'dcmi';

export interface FindLibraryOptions {
  /** `--nvml.library` / `--dcmi.library` (env BRIXLET_NVML_LIBRARY / BRIXLET_DCMI_LIBRARY); '' = search. */
  readonly configured: string;
  /** A path (or bare soname) that can be loaded. */
  readonly exists: (path: string) => boolean;
  /** `process.arch` style (`x64`, `arm64`); picks the multiarch folder of the GPU operator's driver root. */
  readonly arch?: string;
}

export type FoundLibrary = { readonly path: string } | { readonly absent: string };

export const NVML_SONAME = 'libnvidia-ml.so.1';
export const DCMI_LIBRARY = 'libdcmi.so';

const MULTIARCH: Record<string, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

function nvmlDirs(arch: string): string[] {
  const multiarch = MULTIARCH[arch] ?? 'x86_64-linux-gnu';
  const system = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib/aarch64-linux-gnu', '/usr/lib'];
  // The GPU operator's driver container mounts its root at /run/nvidia/driver.
  const operator = [`/run/nvidia/driver/usr/lib/${multiarch}`, '/run/nvidia/driver/usr/lib64'];
  const roots = [...system, ...operator];
  return [...roots, ...roots.map((d) => `/host${d}`)];
}

const DCMI_PATHS = [
  '/usr/local/dcmi/libdcmi.so',
  '/usr/local/Ascend/driver/lib64/driver/libdcmi.so',
  '/usr/local/Ascend/driver/lib64/libdcmi.so',
  '/usr/local/Ascend/driver/lib64/common/libdcmi.so',
  '/usr/local/lib/libdcmi.so',
];

/** Every place searched when nothing is configured, in order. */
export function libraryCandidates(vendor: LibraryVendor, arch: string = process.arch): string[] {
  if (vendor === 'dcmi') return [...DCMI_PATHS, ...DCMI_PATHS.map((p) => `/host${p}`)];
  return [NVML_SONAME, ...nvmlDirs(arch).map((d) => `${d}/${NVML_SONAME}`)];
}

/** The CUDA toolkit's link stub answers every call with DRIVER_NOT_LOADED: never a real driver. */
export function isCudaStub(path: string): boolean {
  return path.includes('/stubs/');
}

export function findLibrary(vendor: LibraryVendor, opts: FindLibraryOptions): FoundLibrary {
  const name = vendor === 'nvml' ? NVML_SONAME : DCMI_LIBRARY;
  if (opts.configured !== '') {
    if (isCudaStub(opts.configured)) return { absent: `${opts.configured} is the CUDA stub library, not a driver` };
    return opts.exists(opts.configured) ? { path: opts.configured } : { absent: `${name} not found at the configured path ${opts.configured}` };
  }
  const candidates = libraryCandidates(vendor, opts.arch);
  const hit = candidates.find((p) => !isCudaStub(p) && opts.exists(p));
  if (hit !== undefined) return { path: hit };
  return { absent: `${name} not found (searched the dynamic linker path and ${candidates.length - (vendor === 'nvml' ? 1 : 0)} known driver locations)` };
}

/**
 * Production `exists`: a path must be a file; a bare soname must be loadable by the dynamic
 * linker (probed with dlopen, which is also what the backend does next; the handle is kept rather
 * than closed, so a driver library is never unloaded and reloaded).
 */
export function systemExists(path: string): boolean {
  if (path.includes('/')) return existsSync(path);
  try {
    koffi.load(path, { lazy: true });
    return true;
  } catch {
    return false;
  }
}
