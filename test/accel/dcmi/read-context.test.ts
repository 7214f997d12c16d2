import { describe, expect, it } from 'vitest';
import { u64 } from '../../../src/accel/dcmi/read-context.js';
import { dcmiChip, fakeDcmiContext, out } from '../helpers/fake-dcmi.js';

describe('DcmiReadContext.call', () => {
  it('calls with the chip\'s card and device ids first and reports DCMI_OK as true', async () => {
    const seen: unknown[] = [];
    const { ctx } = fakeDcmiContext({ health: (card, device, o) => (seen.push(card, device), out(o, 0)) });
    expect(await ctx.call('health', undefined, new Uint32Array(1))).toBe(true);
    expect(seen).toEqual([3, 1]);
    expect(ctx.errors).toEqual([]);
  });

  it('remembers NOT_SUPPORT per chip and label, so the next read does not call again but still lists it', async () => {
    const chip = dcmiChip();
    const fns = { utilization: (_c: number, _d: number, type: unknown) => (type === 2 ? -8255 : 0) };
    const first = fakeDcmiContext(fns, chip);
    expect(await first.ctx.scalar('utilization', 'AICORE', [2])).toBeUndefined();
    expect(await first.ctx.scalar('utilization', 'HBM', [6])).toBe(0);
    expect(first.ctx.unsupported).toEqual(['dcmi_get_device_utilization_rate(AICORE)']);
    const second = fakeDcmiContext(fns, chip);
    expect(await second.ctx.scalar('utilization', 'AICORE', [2])).toBeUndefined();
    expect(second.calls).toEqual([]);
    expect(second.ctx.unsupported).toEqual(['dcmi_get_device_utilization_rate(AICORE)']);
    expect(second.ctx.errors).toEqual([]);
  });

  it('treats a symbol the library does not export like NOT_SUPPORT', async () => {
    const { ctx, chip } = fakeDcmiContext({});
    expect(await ctx.scalar('voltage', undefined, [])).toBeUndefined();
    expect(chip.unsupported.has('dcmi_get_device_voltage')).toBe(true);
    expect(ctx.errors).toEqual([]);
  });

  it('ends the read at a call that did not return: one CALL_TIMEOUT error, no further call', async () => {
    const why = { api: 'dcmi_get_device_power_info', message: 'dcmi_get_device_power_info did not return within 2000 ms' };
    const { ctx, calls } = fakeDcmiContext({ power: () => why, voltage: (_c, _d, o) => out(o, 90) });
    const [power, again] = await Promise.all([ctx.scalar('power', undefined, [], true), ctx.scalar('power', undefined, [], true)]);
    expect(power).toBeUndefined();
    expect(again).toBeUndefined();
    expect(await ctx.scalar('voltage', undefined, [])).toBeUndefined();
    expect(calls).toEqual(['power', 'power']);
    expect(ctx.errors).toEqual([{ api: 'dcmi_get_device_power_info', code: 'CALL_TIMEOUT', value: -1, message: why.message }]);
    expect(ctx.unsupported).toEqual([]);
  });

  it('records other failures with their DCMI name on every read, without remembering them', async () => {
    const { ctx, chip } = fakeDcmiContext({ temperature: () => -8005 });
    await ctx.scalar('temperature', undefined, [], true);
    await ctx.scalar('temperature', undefined, [], true);
    expect(ctx.errors).toEqual([
      { api: 'dcmi_get_device_temperature', code: 'INNER_ERR', value: -8005 },
      { api: 'dcmi_get_device_temperature', code: 'INNER_ERR', value: -8005 },
    ]);
    expect(chip.unsupported.size).toBe(0);
  });
});

describe('DcmiReadContext.scalar', () => {
  it('reads a signed out-parameter when asked (temperatures below zero), unsigned otherwise', async () => {
    const { ctx } = fakeDcmiContext({ temperature: (_c, _d, o) => out(o, -5), health: (_c, _d, o) => out(o, 0xffffffff) });
    expect(await ctx.scalar('temperature', undefined, [], true)).toBe(-5);
    expect(await ctx.scalar('health', undefined, [])).toBe(4294967295);
  });

  it('passes its arguments before the out-parameter', async () => {
    const { ctx } = fakeDcmiContext({ frequency: (_c, _d, type, o) => out(o, type === 7 ? 1800 : 0) });
    expect(await ctx.scalar('frequency', 'AICORE_CURRENT', [7])).toBe(1800);
  });
});

describe('u64', () => {
  it('reads a little-endian 64-bit value at an offset', () => {
    const view = new DataView(new ArrayBuffer(24));
    view.setUint32(8, 5, true);
    view.setUint32(12, 2, true);
    expect(u64(view, 8)).toBe(2 * 2 ** 32 + 5);
    expect(u64(view, 0)).toBe(0);
  });
});
