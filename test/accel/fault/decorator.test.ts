import { describe, expect, it } from 'vitest';
import { createFaultDecorator } from '../../../src/accel/fault/decorator.js';
import { FaultEngine } from '../../../src/accel/fault/engine.js';
import type { FaultRuleInput } from '../../../src/accel/fault/rule.js';
import { loadScenarioFile, resolveScenario } from '../../../src/accel/scenario.js';
import { createSimBackends } from '../../../src/accel/sim/index.js';
import type { AccelEvent, AcceleratorBackend, GroupRead } from '../../../src/accel/types.js';
import { PROBE_GROUPS } from '../../../src/accel/types.js';
import { silentLog } from '../../helpers/apps.js';

async function setup(scenario = 'healthy-8x-h100', rules: FaultRuleInput[] = []) {
  const [inner] = createSimBackends(loadScenarioFile(resolveScenario(scenario)), { log: silentLog });
  const engine = new FaultEngine();
  engine.addAll(rules);
  const b = createFaultDecorator(inner!, engine);
  await b.open();
  return { inner: inner!, engine, b };
}

async function readAll(b: AcceleratorBackend, index: number): Promise<Record<string, GroupRead>> {
  const out: Record<string, GroupRead> = {};
  for (const g of PROBE_GROUPS) out[g] = await b.read(index, g);
  return out;
}

describe('createFaultDecorator', () => {
  it('reads exactly what the backend reads when no rule touches the device', async () => {
    const { inner, b } = await setup('healthy-8x-h100', [{ target: { device: 4 }, what: { api: '*' }, effect: { return: 15 } }]);
    for (const i of [0, 3, 7]) expect(await readAll(b, i)).toEqual(await readAll(inner, i));
    expect(b.devices()).toBe(inner.devices());
    expect(b.status()).toEqual(inner.status());
  });

  it('a return code fails the named call: vendor code name, its fields gone, the rest of the group intact', async () => {
    const { b } = await setup('healthy-8x-h100', [{ target: { device: 2 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'GPU_IS_LOST' } }]);
    const r = await b.read(2, 'thermal');
    expect(r.errors).toEqual([{ api: 'nvmlDeviceGetTemperature', code: 'GPU_IS_LOST', value: 15 }]);
    expect(r.values.gpuTempC).toBeUndefined();
    expect('gpuTempC' in r.values).toBe(false);
    expect(r.values).toMatchObject({ memoryTempC: 39, slowdownTempC: 90, shutdownTempC: 94 });
  });

  it('an api without a qualifier fails every variant; with one, that variant only', async () => {
    const { b, engine } = await setup('healthy-8x-h100', [{ target: { device: 0 }, what: { api: 'nvmlDeviceGetClockInfo' }, effect: { return: 999 } }]);
    expect((await b.read(0, 'clocks')).errors.map((e) => e.api)).toEqual(['nvmlDeviceGetClockInfo(GRAPHICS)', 'nvmlDeviceGetClockInfo(SM)', 'nvmlDeviceGetClockInfo(MEM)']);
    engine.reset();
    engine.add({ target: { device: 0 }, what: { api: 'nvmlDeviceGetClockInfo(SM)' }, effect: { return: 999 } });
    const r = await b.read(0, 'clocks');
    expect(r.errors).toEqual([{ api: 'nvmlDeviceGetClockInfo(SM)', code: 'UNKNOWN', value: 999 }]);
    expect(r.values.smClockMhz).toBeUndefined();
    expect(r.values.graphicsClockMhz).toBe(1755);
  });

  it('NOT_SUPPORTED lands in unsupported, not errors (each vendor its own code)', async () => {
    const { b } = await setup('healthy-8x-h100', [{ target: { device: 1 }, what: { api: 'nvmlDeviceGetPcieReplayCounter' }, effect: { return: 'NOT_SUPPORTED' } }]);
    const r = await b.read(1, 'pcie');
    expect(r.errors).toEqual([]);
    expect(r.unsupported).toEqual(['nvmlDeviceGetPcieReplayCounter']);
    expect('pcieReplayCount' in r.values).toBe(false);
    const npu = await setup('healthy-8x-ascend910b', [{ target: { device: 1 }, what: { api: 'dcmi_get_device_voltage' }, effect: { return: 'NOT_SUPPORTED' } }]);
    expect((await npu.b.read(1, 'power')).unsupported).toEqual(['dcmi_get_device_voltage']);
  });

  it('value overrides merge into the values and touch no other device', async () => {
    const { inner, b } = await setup('healthy-8x-h100', [{ target: { device: 3 }, effect: { values: { gpuTempC: 88, pcieWidth: 4 } } }]);
    expect((await b.read(3, 'thermal')).values).toEqual({ ...(await inner.read(3, 'thermal')).values, gpuTempC: 88 });
    expect((await b.read(3, 'pcie')).values.pcieWidth).toBe(4);
    for (const i of [0, 1, 2, 4, 5, 6, 7]) expect(await readAll(b, i)).toEqual(await readAll(inner, i));
  });

  it('the first rule on a call wins; a failed call is not revived by a later value rule', async () => {
    const { b } = await setup('healthy-8x-h100', [
      { id: 'first', target: { device: 0 }, effect: { values: { gpuTempC: 70 } } },
      { id: 'second', target: { device: 0 }, effect: { values: { gpuTempC: 99 } } },
      { id: 'fail', target: { device: 1 }, what: { class: 'thermal' }, effect: { return: 15 } },
      { id: 'late', target: { device: 1 }, effect: { values: { gpuTempC: 50 } } },
    ]);
    expect((await b.read(0, 'thermal')).values.gpuTempC).toBe(70);
    expect((await b.read(1, 'thermal')).values.gpuTempC).toBeUndefined();
  });

  it('delivers an XID once per device through onEvent', async () => {
    const { b } = await setup('healthy-8x-h100', [{ target: { device: '*' }, what: { class: 'xid' }, effect: { xid: 31 } }]);
    const events: AccelEvent[] = [];
    b.onEvent((e) => events.push(e));
    for (let round = 0; round < 3; round++) for (const i of [0, 5]) await readAll(b, i);
    expect(events.map((e) => (e.kind === 'xid' ? [e.index, e.xid] : e.kind))).toEqual([
      [0, 31],
      [5, 31],
    ]);
  });

  it('Ascend fault codes add to what the chip reports (unsigned) and npuHealth overrides health', async () => {
    const { b } = await setup('healthy-8x-ascend910b', [{ target: { device: 2 }, what: { class: 'npu-fault-code' }, effect: { faultCodes: ['0x80FA4E00', 2162314752], npuHealth: 1 } }]);
    const r = await b.read(2, 'npu-health');
    expect(r.values.npuFaultCodes).toEqual([0x80fa4e00, 0x80e24e00]);
    expect(r.values.npuHealth).toBe(1);
    expect((await b.read(1, 'npu-health')).values).toMatchObject({ npuHealth: 0, npuFaultCodes: [] });
  });

  it('an init rule makes the backend failed with no devices; removing it brings the backend back', async () => {
    const { inner, b, engine } = await setup();
    expect(b.devices()).toHaveLength(8);
    const rule = engine.add({ what: { api: 'init' }, effect: { return: 'DRIVER_NOT_LOADED' } });
    expect(b.status()).toMatchObject({ kind: 'sim', vendor: 'nvidia', state: 'failed', message: 'nvmlInitWithFlags: DRIVER_NOT_LOADED (9)', error: { code: 'DRIVER_NOT_LOADED', value: 9 } });
    expect(b.devices()).toEqual([]);
    expect(await b.read(0, 'thermal')).toEqual({ values: {}, errors: [], unsupported: [] });
    engine.remove(rule.id);
    expect(b.status()).toEqual(inner.status());
    expect(b.devices()).toHaveLength(8);
  });

  it('an init rule does not touch a backend of the other vendor', async () => {
    const { b, engine } = await setup('healthy-8x-ascend910b');
    engine.add({ what: { api: 'init' }, effect: { return: 9 } });
    expect(b.status().state).toBe('up');
  });

  it('TTL expiry lifts the fault without anyone removing it', async () => {
    const c = { t: 5_000 };
    const [inner] = createSimBackends(loadScenarioFile(resolveScenario('healthy-8x-h100')), { log: silentLog });
    const engine = new FaultEngine({ now: () => c.t });
    const b = createFaultDecorator(inner!, engine);
    await b.open();
    engine.add({ target: { device: 0 }, what: { class: 'lost' }, effect: { return: 15 }, ttlMs: 60_000 });
    expect((await b.read(0, 'power')).errors).toHaveLength(3);
    c.t += 60_000;
    expect(await b.read(0, 'power')).toEqual(await inner!.read(0, 'power'));
  });

  // Its cost per read (≤ 1 µs with 100 rules, none matching) is a benchmark target: npm run bench:accel.
});
