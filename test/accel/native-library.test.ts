import { describe, expect, it } from 'vitest';
import { NativeLibrary } from '../../src/accel/native-library.js';

// libc stands in for a vendor library: the loader logic does not care what it loads.
const LIBC = 'libc.so.6';
const signatures = {
  pid: { names: ['getpid_v9', 'getpid'], result: 'int', params: [] },
  gone: { names: ['brixlet_no_such_symbol_v2', 'brixlet_no_such_symbol'], result: 'int', params: [] },
};

describe.runIf(process.platform === 'linux')('NativeLibrary', () => {
  it('resolves the first exported name, newest first, and caches it', () => {
    const lib = NativeLibrary.open(LIBC, signatures);
    if (lib instanceof Error) throw lib;
    const pid = lib.resolve('pid');
    expect(pid?.name).toBe('getpid');
    expect(pid?.fn()).toBe(process.pid);
    expect(lib.resolve('pid')).toBe(pid);
  });

  it('answers undefined for a function no name of which is exported, instead of throwing', () => {
    const lib = NativeLibrary.open(LIBC, signatures);
    if (lib instanceof Error) throw lib;
    expect(lib.resolve('gone')).toBeUndefined();
    expect(lib.resolve('gone')).toBeUndefined();
  });

  it('returns the load failure for a library that does not exist', () => {
    const lib = NativeLibrary.open('/nonexistent/libnvidia-ml.so.1', signatures);
    expect(lib).toBeInstanceOf(Error);
  });
});
