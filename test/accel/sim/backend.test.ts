import { describe, expect, it } from 'vitest';
import { loadScenarioFile, resolveScenario, type Scenario } from '../../../src/accel/scenario.js';
import { createSimBackends, NVML_EVENT_WAIT_API, type SimBackend } from '../../../src/accel/sim/index.js';
import { type AccelEvent, type DeviceSample, PROBE_GROUPS, type ProbeGroup } from '../../../src/accel/types.js';
import { silentLog } from '../../helpers/apps.js';

const load = (name: string) => loadScenarioFile(resolveScenario(name));

async function opened(scenario: Scenario): Promise<SimBackend[]> {
  const backends = createSimBackends(scenario, { log: silentLog }) as SimBackend[];
  for (const b of backends) await b.open();
  return backends;
}

async function readAll(b: SimBackend, index: number, groups: readonly ProbeGroup[] = PROBE_GROUPS): Promise<DeviceSample> {
  const out: DeviceSample = {};
  for (const g of groups) Object.assign(out, (await b.read(index, g)).values);
  return out;
}

const nextEvents = (b: SimBackend) =>
  new Promise<AccelEvent[]>((resolve) => {
    const seen: AccelEvent[] = [];
    const off = b.onEvent((e) => seen.push(e));
    setTimeout(() => {
      off();
      resolve(seen);
    }, 20);
  });

describe('sim backend: healthy-8x-h100', () => {
  it('is one up nvidia backend with eight GPUs, identities as NVML reports them', async () => {
    const backends = await opened(load('healthy-8x-h100'));
    expect(backends).toHaveLength(1);
    const [gpu] = backends as [SimBackend];
    expect(gpu.status()).toMatchObject({ kind: 'sim', vendor: 'nvidia', state: 'up', driverVersion: '550.54.15', libraryVersion: '12.550.54.15', libraryPath: 'sim:healthy-8x-h100' });
    expect(gpu.devices().map((d) => d.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(gpu.devices()[0]).toEqual({
      vendor: 'nvidia',
      index: 0,
      uuid: 'GPU-344e1aa0-d0ea-ba06-729f-5261a1d94e06',
      name: 'NVIDIA H100 80GB HBM3',
      pciBusId: '00000000:18:00.0',
      serial: '1654223000',
      arch: '9',
      minor: 0,
    });
    expect(gpu.devices()[7]?.pciBusId).toBe('00000000:DB:00.0');
  });

  it('reads every group in DeviceSample units (mW → W, bytes, mJ kept)', async () => {
    const [gpu] = (await opened(load('healthy-8x-h100'))) as [SimBackend];
    const s = await readAll(gpu, 0);
    expect(s).toMatchObject({
      memoryTotalBytes: 85520809984,
      memoryUsedBytes: 4294967296,
      memoryReservedBytes: 536870912,
      memoryFreeBytes: 80688971776,
      gpuUtilPercent: 37,
      memoryUtilPercent: 21,
      encoderUtilPercent: 0,
      decoderUtilPercent: 0,
      gpuTempC: 41,
      memoryTempC: 39,
      slowdownTempC: 90,
      shutdownTempC: 94,
      powerW: 312.45,
      powerLimitW: 700,
      energyMj: 9876543210,
      graphicsClockMhz: 1755,
      smClockMhz: 1755,
      memClockMhz: 2619,
      maxSmClockMhz: 1980,
      pstate: 0,
      clockEventReasons: 0,
      pcieGen: 5,
      pcieGenMax: 5,
      pcieWidth: 16,
      pcieWidthMax: 16,
      pcieTxKBps: 51200,
      pcieRxKBps: 102400,
      pcieReplayCount: 0,
      eccEnabled: true,
      eccSbeVolatile: 0,
      eccDbeVolatile: 0,
      eccSbeAggregate: 0,
      eccDbeAggregate: 0,
      eccSramUncorrectedVolatile: 0,
      eccDramUncorrectedVolatile: 0,
      eccDramCorrectedVolatile: 0,
      retiredPagesSbe: 0,
      retiredPagesDbe: 0,
      retiredPagesPending: false,
      remappedRowsCorrectable: 0,
      remappedRowsUncorrectable: 0,
      remapPending: false,
      remapFailure: false,
      recoveryAction: 0,
      processes: [{ pid: 4242, usedMemoryBytes: 4294967296 }],
    });
    expect(s.nvlinks).toHaveLength(18);
    expect(s.nvlinks?.[17]).toEqual({ link: 17, active: true, crcFlitErrors: 0, crcDataErrors: 0, replayErrors: 0, recoveryErrors: 0 });
    expect((await gpu.read(1, 'processes')).values.processes).toEqual([]);
    // Ascend-only group: nothing to read on a GPU, and nothing reported unsupported either.
    expect(await gpu.read(0, 'npu-health')).toEqual({ values: {}, errors: [], unsupported: [] });
  });

  it('queues nothing when the scenario has no XIDs', async () => {
    const [gpu] = (await opened(load('healthy-8x-h100'))) as [SimBackend];
    expect(await nextEvents(gpu)).toEqual([]);
  });
});

describe('sim backend: healthy-8x-ascend910b', () => {
  it('is one up ascend backend indexed by logic id, with NPU uuids and lowercase PCI ids', async () => {
    const [npu] = (await opened(load('healthy-8x-ascend910b'))) as [SimBackend];
    expect(npu.status()).toMatchObject({ kind: 'sim', vendor: 'ascend', state: 'up', driverVersion: '24.1.rc2', libraryVersion: '24.1.rc2' });
    expect(npu.devices()).toHaveLength(8);
    expect(npu.devices()[0]).toEqual({
      vendor: 'ascend',
      index: 0,
      uuid: 'NPU-1a2b3c4d-00010203-04050607-08090a0b-0c0d0e0f',
      name: 'Ascend910B3',
      pciBusId: '00000000:c1:00.0',
      arch: '910B3',
      cardId: 0,
      deviceId: 0,
      phyId: 0,
    });
  });

  it('converts DCMI units: 0.1 W, 0.01 V, HBM MB → bytes; HBM is the device memory', async () => {
    // Same units and field choices as src/accel/dcmi/groups.ts.
    const [npu] = (await opened(load('healthy-8x-ascend910b'))) as [SimBackend];
    const s = await readAll(npu, 0);
    expect(s).toEqual({
      hbmTotalBytes: 68719476736,
      hbmUsedBytes: 3435134976,
      memoryTotalBytes: 68719476736,
      memoryUsedBytes: 3435134976,
      memoryFreeBytes: 68719476736 - 3435134976,
      hbmTempC: 43,
      gpuUtilPercent: 35,
      aicoreUtilPercent: 35,
      gpuTempC: 45,
      powerW: 110.5,
      voltageV: 0.85,
      aicoreFreqMhz: 1800,
      hbmEccSbe: 0,
      hbmEccDbe: 0,
      npuHealth: 0,
      npuFaultCodes: [],
      npuNetworkHealth: 0,
    });
    expect((await npu.read(0, 'utilization')).unsupported).toEqual([]);
    npu.setValue(0, 'utilAicore', undefined);
    npu.setReturn('dcmi_get_device_ecc_info', 0, -8005);
    expect((await npu.read(0, 'utilization')).unsupported).toEqual(['dcmi_get_device_utilization_rate(AICORE)']);
    expect((await npu.read(0, 'ecc')).errors).toEqual([{ api: 'dcmi_get_device_ecc_info(HBM)', code: 'INNER_ERR', value: -8005 }]);
    // NVIDIA-only groups read nothing on an NPU.
    expect(await npu.read(0, 'nvlink')).toEqual({ values: {}, errors: [], unsupported: [] });
  });

  it('reads a DCMI hang at least callTimeout long as CALL_TIMEOUT, as the dcmi backend does, until it would have returned', async () => {
    const scenario = load('healthy-8x-ascend910b');
    const devices = scenario.dcmi!.devices;
    devices[1] = { ...devices[1], hang: { dcmi_get_device_power_info: 60_000 } };
    let now = 1_000_000;
    const [npu] = createSimBackends(scenario, { log: silentLog, callTimeoutMs: 2000, now: () => now }) as [SimBackend];
    await npu.open();
    const stuck = { api: 'dcmi_get_device_power_info', code: 'CALL_TIMEOUT', value: -1, message: 'dcmi_get_device_power_info did not return within 2000 ms' };
    expect((await npu.read(1, 'power')).errors).toEqual([stuck]);
    expect((await npu.read(1, 'thermal')).errors).toEqual([stuck]);
    expect((await npu.read(0, 'power')).values.powerW).toBe(110.5);
    now += 60_000;
    expect((await npu.read(1, 'thermal')).errors).toEqual([]);
  });
});

describe('sim backend: NOT_SUPPORTED, return overrides and control', () => {
  const scenario = (over: Partial<NonNullable<Scenario['nvml']>> = {}): Scenario => ({
    name: 'unit',
    description: 'unit',
    nvml: { devices: [{ uuid: 'GPU-a', name: 'G', pciBusId: '00000000:01:00.0', tempGpu: 50, powerUsageMw: 100000 }, { uuid: 'GPU-b', tempGpu: 60 }], ...over },
  });

  it('leaves fields of absent keys undefined and lists the API as unsupported', async () => {
    const [gpu] = (await opened(scenario())) as [SimBackend];
    const thermal = await gpu.read(0, 'thermal');
    expect(thermal.values).toEqual({ gpuTempC: 50 });
    expect(thermal.errors).toEqual([]);
    expect(thermal.unsupported).toEqual(['nvmlDeviceGetFieldValues(82)', 'nvmlDeviceGetTemperatureThreshold(SLOWDOWN)', 'nvmlDeviceGetTemperatureThreshold(SHUTDOWN)']);
    const power = await gpu.read(1, 'power');
    expect(power.values).toEqual({});
    expect(power.unsupported).toContain('nvmlDeviceGetPowerUsage');
  });

  it('fails an API with the override code: per device over section-wide; 3 means NOT_SUPPORTED', async () => {
    const [gpu] = (await opened(scenario({ returns: { nvmlDeviceGetTemperature: 999 } }))) as [SimBackend];
    expect((await gpu.read(0, 'thermal')).errors).toEqual([{ api: 'nvmlDeviceGetTemperature', code: 'UNKNOWN', value: 999 }]);
    gpu.setReturn('nvmlDeviceGetTemperature', 1, 3);
    const t1 = await gpu.read(1, 'thermal');
    expect(t1.errors).toEqual([]);
    expect(t1.unsupported).toContain('nvmlDeviceGetTemperature');
    expect(t1.values.gpuTempC).toBeUndefined();
    gpu.setReturn('nvmlDeviceGetTemperature', -1, 0);
    expect((await gpu.read(0, 'thermal')).values.gpuTempC).toBe(50);
  });

  it('a failed handle fails every call of the device with that code (GPU lost)', async () => {
    const [gpu] = (await opened(scenario())) as [SimBackend];
    gpu.setReturn('nvmlDeviceGetHandleByIndex_v2', 0, 15);
    const r = await gpu.read(0, 'power');
    expect(r.values).toEqual({});
    // Like the nvml backend, the read stops at the first GPU_IS_LOST: the rest would fail alike.
    expect(r.errors.map((e) => `${e.api}:${e.code}`)).toEqual(['nvmlDeviceGetPowerUsage:GPU_IS_LOST']);
    gpu.setReturn('nvmlDeviceGetHandleByIndex_v2', 0, 999);
    expect((await gpu.read(0, 'power')).errors.map((e) => e.api)).toEqual(['nvmlDeviceGetPowerUsage', 'nvmlDeviceGetEnforcedPowerLimit', 'nvmlDeviceGetTotalEnergyConsumption']);
    expect((await gpu.read(1, 'thermal')).values.gpuTempC).toBe(60);
  });

  it('setValue changes the next read in scenario units; reset restores the scenario', async () => {
    const [gpu] = (await opened(scenario())) as [SimBackend];
    gpu.setValue(0, 'powerUsageMw', 450500);
    gpu.setValue(0, 'tempGpu', undefined);
    expect((await gpu.read(0, 'power')).values.powerW).toBe(450.5);
    expect((await gpu.read(0, 'thermal')).values.gpuTempC).toBeUndefined();
    gpu.setReturn('nvmlDeviceGetPowerUsage', 0, 15);
    gpu.reset();
    expect((await gpu.read(0, 'power')).values.powerW).toBe(100);
    expect((await gpu.read(0, 'thermal')).values.gpuTempC).toBe(50);
    gpu.setValue(-1, 'tempGpu', 95);
    expect([(await gpu.read(0, 'thermal')).values.gpuTempC, (await gpu.read(1, 'thermal')).values.gpuTempC]).toEqual([95, 95]);
    expect(() => gpu.setValue(9, 'tempGpu', 1)).toThrow(expect.objectContaining({ code: 'BRX_ERR_ACCEL_DEVICE_NOT_FOUND' }));
  });

  it('init non-zero fails the backend with the code name and no devices', async () => {
    const [gpu] = (await opened(scenario({ init: 9 }))) as [SimBackend];
    expect(gpu.status()).toMatchObject({ state: 'failed', message: 'nvmlInitWithFlags: DRIVER_NOT_LOADED (9)', error: { api: 'nvmlInitWithFlags', code: 'DRIVER_NOT_LOADED', value: 9 } });
    expect(gpu.devices()).toEqual([]);
    expect(await gpu.read(0, 'power')).toEqual({ values: {}, errors: [], unsupported: [] });
    const dcmi: Scenario = { name: 'u', description: 'u', dcmi: { init: -8005, devices: [{}] } };
    const [npu] = (await opened(dcmi)) as [SimBackend];
    expect(npu.status()).toMatchObject({ vendor: 'ascend', state: 'failed', message: 'dcmi_init: INNER_ERR (-8005)' });
  });

  it('dcmi NOT_SUPPORT (-8255) overrides read as unsupported, other codes as errors', async () => {
    const s: Scenario = { name: 'u', description: 'u', dcmi: { devices: [{ logicId: 4, health: 0, temperature: 40, returns: { dcmi_get_device_health: -8255, dcmi_get_device_temperature: -8008 } }] } };
    const [npu] = (await opened(s)) as [SimBackend];
    expect(npu.devices().map((d) => d.index)).toEqual([4]);
    const h = await npu.read(4, 'npu-health');
    expect(h.unsupported).toEqual(['dcmi_get_device_health', 'dcmi_get_device_errorcode_v2', 'dcmi_get_device_network_health']);
    expect((await npu.read(4, 'thermal')).errors).toEqual([{ api: 'dcmi_get_device_temperature', code: 'DEVICE_NOT_EXIST', value: -8008 }]);
  });

  it('delivers scenario XIDs once, after open, even to a late listener; pushXid likewise', async () => {
    const [gpu] = (await opened(scenario({ xids: [{ device: 1, xid: 79 }] }))) as [SimBackend];
    await new Promise((r) => setTimeout(r, 10));
    const first = await nextEvents(gpu);
    expect(first).toEqual([{ kind: 'xid', index: 1, xid: 79, at: expect.any(Number) }]);
    expect(await nextEvents(gpu)).toEqual([]);
    gpu.pushXid(0, 48);
    expect(await nextEvents(gpu)).toEqual([expect.objectContaining({ kind: 'xid', index: 0, xid: 48 })]);
  });

  it('overriding the event wait call reports an event-error', async () => {
    const [gpu] = (await opened(scenario())) as [SimBackend];
    const seen: AccelEvent[] = [];
    gpu.onEvent((e) => seen.push(e));
    gpu.setReturn(NVML_EVENT_WAIT_API, -1, 999);
    expect(seen).toEqual([{ kind: 'event-error', error: { api: NVML_EVENT_WAIT_API, code: 'UNKNOWN', value: 999 }, at: expect.any(Number) }]);
    await gpu.close();
    gpu.pushXid(0, 79);
    expect(await nextEvents(gpu)).toEqual([]);
  });
});
