import { describe, expect, it, vi } from 'vitest';
import { MAX_STUCK_CALLS, StuckCalls, TIMED_OUT, withTimeout } from '../../src/accel/call-timeout.js';

describe('StuckCalls', () => {
  it('blocks only the device of a stuck call, with the call and the timeout named, until it returns', () => {
    const calls = new StuckCalls({ library: 'DCMI', device: 'NPU' });
    const args = [new Uint32Array(1)];
    const stuck = calls.note('dcmi_get_device_power_info', 1, args);
    // The out-parameters stay reachable until the call returns.
    expect(stuck.args[0]).toBe(args[0]);
    expect(calls.size).toBe(1);
    expect(calls.blocked(1, 2000)).toEqual({ api: 'dcmi_get_device_power_info', message: 'dcmi_get_device_power_info did not return within 2000 ms' });
    expect(calls.blocked(0, 2000)).toBeUndefined();
    calls.returned(stuck);
    // A second `returned` of the same call changes nothing.
    calls.returned(stuck);
    expect(calls.size).toBe(0);
    expect(calls.blocked(1, 2000)).toBeUndefined();
  });

  it(`suspends every call once ${MAX_STUCK_CALLS} are stuck, naming each with its device`, () => {
    const calls = new StuckCalls({ library: 'NVML', device: 'GPU' });
    const first = calls.note('nvmlDeviceGetPowerUsage', 1);
    const second = calls.note('nvmlShutdown', -1);
    expect(calls.blocked(0, 500)).toEqual({ api: 'nvml', message: 'NVML calls suspended: nvmlDeviceGetPowerUsage on GPU 1, nvmlShutdown did not return' });
    // A stuck device still reports its own call.
    expect(calls.blocked(1, 500)?.message).toBe('nvmlDeviceGetPowerUsage did not return within 500 ms');
    calls.returned(second);
    expect(calls.blocked(0, 500)).toBeUndefined();
    calls.returned(first);
  });
});

describe('withTimeout', () => {
  it('answers the call when it settles first', async () => {
    expect(await withTimeout(Promise.resolve(7), 1000)).toBe(7);
    await expect(withTimeout(Promise.reject(new Error('boom')), 1000)).rejects.toThrow('boom');
  });

  it('answers TIMED_OUT when the call has not settled in time', async () => {
    vi.useFakeTimers();
    try {
      const answer = withTimeout(new Promise<number>(() => undefined), 50);
      await vi.advanceTimersByTimeAsync(50);
      expect(await answer).toBe(TIMED_OUT);
    } finally {
      vi.useRealTimers();
    }
  });
});
