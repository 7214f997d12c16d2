// XID delivery of the native NVML mock through koffi: once per registered event set, in order,
// an idle wait that lasts its timeout, and waiters woken by a push or by shutdown. (The CPU an idle
// wait burns is a benchmark target: npm run bench:accel, "idle 200 ms NVML event wait".)
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { mockLibrary, scenarioDir, sentinel, shippedScenario, writeScenario } from './mock-lib.js';
import { INVALID_ARGUMENT, SUCCESS, TIMEOUT, UNINITIALIZED, openNvmlMock } from './nvml-lib.js';

const lib = mockLibrary('libnvidia-ml.so.1');
const H100 = `${scenarioDir}/healthy-8x-h100.json`;

describe.skipIf(lib.missing !== '')(`native NVML mock: XID events${lib.missing}`, () => {
  const { f, handle, shutdownAll } = openNvmlMock(lib.path);

  beforeEach(() => {
    shutdownAll();
    expect(f.load(H100)).toBe(SUCCESS);
    expect(f.init()).toBe(SUCCESS);
  });
  afterAll(() => shutdownAll());

  const XID_EVENT = 8n;
  const newSet = (): bigint => {
    const b = Buffer.alloc(8);
    expect(f.setCreate(b)).toBe(SUCCESS);
    return b.readBigUInt64LE(0);
  };

  it('delivers each XID once per registered set in nvmlEventData_t (32 B), then TIMEOUT', () => {
    const a = newSet(), other = newSet();
    for (const i of [0, 1]) expect(f.register(handle(i), XID_EVENT, a)).toBe(SUCCESS);
    expect(f.register(handle(1), XID_EVENT, other)).toBe(SUCCESS);
    expect(f.pushXid(1, 79n)).toBe(0);
    expect(f.pushXid(5, 48n)).toBe(0); // device 5 is registered in no set
    const data = sentinel(40);
    expect(f.wait(a, data, 1000)).toBe(SUCCESS);
    expect(data.readBigUInt64LE(0)).toBe(handle(1));
    expect([data.readBigUInt64LE(8), data.readBigUInt64LE(16), data.readUInt32LE(24), data.readUInt32LE(28)]).toEqual([XID_EVENT, 79n, 0xffffffff, 0xffffffff]);
    expect(data.subarray(32)).toEqual(sentinel(8));
    expect(f.wait(a, data, 0)).toBe(TIMEOUT);
    expect(f.wait(other, data, 0)).toBe(SUCCESS); // the other set gets its own copy
    expect(data.readBigUInt64LE(16)).toBe(79n);
    expect(f.wait(other, data, 0)).toBe(TIMEOUT);
    expect(f.setFree(a)).toBe(SUCCESS);
    expect(f.setFree(other)).toBe(SUCCESS);
    expect(f.wait(a, data, 0)).toBe(INVALID_ARGUMENT);
  });

  it('queues the scenario xids at load, in order', () => {
    shutdownAll();
    const s = { ...shippedScenario('healthy-8x-h100') } as { nvml: Record<string, unknown> };
    s.nvml = { ...s.nvml, xids: [{ device: 0, xid: 48 }, { device: 0, xid: 63 }] };
    expect(f.load(writeScenario('xids', s))).toBe(SUCCESS);
    expect(f.init()).toBe(SUCCESS);
    const set = newSet();
    expect(f.register(handle(0), XID_EVENT, set)).toBe(SUCCESS);
    const data = Buffer.alloc(32);
    const got: bigint[] = [];
    for (let i = 0; i < 10 && f.wait(set, data, 0) === SUCCESS; i++) got.push(data.readBigUInt64LE(16));
    expect(got).toEqual([48n, 63n]);
    f.setFree(set);
  });

  it('blocks an idle wait for its whole timeout', () => {
    const set = newSet();
    expect(f.register(handle(0), XID_EVENT, set)).toBe(SUCCESS);
    const t0 = performance.now();
    expect(f.wait(set, Buffer.alloc(32), 200)).toBe(TIMEOUT);
    // A lower bound only: a loaded machine makes the wait longer, never shorter.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(180);
    f.setFree(set);
  });

  it('wakes a waiter on another thread when an XID is pushed', async () => {
    const set = newSet();
    expect(f.register(handle(7), XID_EVENT, set)).toBe(SUCCESS);
    const data = Buffer.alloc(32);
    // SUCCESS, not TIMEOUT, is the proof that the push woke it: the timeout only ends a hang.
    const waited = new Promise<number>((resolve, reject) => {
      f.wait.async(set, data, 20_000, (err: unknown, rc: number) => (err ? reject(err) : resolve(rc)));
    });
    setTimeout(() => f.pushXid(7, 94n), 50);
    expect(await waited).toBe(SUCCESS);
    expect(data.readBigUInt64LE(16)).toBe(94n);
    f.setFree(set);
  });
  it('ends a blocked wait with UNINITIALIZED when the last reference shuts down', async () => {
    const set = newSet();
    expect(f.register(handle(0), XID_EVENT, set)).toBe(SUCCESS);
    // UNINITIALIZED, not TIMEOUT, is the proof that shutdown woke it: the timeout only ends a hang.
    const waited = new Promise<number>((resolve, reject) => {
      f.wait.async(set, Buffer.alloc(32), 20_000, (err: unknown, rc: number) => (err ? reject(err) : resolve(rc)));
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(f.shutdown()).toBe(SUCCESS);
    expect(await waited).toBe(UNINITIALIZED);
  });
});
