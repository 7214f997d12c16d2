import { describe, expect, it } from 'vitest';
import { CallWatch } from '../../../src/accel/nvml/call-watch.js';

describe('CallWatch', () => {
  it('shows the call in progress to another view of the same memory, and nothing between calls', () => {
    const thread = new CallWatch();
    const main = new CallWatch(thread.buffer);
    expect(main.current()).toBeUndefined();
    const before = Date.now();
    expect(thread.begin(3, 'nvmlDeviceGetClockInfo(SM)')).toBe(true);
    expect(main.current()).toEqual({ device: 3, label: 'nvmlDeviceGetClockInfo(SM)', startedAt: expect.any(Number) });
    expect(main.current()!.startedAt).toBeGreaterThanOrEqual(before);
    expect(thread.end()).toBe(false);
    expect(main.current()).toBeUndefined();
    // A shorter label after a longer one is not mixed with the old bytes.
    thread.begin(-1, 'nvmlInit');
    expect(main.current()).toMatchObject({ device: -1, label: 'nvmlInit' });
  });

  it('once abandoned, says so when the call returns and refuses the next one', () => {
    const thread = new CallWatch();
    const main = new CallWatch(thread.buffer);
    thread.begin(1, 'nvmlDeviceGetPowerUsage');
    main.abandon();
    expect(thread.end()).toBe(true);
    expect(thread.begin(2, 'nvmlDeviceGetPowerUsage')).toBe(false);
    expect(main.current()).toBeUndefined();
  });
});
