// The production DCMI backend, through koffi's async calls, against the native mock libdcmi.so:
// topology, struct layouts, unsigned fault codes, unit conversion, NOT_SUPPORT memory, error mapping.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DcmiBackend } from '../../src/accel/dcmi/backend.js';
import { PROBES } from '../../src/accel/probes/index.js';
import { Sampler } from '../../src/accel/sampler.js';
import { openBackends } from '../../src/accel/select.js';
import { expandDevices, loadScenarioFile, type NpuDeviceSpec } from '../../src/accel/scenario.js';
import { PROBE_GROUPS, type DeviceSample, type ProbeGroup } from '../../src/accel/types.js';
import { silentLog } from '../helpers/apps.js';
import { repoRoot } from '../helpers/repo.js';
import { buildNativeMock, mockControl } from './accel-mock.js';

const LIB = join(repoRoot, 'native/build/libdcmi.so');
const SCENARIO = join(repoRoot, 'mocks/scenarios/healthy-8x-ascend910b.json');
const MIB = 1024 * 1024;

const available = buildNativeMock('libdcmi.so');
if (!available) console.warn(`skipping DCMI e2e: ${LIB} could not be built`);

/** The mock's control ABI. Devices are logic ids. */
const control = () => mockControl(LIB, 'dcmi');

/** What the backend must read for a scenario chip, group by group (groups Ascend lacks read nothing). */
function expected(d: NpuDeviceSpec): Record<ProbeGroup, DeviceSample> {
  const none = Object.fromEntries(PROBE_GROUPS.map((g) => [g, {}])) as Record<ProbeGroup, DeviceSample>;
  const total = d.hbmTotalMb! * MIB;
  const used = d.hbmUsedMb! * MIB;
  return {
    ...none,
    memory: { memoryTotalBytes: total, memoryUsedBytes: used, memoryFreeBytes: total - used, hbmTotalBytes: total, hbmUsedBytes: used },
    utilization: { aicoreUtilPercent: d.utilAicore!, gpuUtilPercent: d.utilAicore! },
    thermal: { gpuTempC: d.temperature!, hbmTempC: d.hbmTemp! },
    power: { powerW: d.powerDeciW! / 10, voltageV: d.voltageCentiV! / 100 },
    clocks: { aicoreFreqMhz: d.aicoreFreq! },
    ecc: { hbmEccSbe: d.eccHbmSingle!, hbmEccDbe: d.eccHbmDouble! },
    'npu-health': { npuHealth: d.health!, npuFaultCodes: d.errorCodes!, npuNetworkHealth: d.networkHealth! },
  };
}

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');

describe.runIf(available)('DCMI backend against the native mock', () => {
  let mock: ReturnType<typeof control>;
  let backend: DcmiBackend | undefined;
  const open = async (library = LIB) => {
    backend = new DcmiBackend({ library, log: silentLog, env: {} });
    return backend.open();
  };

  beforeAll(() => {
    process.env.BRIXLET_MOCK_SCENARIO = SCENARIO;
    mock = control();
  });
  // Loading a scenario clears overrides: control changes go after open().
  beforeEach(() => {
    expect(mock.load(SCENARIO)).toBe(0);
    mock.reset();
  });
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
  });

  it('reads topology, identity, versions and every group of healthy-8x-ascend910b as the scenario says', async () => {
    const scenario = loadScenarioFile(SCENARIO);
    const specs = expandDevices(scenario.dcmi!.defaults, scenario.dcmi!.devices);
    expect(await open()).toEqual({ kind: 'dcmi', vendor: 'ascend', state: 'up', libraryPath: LIB, driverVersion: '24.1.rc2', libraryVersion: '24.1.rc2' });
    expect(backend!.devices()).toEqual(
      specs.map((d) => ({
        vendor: 'ascend',
        index: d.logicId,
        uuid: `NPU-${d.dieId!.map((w) => hex(w, 8)).join('-')}`,
        name: 'Ascend910B3',
        pciBusId: `00000000:${hex(d.pciBus!, 2)}:00.0`,
        arch: '910B3',
        cardId: d.cardId,
        deviceId: 0,
        phyId: d.phyId,
      })),
    );
    expect(backend!.devices()[0]).toMatchObject({ uuid: 'NPU-1a2b3c4d-00010203-04050607-08090a0b-0c0d0e0f', pciBusId: '00000000:c1:00.0' });
    for (const spec of specs) {
      for (const [group, values] of Object.entries(expected(spec)) as [ProbeGroup, DeviceSample][]) {
        expect(await backend!.read(spec.logicId!, group), `NPU ${spec.logicId} ${group}`).toEqual({ values, errors: [], unsupported: [] });
      }
    }
  });

  it('keeps fault codes above INT_MAX unsigned, in order', async () => {
    await open();
    expect(mock.setValue(2, 'errorCodes', JSON.stringify([0x80e24e00, 0x80f3a201, 1]))).toBe(0);
    expect(mock.setValue(2, 'health', '2')).toBe(0);
    const read = await backend!.read(2, 'npu-health');
    expect(read.values).toEqual({ npuHealth: 2, npuFaultCodes: [0x80e24e00, 0x80f3a201, 1], npuNetworkHealth: 0 });
  });

  it('reports a chip that is not present (health 0xFFFFFFFF) as the raw unsigned value', async () => {
    await open();
    mock.setValue(6, 'health', '4294967295');
    expect((await backend!.read(6, 'npu-health')).values.npuHealth).toBe(0xffffffff);
  });

  it('omits a NOT_SUPPORT field, lists the api, and never calls it again on that chip', async () => {
    await open();
    mock.setReturn('dcmi_get_device_power_info', 1, -8255);
    const first = await backend!.read(1, 'power');
    expect(first).toEqual({ values: { voltageV: 0.85 }, errors: [], unsupported: ['dcmi_get_device_power_info'] });
    const calls = Number(mock.calls('dcmi_get_device_power_info'));
    for (let i = 0; i < 3; i++) expect((await backend!.read(1, 'power')).unsupported).toEqual(['dcmi_get_device_power_info']);
    expect(Number(mock.calls('dcmi_get_device_power_info'))).toBe(calls);
    expect((await backend!.read(0, 'power')).values.powerW).toBe(110.5);
  });

  it('records any other failure as an error with the DCMI name', async () => {
    await open();
    mock.setReturn('dcmi_get_device_temperature', 3, -8008);
    const read = await backend!.read(3, 'thermal');
    expect(read).toEqual({ values: { hbmTempC: 43 }, errors: [{ api: 'dcmi_get_device_temperature', code: 'DEVICE_NOT_EXIST', value: -8008 }], unsupported: [] });
    const again = Number(mock.calls('dcmi_get_device_temperature'));
    await backend!.read(3, 'thermal');
    expect(Number(mock.calls('dcmi_get_device_temperature'))).toBe(again + 1);
  });

  it('is failed with the named error when dcmi_init fails', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'brixlet-dcmi-')), 'init.json');
    writeFileSync(path, JSON.stringify({ name: 'dcmi-init', description: 'init fails', dcmi: { init: -8005, devices: [{}] } }));
    expect(mock.load(path)).toBe(-8005);
    expect(await open()).toMatchObject({ state: 'failed', message: 'dcmi_init: INNER_ERR (-8005)', error: { api: 'dcmi_init', code: 'INNER_ERR', value: -8005 }, libraryPath: LIB });
    expect(backend!.devices()).toEqual([]);
  });

  it('is absent when the configured library does not exist', async () => {
    expect(await open('/nonexistent/libdcmi.so')).toMatchObject({ state: 'absent', message: expect.stringContaining('/nonexistent/libdcmi.so') });
  });

  it('reads chips in parallel without mixing their out-parameters', async () => {
    await open();
    for (let i = 0; i < 8; i++) mock.setValue(i, 'temperature', String(40 + i));
    const reads = await Promise.all(backend!.devices().map((d) => backend!.read(d.index, 'thermal')));
    expect(reads.map((r) => r.values.gpuTempC)).toEqual([40, 41, 42, 43, 44, 45, 46, 47]);
  });

  it("queues calls beyond koffi's async limit instead of failing", async () => {
    await open();
    // 120 reads × 3 calls each: more than the 256 async calls koffi accepts at once.
    const reads = await Promise.all(Array.from({ length: 120 }, (_, i) => backend!.read(i % 8, 'npu-health')));
    expect(reads.every((r) => r.errors.length === 0 && r.values.npuHealth === 0)).toBe(true);
  });

  it('answers a call that hangs as CALL_TIMEOUT, skips that chip until it returns, and stops calling at two stuck calls', async () => {
    backend = new DcmiBackend({ library: LIB, log: silentLog, env: {}, callTimeoutMs: 200 });
    await backend.open();
    expect(mock.setValue(1, 'hang', '{"dcmi_get_device_power_info": 600000}')).toBe(0);
    const stuck = { api: 'dcmi_get_device_power_info', code: 'CALL_TIMEOUT', value: -1, message: 'dcmi_get_device_power_info did not return within 200 ms' };
    expect((await backend.read(1, 'power')).errors).toEqual([stuck]);
    // The chip is not called again while its call is stuck; the other chips are read as usual.
    const temperatureCalls = Number(mock.calls('dcmi_get_device_temperature'));
    expect(await backend.read(1, 'thermal')).toEqual({ values: {}, errors: [stuck], unsupported: [] });
    expect(Number(mock.calls('dcmi_get_device_temperature'))).toBe(temperatureCalls);
    expect((await backend.read(0, 'thermal')).errors).toEqual([]);
    // A second stuck call: no DCMI call is made at all (each holds a libuv pool thread).
    expect(mock.setValue(2, 'hang', '{"dcmi_get_device_power_info": 600000}')).toBe(0);
    expect((await backend.read(2, 'power')).errors).toEqual([stuck]);
    expect((await backend.read(0, 'power')).errors).toEqual([
      { api: 'dcmi', code: 'CALL_TIMEOUT', value: -1, message: 'DCMI calls suspended: dcmi_get_device_power_info on NPU 1, dcmi_get_device_power_info on NPU 2 did not return' },
    ]);
    // A reset ends the mock's hangs: once the calls return, every chip is read again.
    mock.reset();
    await vi.waitFor(async () => expect((await backend!.read(1, 'power')).errors).toEqual([]), { timeout: 10_000 });
    expect((await backend.read(2, 'power')).errors).toEqual([]);
  });

  it('samples every chip when one hangs: that chip unknown with the call named, the rest read; after a reset it is read again', async () => {
    // Through select.ts, as the agent opens it: accel.callTimeout reaches the DCMI backend.
    const backends = await openBackends('dcmi', { nvmlLibrary: '', dcmiLibrary: LIB, log: silentLog, env: {}, callTimeoutMs: 200 });
    const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'n1', log: silentLog, xidIgnore: [] });
    try {
      expect(mock.setValue(1, 'hang', '{"dcmi_get_device_power_info": 600000}')).toBe(0);
      const hung = await sampler.sampleNow();
      expect(hung.devices).toHaveLength(8);
      expect(hung.devices[1]!.health.state).toBe('unknown');
      expect(hung.devices[1]!.health.reasons).toContain('dcmi_get_device_power_info did not return within 200 ms');
      expect(hung.devices[1]!.errors).toContainEqual(expect.objectContaining({ api: 'dcmi_get_device_power_info', code: 'CALL_TIMEOUT' }));
      for (const d of hung.devices.filter((x) => x.identity.index !== 1)) {
        expect(d.health.state).toBe('healthy');
        expect(d.sample.powerW).toBeGreaterThan(0);
      }
      // The next sample completes too, and the chip stays unknown while its call is stuck.
      expect((await sampler.sampleNow()).devices[1]!.health.state).toBe('unknown');
      mock.reset();
      await vi.waitFor(
        async () => {
          const d = (await sampler.sampleNow()).devices[1]!;
          expect(d.health.state).toBe('healthy');
          expect(d.sample.powerW).toBeGreaterThan(0);
        },
        { timeout: 10_000 },
      );
    } finally {
      await sampler.dispose();
    }
  });

  it('close does not wait for a stuck call and leaves the library loaded under it', async () => {
    backend = new DcmiBackend({ library: LIB, log: silentLog, env: {}, callTimeoutMs: 200 });
    await backend.open();
    expect(mock.setValue(3, 'hang', '{"dcmi_get_device_power_info": 600000}')).toBe(0);
    expect((await backend.read(3, 'power')).errors[0]?.code).toBe('CALL_TIMEOUT');
    await backend.close();
    expect(await backend.read(0, 'power')).toEqual({ values: {}, errors: [], unsupported: [] });
    // The call returns into the library, still loaded (an unload under it would crash this process).
    mock.reset();
  });

  it('close waits for reads in flight and makes later reads empty', async () => {
    await open();
    const inflight = backend!.read(0, 'npu-health');
    await backend!.close();
    expect((await inflight).values.npuHealth).toBe(0);
    expect(await backend!.read(0, 'npu-health')).toEqual({ values: {}, errors: [], unsupported: [] });
  });
});
