import { describe, expect, it } from 'vitest';
import { ReadContext } from '../../../src/accel/nvml/read-context.js';
import { fakeNvml, nvmlDevice } from '../helpers/fake-nvml.js';

const fakeLibrary = fakeNvml;
const device = nvmlDevice;

describe('ReadContext.call', () => {
  it('passes the device handle and returns SUCCESS reads', async () => {
    const { lib } = fakeLibrary({ temperature: (h, sensor, out) => (new DataView((out as Uint8Array).buffer).setUint32(0, h === 42n && sensor === 0 ? 55 : 0, true), 0) });
    const ctx = new ReadContext(lib, device());
    expect(await ctx.u32('temperature', undefined, 0)).toBe(55);
    expect(ctx.errors).toEqual([]);
  });

  it('remembers NOT_SUPPORTED per device and label, and lists it on every later read', async () => {
    const { lib, calls } = fakeLibrary({ clock: (_h, type) => (type === 1 ? 3 : 0) });
    const dev = device();
    const first = new ReadContext(lib, dev);
    expect(await first.u32('clock', 'SM', 1)).toBeUndefined();
    expect(await first.u32('clock', 'MEM', 2)).toBe(0);
    expect(first.unsupported).toEqual(['nvmlDeviceGetClockInfo(SM)']);
    const second = new ReadContext(lib, dev);
    await second.u32('clock', 'SM', 1);
    await second.u32('clock', 'MEM', 2);
    expect(second.unsupported).toEqual(['nvmlDeviceGetClockInfo(SM)']);
    expect(calls).toEqual(['clock', 'clock', 'clock']);
    // another device of the same model is asked afresh
    expect(await new ReadContext(lib, device()).u32('clock', 'SM', 1)).toBeUndefined();
    expect(calls).toHaveLength(4);
  });

  it('treats a symbol the driver does not export like NOT_SUPPORTED', async () => {
    const { lib } = fakeLibrary({});
    const ctx = new ReadContext(lib, device());
    expect(await ctx.u64('energy')).toBeUndefined();
    expect(ctx.unsupported).toEqual(['nvmlDeviceGetTotalEnergyConsumption']);
    expect(ctx.errors).toEqual([]);
  });

  it('records other failures each time, and stops calling after GPU_IS_LOST', async () => {
    const { lib, calls } = fakeLibrary({ powerUsage: () => 999, powerLimit: () => 15, energy: () => 0 });
    const ctx = new ReadContext(lib, device());
    await ctx.u32('powerUsage');
    await ctx.u32('powerLimit');
    await ctx.u64('energy');
    expect(ctx.errors).toEqual([
      { api: 'nvmlDeviceGetPowerUsage', code: 'UNKNOWN', value: 999 },
      { api: 'nvmlDeviceGetEnforcedPowerLimit', code: 'GPU_IS_LOST', value: 15 },
    ]);
    expect(calls).toEqual(['powerUsage', 'powerLimit']);
    expect(await new ReadContext(lib, device()).u32('powerUsage')).toBeUndefined();
  });

  it('hands expected codes back to the caller without recording them', async () => {
    const { lib } = fakeLibrary({ processes: () => 7 });
    const ctx = new ReadContext(lib, device());
    expect(await ctx.call('processes', undefined, [], [7])).toBe(7);
    expect(ctx.errors).toEqual([]);
    expect(ctx.unsupported).toEqual([]);
  });
});

describe('ReadContext.field', () => {
  /** nvmlDeviceGetFieldValues writing one nvmlFieldValue_t per `answer`. */
  const fields = (answer: (id: number, view: DataView) => number) =>
    fakeLibrary({
      fieldValues: (_h, count, out) => {
        const bytes = out as Uint8Array;
        const view = new DataView(bytes.buffer, bytes.byteOffset, 40);
        expect(count).toBe(1);
        view.setUint32(28, answer(view.getUint32(0, true), view), true);
        return 0;
      },
    });

  it('decodes each value type', async () => {
    const types: Record<number, [number, (v: DataView) => void]> = {
      1: [0, (v) => v.setFloat64(32, 1.5, true)],
      2: [1, (v) => v.setUint32(32, 4000000000, true)],
      3: [3, (v) => v.setBigUint64(32, 2n ** 40n, true)],
      4: [4, (v) => v.setBigInt64(32, -5n, true)],
      5: [5, (v) => v.setInt32(32, -7, true)],
    };
    const { lib } = fields((id, view) => {
      const [type, write] = types[id]!;
      view.setUint32(24, type, true);
      write(view);
      return 0;
    });
    const ctx = new ReadContext(lib, device());
    const read: (number | undefined)[] = [];
    for (const id of [1, 2, 3, 4, 5]) read.push(await ctx.field(id));
    expect(read).toEqual([1.5, 4000000000, 2 ** 40, -5, -7]);
  });

  it("remembers a field's own NOT_SUPPORTED under the field id and records its other failures", async () => {
    const { lib, calls } = fields((id) => (id === 82 ? 3 : 15));
    const dev = device();
    const ctx = new ReadContext(lib, dev);
    expect(await ctx.field(82)).toBeUndefined();
    expect(await ctx.field(82)).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(ctx.unsupported).toEqual(['nvmlDeviceGetFieldValues(82)']);
    expect(await new ReadContext(lib, dev).field(230)).toBeUndefined();
    expect(dev.unsupported.has('nvmlDeviceGetFieldValues(230)')).toBe(false);
  });
});
