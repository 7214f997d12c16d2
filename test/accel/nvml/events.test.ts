import { describe, expect, it } from 'vitest';
import type { EventWorkerMessage } from '../../../src/accel/nvml/events-worker.js';
import { NvmlEvents } from '../../../src/accel/nvml/events.js';
import type { AccelEvent } from '../../../src/accel/types.js';
import { silentLog } from '../../helpers/apps.js';

function events(libraryPath = '/nonexistent/libnvidia-ml.so.1') {
  const got: AccelEvent[] = [];
  const ev = new NvmlEvents({ libraryPath, deviceCount: 2, log: silentLog, emit: (e) => void got.push(e), waitTimeoutMs: 50 });
  return { ev, got };
}

/** The worker's messages as the main thread handles them (the thread itself is tested in events-worker.test.ts). */
const deliver = (ev: NvmlEvents, m: EventWorkerMessage) => (ev as unknown as { onMessage(m: EventWorkerMessage): void }).onMessage(m);

describe('NvmlEvents messages', () => {
  it('stamps XIDs and ECC events with the time they reach the main thread', () => {
    const { ev, got } = events();
    const before = Date.now();
    deliver(ev, { kind: 'xid', index: 4, xid: 79 });
    deliver(ev, { kind: 'ecc', index: 1, type: 'dbe' });
    expect(got).toEqual([
      { kind: 'xid', index: 4, xid: 79, at: expect.any(Number) },
      { kind: 'ecc', index: 1, type: 'dbe', at: expect.any(Number) },
    ]);
    expect(got[0]!.at).toBeGreaterThanOrEqual(before);
  });

  it('turns a failed wait into an event-error with the NVML code name', () => {
    const { ev, got } = events();
    deliver(ev, { kind: 'event-error', api: 'nvmlEventSetWait_v2', value: 15 });
    expect(got).toEqual([{ kind: 'event-error', error: { api: 'nvmlEventSetWait_v2', code: 'GPU_IS_LOST', value: 15 }, at: expect.any(Number) }]);
  });

  it('only logs a device that could not be registered: the other GPUs\' events still flow', () => {
    const { ev, got } = events();
    deliver(ev, { kind: 'register-error', index: 1, api: 'nvmlDeviceRegisterEvents', value: 999 });
    expect(got).toEqual([]);
  });

  it('resolves ready when the worker says every device is registered', async () => {
    const { ev } = events();
    deliver(ev, { kind: 'ready', registered: [0, 1] });
    await expect(ev.ready).resolves.toBeUndefined();
  });
});

describe('NvmlEvents thread', () => {
  it('stop before start does nothing', async () => {
    const { ev, got } = events();
    await ev.stop();
    expect(got).toEqual([]);
  });

  it('reports a thread that crashes (library cannot be loaded) as an event-error, and still resolves ready', async () => {
    const { ev, got } = events();
    ev.start();
    ev.start(); // a second start is a no-op: one thread
    await ev.ready;
    await expect.poll(() => got, { timeout: 10_000 }).toEqual([{ kind: 'event-error', error: { api: 'nvmlEventThread', code: 'THREAD_ERROR', value: -1 }, at: expect.any(Number) }]);
    await ev.stop();
  });
});
