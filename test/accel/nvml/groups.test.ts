import { describe, expect, it } from 'vitest';
import { definedOnly, NVML_GROUPS } from '../../../src/accel/nvml/groups.js';
import { PROBE_GROUPS } from '../../../src/accel/types.js';
import { fakeContext, nvmlDevice, put32, put64, putField } from '../helpers/fake-nvml.js';

const GIB = 1024 ** 3;
const read = (group: keyof typeof NVML_GROUPS, ctx: Parameters<NonNullable<(typeof NVML_GROUPS)['memory']>>[0]) => NVML_GROUPS[group]!(ctx);

describe('NVML_GROUPS', () => {
  it('covers every probe group but Ascend\'s npu-health', () => {
    expect(Object.keys(NVML_GROUPS).sort()).toEqual(PROBE_GROUPS.filter((g) => g !== 'npu-health').sort());
  });
});

describe('memory', () => {
  it('reads the v2 struct (with reserved memory) after stamping its version', async () => {
    let version = 0;
    const { ctx, calls } = fakeContext({
      memoryV2: (_h, out) => {
        version = new DataView((out as Uint8Array).buffer, (out as Uint8Array).byteOffset).getUint32(0, true);
        put64(out, 8, 80 * GIB);
        put64(out, 16, 512);
        put64(out, 24, 70 * GIB);
        put64(out, 32, 10 * GIB - 512);
        return 0;
      },
      memory: () => 0,
    });
    await read('memory', ctx);
    expect(version).toBe(0x02000028);
    expect(ctx.values).toEqual({ memoryTotalBytes: 80 * GIB, memoryReservedBytes: 512, memoryFreeBytes: 70 * GIB, memoryUsedBytes: 10 * GIB - 512 });
    expect(calls).toEqual(['memoryV2']);
  });

  it.each([
    ['NOT_SUPPORTED', 3],
    ['ARGUMENT_VERSION_MISMATCH', 25],
  ])('falls back to the v1 struct quietly on %s, and never asks v2 again', async (_name, rc) => {
    const fns = {
      memoryV2: () => rc,
      memory: (_h: unknown, out: unknown) => (put64(out, 0, 40 * GIB), put64(out, 8, 30 * GIB), put64(out, 16, 10 * GIB), 0),
    };
    const device = nvmlDevice();
    const first = fakeContext(fns, { device });
    await read('memory', first.ctx);
    expect(first.ctx.values).toEqual({ memoryTotalBytes: 40 * GIB, memoryFreeBytes: 30 * GIB, memoryUsedBytes: 10 * GIB });
    expect(first.ctx.errors).toEqual([]);
    const second = fakeContext(fns, { device });
    await read('memory', second.ctx);
    expect(second.calls).toEqual(['memory']);
    expect(second.ctx.values.memoryTotalBytes).toBe(40 * GIB);
  });

  it('falls back when the driver does not export the v2 symbol at all', async () => {
    const { ctx } = fakeContext({ memory: (_h, out) => (put64(out, 0, GIB), 0) });
    await read('memory', ctx);
    expect(ctx.values.memoryTotalBytes).toBe(GIB);
    expect(ctx.errors).toEqual([]);
  });

  it('does not fall back on a real v2 failure: the error is recorded and memory left unread', async () => {
    const { ctx, calls } = fakeContext({ memoryV2: () => 999, memory: () => 0 });
    await read('memory', ctx);
    expect(calls).toEqual(['memoryV2']);
    expect(ctx.values).toEqual({});
    expect(ctx.errors).toEqual([{ api: 'nvmlDeviceGetMemoryInfo_v2', code: 'UNKNOWN', value: 999 }]);
  });
});

describe('power, thermal, clocks, pcie', () => {
  it('converts milliwatts to watts and keeps energy in millijoules', async () => {
    const { ctx } = fakeContext({
      powerUsage: (_h, out) => (put32(out, 0, 312_450), 0),
      powerLimit: (_h, out) => (put32(out, 0, 700_000), 0),
      energy: (_h, out) => (put64(out, 0, 2 ** 40 + 5), 0),
    });
    await read('power', ctx);
    expect(ctx.values).toEqual({ powerW: 312.45, powerLimitW: 700, energyMj: 2 ** 40 + 5 });
  });

  it('leaves a field undefined (not 0) when its call fails, and reads the rest', async () => {
    const { ctx } = fakeContext({ powerUsage: () => 3, powerLimit: (_h, out) => (put32(out, 0, 350_000), 0) });
    await read('power', ctx);
    expect(definedOnly(ctx.values)).toEqual({ powerLimitW: 350 });
    expect(ctx.unsupported).toEqual(['nvmlDeviceGetPowerUsage', 'nvmlDeviceGetTotalEnergyConsumption']);
  });

  it('passes the sensor and threshold types, and reads memory temperature from field 82', async () => {
    const { ctx } = fakeContext({
      temperature: (_h, sensor, out) => (put32(out, 0, sensor === 0 ? 41 : 0), 0),
      temperatureThreshold: (_h, type, out) => (put32(out, 0, type === 0 ? 95 : type === 1 ? 90 : 0), 0),
      fieldValues: (_h, count, out) => (count === 1 && new DataView((out as Uint8Array).buffer, (out as Uint8Array).byteOffset).getUint32(0, true) === 82 ? putField(out, 38) : 2),
    });
    await read('thermal', ctx);
    expect(ctx.values).toEqual({ gpuTempC: 41, memoryTempC: 38, slowdownTempC: 90, shutdownTempC: 95 });
  });

  it('reads each clock domain by its type and the pcie throughput by direction', async () => {
    const { ctx } = fakeContext({
      clock: (_h, type, out) => (put32(out, 0, [1755, 1980, 2619][type as number]!), 0),
      maxClock: (_h, type, out) => (put32(out, 0, type === 1 ? 1980 : 0), 0),
      pstate: (_h, out) => (put32(out, 0, 0), 0),
      clockEventReasons: (_h, out) => (put64(out, 0, 0x4), 0),
      pcieThroughput: (_h, dir, out) => (put32(out, 0, dir === 0 ? 2048 : 1024), 0),
    });
    await read('clocks', ctx);
    await read('pcie', ctx);
    expect(definedOnly(ctx.values)).toEqual({ graphicsClockMhz: 1755, smClockMhz: 1980, memClockMhz: 2619, maxSmClockMhz: 1980, pstate: 0, clockEventReasons: 4, pcieTxKBps: 2048, pcieRxKBps: 1024 });
  });

  it('reads utilization from the struct and encoder/decoder from their first out-parameter', async () => {
    const { ctx } = fakeContext({
      utilization: (_h, out) => (put32(out, 0, 37), put32(out, 4, 12), 0),
      encoder: (_h, out, period) => (put32(out, 0, 5), put32(period, 0, 167_000), 0),
      decoder: () => 3,
    });
    await read('utilization', ctx);
    expect(definedOnly(ctx.values)).toEqual({ gpuUtilPercent: 37, memoryUtilPercent: 12, encoderUtilPercent: 5 });
  });
});

describe('definedOnly', () => {
  it('drops undefined keys in place and keeps falsy values', async () => {
    const values = { a: 0, b: undefined, c: false, d: '' };
    expect(definedOnly(values)).toBe(values);
    expect(values).toEqual({ a: 0, c: false, d: '' });
    expect('b' in values).toBe(false);
  });
});
