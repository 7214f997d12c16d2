/**
 * An NvmlLibrary whose functions are JS, for the unit tests of the NVML read path: `fns` by
 * signature key (a key without a function is not exported); `symbols` overrides the symbol name a
 * key resolves to (e.g. which _vN of a versioned call the "driver" has).
 */
import { type NvmlLibrary, Scratch } from '../../../src/accel/nvml/library.js';
import { type NvmlDevice, ReadContext } from '../../../src/accel/nvml/read-context.js';

export type FakeFn = (...args: unknown[]) => number;

export function fakeNvml(fns: Record<string, FakeFn>, symbols: Record<string, string> = {}) {
  const calls: string[] = [];
  const lib = {
    scratch: new Scratch(),
    callTimeoutMs: 2000,
    blocked: () => undefined,
    // The real invoke runs `fn.async` on the thread pool; the fakes are plain JS functions.
    invoke: (fn: FakeFn, _api: string, _device: number, args: readonly unknown[]) => Promise.resolve(fn(...args)),
    native: {
      resolve: (api: string) => {
        const fn = fns[api];
        return fn === undefined ? undefined : { name: symbols[api] ?? api, fn: (...args: unknown[]) => (calls.push(api), fn(...args)) };
      },
    },
  } as unknown as NvmlLibrary;
  return { lib, calls };
}

export const nvmlDevice = (): NvmlDevice => ({ index: 0, handle: 42n, unsupported: new Set() });

/** A ReadContext on a fresh device (or `device`) over fake functions. */
export function fakeContext(fns: Record<string, FakeFn>, opts: { symbols?: Record<string, string>; device?: NvmlDevice } = {}) {
  const { lib, calls } = fakeNvml(fns, opts.symbols);
  const device = opts.device ?? nvmlDevice();
  return { ctx: new ReadContext(lib, device), calls, device, lib };
}

const view = (out: unknown) => {
  const b = out as Uint8Array;
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
};

/** Writes a little-endian u32 into an out-parameter buffer. */
export function put32(out: unknown, offset: number, value: number): void {
  view(out).setUint32(offset, value, true);
}

/** Writes a little-endian u64 (as two u32 halves) into an out-parameter buffer. */
export function put64(out: unknown, offset: number, value: number): void {
  view(out).setUint32(offset, value % 0x1_0000_0000, true);
  view(out).setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Fills one nvmlFieldValue_t: valueType @24, nvmlReturn @28, value @32. */
export function putField(out: unknown, value: number, opts: { type?: number; rc?: number } = {}): number {
  put32(out, 24, opts.type ?? 1);
  put32(out, 28, opts.rc ?? 0);
  if ((opts.type ?? 1) === 0) view(out).setFloat64(32, value, true);
  else put64(out, 32, value);
  return 0;
}
