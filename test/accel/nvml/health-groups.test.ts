import { describe, expect, it } from 'vitest';
import { readEcc, readNvlink, readProcesses, readRecovery, readRetirement } from '../../../src/accel/nvml/health-groups.js';
import { definedOnly } from '../../../src/accel/nvml/groups.js';
import { fakeContext, nvmlDevice, put32, put64, putField } from '../helpers/fake-nvml.js';

const fieldId = (out: unknown) => new DataView((out as Uint8Array).buffer, (out as Uint8Array).byteOffset).getUint32(0, true);

describe('readEcc', () => {
  it('reads the mode and each (type, counter, location) combination into its own field', async () => {
    const { ctx } = fakeContext({
      eccMode: (_h, current, _pending) => (put32(current, 0, 1), 0),
      totalEcc: (_h, type, counter, out) => (put64(out, 0, 10 * (type as number) + (counter as number) + 1), 0),
      memoryErrorCounter: (_h, type, counter, location, out) => (put64(out, 0, counter === 0 ? 100 * (type as number) + (location as number) : 9999), 0),
    });
    await readEcc(ctx);
    expect(ctx.values).toEqual({
      eccEnabled: true,
      eccSbeVolatile: 1,
      eccSbeAggregate: 2,
      eccDbeVolatile: 11,
      eccDbeAggregate: 12,
      eccSramUncorrectedVolatile: 107,
      eccDramUncorrectedVolatile: 102,
      eccDramCorrectedVolatile: 2,
    });
  });

  it('names each counter combination separately when it is not supported', async () => {
    const { ctx } = fakeContext({ eccMode: (_h, cur) => (put32(cur, 0, 0), 0), totalEcc: () => 0, memoryErrorCounter: (_h, _t, _c, location) => (location === 7 ? 3 : 0) });
    await readEcc(ctx);
    expect(ctx.values.eccEnabled).toBe(false);
    expect(ctx.unsupported).toEqual(['nvmlDeviceGetMemoryErrorCounter(UNCORRECTED,VOLATILE,SRAM)']);
    expect(ctx.values.eccDramCorrectedVolatile).toBe(0);
  });
});

describe('readRetirement', () => {
  it('takes the page count from an INSUFFICIENT_SIZE answer without recording an error', async () => {
    const { ctx } = fakeContext({
      retiredPages: (_h, cause, count, addresses) => {
        expect(addresses).toBeNull();
        put32(count, 0, cause === 0 ? 2 : 0);
        return cause === 0 ? 7 : 0;
      },
      retiredPending: (_h, out) => (put32(out, 0, 1), 0),
      remappedRows: (_h, corr, unc, pending, failure) => (put32(corr, 0, 3), put32(unc, 0, 1), put32(pending, 0, 0), put32(failure, 0, 1), 0),
    });
    await readRetirement(ctx);
    expect(ctx.values).toEqual({
      retiredPagesSbe: 2,
      retiredPagesDbe: 0,
      retiredPagesPending: true,
      remappedRowsCorrectable: 3,
      remappedRowsUncorrectable: 1,
      remapPending: false,
      remapFailure: true,
    });
    expect(ctx.errors).toEqual([]);
  });

  it('leaves retirement unread on a GPU without it (A100+ remap rows instead)', async () => {
    const { ctx } = fakeContext({ retiredPages: () => 3, retiredPending: () => 3 });
    await readRetirement(ctx);
    expect(definedOnly(ctx.values)).toEqual({});
    expect(ctx.unsupported).toContain('nvmlDeviceGetRetiredPages(DBE)');
  });
});

describe('readNvlink', () => {
  const counters = { nvlinkErrorCounter: (_h: unknown, link: unknown, counter: unknown, out: unknown) => (put64(out, 0, 100 * (link as number) + (counter as number)), 0) };

  it('takes the link count from field 91 once per device, capped at 18', async () => {
    const device = nvmlDevice();
    const fns = {
      fieldValues: (_h: unknown, _n: unknown, out: unknown) => (fieldId(out) === 91 ? putField(out, 40) : 2),
      nvlinkState: (_h: unknown, _link: unknown, out: unknown) => (put32(out, 0, 1), 0),
      ...counters,
    };
    const first = fakeContext(fns, { device });
    await readNvlink(first.ctx);
    expect(device.linkCount).toBe(18);
    expect(first.ctx.values.nvlinks).toHaveLength(18);
    expect(first.ctx.values.nvlinks?.[2]).toEqual({ link: 2, active: true, replayErrors: 200, recoveryErrors: 201, crcFlitErrors: 202, crcDataErrors: 203 });
    const second = fakeContext(fns, { device });
    await readNvlink(second.ctx);
    expect(second.calls).not.toContain('fieldValues');
  });

  it('probes links until INVALID_ARGUMENT when the field is missing', async () => {
    const { ctx, device } = fakeContext({ nvlinkState: (_h, link, out) => ((link as number) < 4 ? (put32(out, 0, link === 1 ? 0 : 1), 0) : 2), ...counters });
    await readNvlink(ctx);
    expect(device.linkCount).toBe(4);
    expect(ctx.values.nvlinks?.map((l) => l.active)).toEqual([true, false, true, true]);
    expect(ctx.errors).toEqual([]);
  });

  it('remembers a GPU without NVLink (NOT_SUPPORTED on link 0) and reports no links', async () => {
    const { ctx, device } = fakeContext({ nvlinkState: () => 3 });
    await readNvlink(ctx);
    expect(device.linkCount).toBeUndefined();
    expect(ctx.values.nvlinks).toBeUndefined();
    expect(device.unsupported.has('nvmlDeviceGetNvLinkState')).toBe(true);
  });

  it('reports an empty list for a GPU that has the API but zero links', async () => {
    const { ctx, device } = fakeContext({ nvlinkState: () => 2 });
    await readNvlink(ctx);
    expect(device.linkCount).toBe(0);
    expect(ctx.values.nvlinks).toEqual([]);
  });

  it('retries the count next sample after a real failure', async () => {
    const { ctx, device } = fakeContext({ nvlinkState: () => 999 });
    await readNvlink(ctx);
    expect(device.linkCount).toBeUndefined();
    expect(ctx.values.nvlinks).toBeUndefined();
    expect(ctx.errors[0]).toMatchObject({ api: 'nvmlDeviceGetNvLinkState', code: 'UNKNOWN' });
  });
});

describe('readRecovery', () => {
  it('reads field 230', async () => {
    const { ctx } = fakeContext({ fieldValues: (_h, _n, out) => (fieldId(out) === 230 ? putField(out, 2) : 2) });
    await readRecovery(ctx);
    expect(ctx.values.recoveryAction).toBe(2);
  });
});

describe('readProcesses', () => {
  /** A driver with `procs` running; `grow` more appear between the size probe and the read. */
  function driver(procs: [pid: number, lo: number, hi: number][], stride: number, grow = 0) {
    let probes = 0;
    return (_h: unknown, count: unknown, infos: unknown) => {
      const n = procs.length + grow * probes++;
      const capacity = new DataView((count as Uint8Array).buffer, (count as Uint8Array).byteOffset).getUint32(0, true);
      put32(count, 0, n);
      if (capacity < n) return 7;
      procs.forEach(([pid, lo, hi], i) => (put32(infos, i * stride, pid), put32(infos, i * stride + 8, lo), put32(infos, i * stride + 12, hi)));
      return 0;
    };
  }

  it('sizes the buffer from the probe and parses pids and used memory with the v3 stride', async () => {
    const { ctx } = fakeContext({ processes: driver([[4242, 0, 1], [77, 0xffffffff, 0xffffffff]], 32) }, { symbols: { processes: 'nvmlDeviceGetComputeRunningProcesses_v3' } });
    await readProcesses(ctx);
    expect(ctx.values.processes).toEqual([
      { pid: 4242, usedMemoryBytes: 2 ** 32 },
      { pid: 77, usedMemoryBytes: 0 },
    ]);
    expect(ctx.errors).toEqual([]);
  });

  it('uses the stride of the symbol the driver exports', async () => {
    const { ctx } = fakeContext({ processes: driver([[1, 10, 0], [2, 20, 0]], 24) }, { symbols: { processes: 'nvmlDeviceGetComputeRunningProcesses_v2' } });
    await readProcesses(ctx);
    expect(ctx.values.processes).toEqual([
      { pid: 1, usedMemoryBytes: 10 },
      { pid: 2, usedMemoryBytes: 20 },
    ]);
  });

  it('is an empty list when nothing runs', async () => {
    const { ctx, calls } = fakeContext({ processes: driver([], 32) });
    await readProcesses(ctx);
    expect(ctx.values.processes).toEqual([]);
    expect(calls).toEqual(['processes']);
  });

  it('gives up after three retries while processes keep appearing faster than the headroom', async () => {
    const { ctx, calls } = fakeContext({ processes: driver([[1, 0, 0]], 32, 100) });
    await readProcesses(ctx);
    expect(ctx.values.processes).toBeUndefined();
    expect(calls).toHaveLength(4);
    expect(ctx.errors).toEqual([]);
  });
});
