import { afterEach, describe, expect, it, vi } from 'vitest';
import { cText, DCMI_SIGNATURES, DcmiLibrary } from '../../../src/accel/dcmi/library.js';
import { NativeLibrary } from '../../../src/accel/native-library.js';

type Callback = (err: unknown, rc: number) => void;

/**
 * A NativeLibrary whose async calls wait until the test answers them, so the tests can see how
 * many are in flight. `exported` lists the keys the "library" has.
 */
function fakeNative(exported: readonly string[]) {
  const pending: { api: string; args: unknown[]; done: Callback }[] = [];
  const native = {
    path: '/fake/libdcmi.so',
    unloaded: false,
    resolve: (api: string) =>
      exported.includes(api) ? { name: api, fn: { async: (...args: unknown[]) => pending.push({ api, args: args.slice(0, -1), done: args.at(-1) as Callback }) } } : undefined,
    unload() {
      this.unloaded = true;
    },
  };
  vi.spyOn(NativeLibrary, 'open').mockReturnValue(native as unknown as NativeLibrary<never>);
  const lib = DcmiLibrary.open(native.path);
  if (lib instanceof Error) throw lib;
  return { lib, native, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

afterEach(() => vi.restoreAllMocks());

describe('DcmiLibrary', () => {
  it('returns a load failure instead of throwing', () => {
    expect(DcmiLibrary.open('/nonexistent/libdcmi.so')).toBeInstanceOf(Error);
  });

  it('names an api by its DCMI symbol', () => {
    const { lib } = fakeNative([]);
    expect(lib.name('errorCodes')).toBe('dcmi_get_device_errorcode_v2');
    expect(lib.path).toBe('/fake/libdcmi.so');
  });

  it('answers FUNCTION_NOT_FOUND (-1) for a symbol the library does not export, without calling', async () => {
    const { lib, pending } = fakeNative([]);
    expect(await lib.call('voltage', 0, 0, new Uint32Array(1))).toBe(-1);
    expect(pending).toEqual([]);
  });

  it('passes the arguments through and resolves with the return code; a koffi error rejects', async () => {
    const { lib, pending } = fakeNative(['health']);
    const out = new Uint32Array(1);
    const ok = lib.call('health', 2, 0, out);
    await tick();
    expect(pending[0]?.args).toEqual([2, 0, out]);
    pending[0]!.done(null, -8255);
    expect(await ok).toBe(-8255);
    const bad = lib.call('health', 2, 0, out);
    await tick();
    pending[1]!.done('boom', 0);
    await expect(bad).rejects.toThrow('boom');
  });

  it('runs at most 32 calls at once and starts the next as one finishes', async () => {
    const { lib, pending } = fakeNative(['temperature']);
    const calls = Array.from({ length: 40 }, () => lib.call('temperature', 0, 0, new Int32Array(1)));
    await tick();
    expect(pending).toHaveLength(32);
    pending[0]!.done(null, 0);
    await tick();
    expect(pending).toHaveLength(33);
    for (let i = 1; i < 40; i++) {
      pending[i]!.done(null, 0);
      await tick();
    }
    expect(await Promise.all(calls)).toEqual(Array(40).fill(0));
  });

  it('unloads only after the calls in flight finish, and answers INNER_ERR once unloading', async () => {
    const { lib, native, pending } = fakeNative(['power']);
    const inflight = lib.call('power', 0, 0, new Int32Array(1));
    await tick();
    const unloading = lib.unload();
    await tick();
    expect(native.unloaded).toBe(false);
    expect(await lib.call('power', 0, 0, new Int32Array(1))).toBe(-8005);
    pending[0]!.done(null, 0);
    await unloading;
    expect(native.unloaded).toBe(true);
    expect(await inflight).toBe(0);
    expect(pending).toHaveLength(1);
  });

  it('answers a sampling call that does not return in time as stuck, blocks its chip until it returns, and keeps its out-parameters', async () => {
    const { lib, pending } = fakeNative(['power', 'temperature']);
    lib.callTimeoutMs = 20;
    const out = new Int32Array(1);
    const stuck = { api: 'dcmi_get_device_power_info', message: 'dcmi_get_device_power_info did not return within 20 ms' };
    expect(await lib.sample('power', 1, 'dcmi_get_device_power_info', [0, 0, out])).toEqual(stuck);
    expect(lib.stuck).toBe(1);
    // The chip makes no further call; another chip does.
    expect(await lib.sample('temperature', 1, 'dcmi_get_device_temperature', [0, 0, new Int32Array(1)])).toEqual(stuck);
    expect(pending.map((p) => p.api)).toEqual(['power']);
    const other = lib.sample('temperature', 0, 'dcmi_get_device_temperature', [1, 0, new Int32Array(1)]);
    await tick();
    pending[1]!.done(null, 0);
    expect(await other).toBe(0);
    // The stuck call still holds the very buffer it was given; when it returns, the chip is called again.
    expect(pending[0]!.args[2]).toBe(out);
    pending[0]!.done(null, 0);
    expect(lib.stuck).toBe(0);
    expect(lib.blocked(1)).toBeUndefined();
  });

  it('makes no call at all past two stuck calls, and is not unloaded while one is stuck', async () => {
    const { lib, native, pending } = fakeNative(['power', 'temperature']);
    lib.callTimeoutMs = 20;
    await lib.sample('power', 1, 'dcmi_get_device_power_info', [0, 0, new Int32Array(1)]);
    await lib.sample('power', 2, 'dcmi_get_device_power_info', [1, 0, new Int32Array(1)]);
    expect(await lib.sample('temperature', 0, 'dcmi_get_device_temperature', [2, 0, new Int32Array(1)])).toEqual({
      api: 'dcmi',
      message: 'DCMI calls suspended: dcmi_get_device_power_info on NPU 1, dcmi_get_device_power_info on NPU 2 did not return',
    });
    expect(pending).toHaveLength(2);
    pending[1]!.done(null, 0);
    expect(await lib.unload()).toBe(false);
    expect(native.unloaded).toBe(false);
    pending[0]!.done(null, 0);
  });

  it('declares every signature as int-returning with one symbol name', () => {
    for (const sig of Object.values(DCMI_SIGNATURES)) {
      expect(sig.result).toBe('int');
      expect(sig.names).toHaveLength(1);
    }
  });
});

describe('cText', () => {
  it('cuts at the first NUL within the range and trims', () => {
    const bytes = new Uint8Array([0x41, 0x31, 0, 0x42, 0x20, 0x39, 0x31, 0x30, 0x20, 0, 0x43]);
    expect(cText(bytes)).toBe('A1');
    expect(cText(bytes, 3)).toBe('B 910');
    expect(cText(bytes, 4)).toBe('910');
    expect(cText(bytes, 3, 6)).toBe('B 9');
    expect(cText(new Uint8Array([0x61, 0x62]))).toBe('ab');
  });

  it('honours a subarray\'s offset into its buffer', () => {
    const whole = new Uint8Array([0x78, 0x78, 0x6f, 0x6b, 0]);
    expect(cText(whole.subarray(2))).toBe('ok');
  });
});
