import { describe, expect, it } from 'vitest';
import { DCMI_GROUPS } from '../../../src/accel/dcmi/groups.js';
import type { DcmiReadContext } from '../../../src/accel/dcmi/read-context.js';
import { fakeDcmiContext, type FakeDcmiFn, out } from '../helpers/fake-dcmi.js';

const MIB = 1024 * 1024;

/** dcmi_hbm_info: u64 size MB @0, u32 freq @8, u64 usage MB @16, i32 temp @24, u32 bw util @28. */
const hbm = (totalMb: number, usedMb: number, tempC: number): FakeDcmiFn => (_c, _d, info) => {
  const v = new DataView((info as Uint8Array).buffer);
  v.setUint32(0, totalMb, true);
  v.setUint32(16, usedMb, true);
  v.setInt32(24, tempC, true);
  return 0;
};

async function read(group: keyof typeof DCMI_GROUPS, fns: Parameters<typeof fakeDcmiContext>[0]): Promise<DcmiReadContext> {
  const { ctx } = fakeDcmiContext(fns);
  await DCMI_GROUPS[group]!(ctx);
  return ctx;
}

describe('DCMI_GROUPS', () => {
  it('has no NVIDIA-only groups', () => {
    expect(Object.keys(DCMI_GROUPS).sort()).toEqual(['clocks', 'ecc', 'memory', 'npu-health', 'power', 'thermal', 'utilization']);
  });

  it('memory: converts MB to bytes and mirrors HBM into memory, free never negative', async () => {
    const ctx = await read('memory', { hbm: hbm(65536, 3276, 43) });
    expect(ctx.values).toEqual({ memoryTotalBytes: 65536 * MIB, hbmTotalBytes: 65536 * MIB, memoryUsedBytes: 3276 * MIB, hbmUsedBytes: 3276 * MIB, memoryFreeBytes: (65536 - 3276) * MIB });
    expect((await read('memory', { hbm: hbm(10, 20, 0) })).values.memoryFreeBytes).toBe(0);
  });

  it('memory: reads nothing when the HBM call fails', async () => {
    const ctx = await read('memory', { hbm: () => -8005 });
    expect(ctx.values).toEqual({});
    expect(ctx.errors).toHaveLength(1);
  });

  it('utilization: asks for AI Core (type 2) and reports it as GPU utilization too', async () => {
    const ctx = await read('utilization', { utilization: (_c, _d, type, o) => out(o, type === 2 ? 35 : 99) });
    expect(ctx.values).toEqual({ aicoreUtilPercent: 35, gpuUtilPercent: 35 });
  });

  it('thermal: chip temperature and the signed HBM temperature', async () => {
    const ctx = await read('thermal', { temperature: (_c, _d, o) => out(o, 45), hbm: hbm(1, 0, -3) });
    expect(ctx.values).toEqual({ gpuTempC: 45, hbmTempC: -3 });
  });

  it('power: 0.1 W to W and 0.01 V to V, each independently', async () => {
    expect((await read('power', { power: (_c, _d, o) => out(o, 1105), voltage: (_c, _d, o) => out(o, 85) })).values).toEqual({ powerW: 110.5, voltageV: 0.85 });
    const partial = await read('power', { voltage: (_c, _d, o) => out(o, 90) });
    expect(partial.values.powerW).toBeUndefined();
    expect(partial.values.voltageV).toBe(0.9);
  });

  it('clocks: the current AI Core frequency (type 7)', async () => {
    expect((await read('clocks', { frequency: (_c, _d, type, o) => out(o, type === 7 ? 1800 : 1) })).values).toEqual({ aicoreFreqMhz: 1800 });
  });

  it('ecc: HBM (type 2) single- and double-bit counts from the struct', async () => {
    const ctx = await read('ecc', {
      ecc: (_c, _d, type, info) => {
        const a = info as Uint32Array;
        [a[0], a[1], a[2]] = [1, type === 2 ? 4 : 0, type === 2 ? 1 : 0];
        return 0;
      },
    });
    expect(ctx.values).toEqual({ hbmEccSbe: 4, hbmEccDbe: 1 });
  });

  it('npu-health: fault codes stay unsigned and the list is cut at the reported count', async () => {
    const ctx = await read('npu-health', {
      health: (_c, _d, o) => out(o, 2),
      errorCodes: (_c, _d, count, codes, max) => {
        expect(max).toBe(128);
        (codes as Uint32Array).set([0x80e24e00, 0x80e3a201, 0xdead]);
        return out(count, 2);
      },
      networkHealth: (_c, _d, o) => out(o, 0),
    });
    expect(ctx.values).toEqual({ npuHealth: 2, npuFaultCodes: [0x80e24e00, 0x80e3a201], npuNetworkHealth: 0 });
  });

  it('npu-health: a negative or oversized count is clamped', async () => {
    const codes = (n: number): FakeDcmiFn => (_c, _d, count, list) => ((list as Uint32Array).fill(7), out(count, n));
    expect((await read('npu-health', { errorCodes: codes(-1) })).values.npuFaultCodes).toEqual([]);
    expect((await read('npu-health', { errorCodes: codes(1000) })).values.npuFaultCodes).toHaveLength(128);
  });

  it('npu-health: no fault code list when the call fails (absent, not empty)', async () => {
    const ctx = await read('npu-health', { health: (_c, _d, o) => out(o, 0), errorCodes: () => -8005 });
    expect(ctx.values.npuHealth).toBe(0);
    expect(ctx.values.npuFaultCodes).toBeUndefined();
  });
});
