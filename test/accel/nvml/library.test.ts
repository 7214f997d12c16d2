import { describe, expect, it } from 'vitest';
import { cString, PROCESS_INFO_STRIDE, Scratch } from '../../../src/accel/nvml/library.js';

describe('Scratch', () => {
  it('reads 64-bit counters above 2^32 exactly and below 2^53 as plain numbers', () => {
    const s = new Scratch();
    s.view.setBigUint64(64, 4294967301n, true);
    expect(s.u64(1)).toBe(4294967301);
    s.view.setBigUint64(64 + 8, 2n ** 53n - 1n, true);
    expect(s.u64(1, 8)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('gives each slot its own 64 bytes of one contiguous area', () => {
    const s = new Scratch();
    s.slots[2]!.fill(0xab);
    expect(s.u32(2, 60)).toBe(0xabababab);
    expect(s.u32(1, 60)).toBe(0);
    expect(s.u32(3, 0)).toBe(0);
    s.clear(2);
    expect(s.u32(2, 0)).toBe(0);
  });
});

describe('cString', () => {
  it('cuts at the first NUL and trims padding', () => {
    const bytes = new Uint8Array(16);
    bytes.set(Buffer.from('550.54.15 \0junk'));
    expect(cString(bytes)).toBe('550.54.15');
  });

  it('reads a field that fills its buffer without a NUL', () => {
    expect(cString(new Uint8Array(Buffer.from('GPU-abc')), 0, 7)).toBe('GPU-abc');
  });
});

it('knows the element size of every nvmlProcessInfo_t version', () => {
  expect(PROCESS_INFO_STRIDE).toEqual({
    nvmlDeviceGetComputeRunningProcesses_v3: 32,
    nvmlDeviceGetComputeRunningProcesses_v2: 24,
    nvmlDeviceGetComputeRunningProcesses: 16,
  });
});
