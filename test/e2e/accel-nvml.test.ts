// The production NVML backend, through koffi, against the native mock libnvidia-ml.so.1: struct
// layouts, strings, 64-bit counters, NOT_SUPPORTED memory, error mapping and the events thread.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NvmlBackend } from '../../src/accel/nvml/backend.js';
import type * as NvmlIndex from '../../src/accel/nvml/index.js';
import { expandDevices, loadScenarioFile, type NvmlDeviceSpec } from '../../src/accel/scenario.js';
import type { AccelEvent, DeviceSample, ProbeGroup } from '../../src/accel/types.js';
import { silentLog } from '../helpers/apps.js';
import { repoRoot } from '../helpers/repo.js';
import { buildNativeMock, mockControl } from './accel-mock.js';

const LIB = join(repoRoot, 'native/build/libnvidia-ml.so.1');
const SCENARIO = join(repoRoot, 'mocks/scenarios/healthy-8x-h100.json');
const DIST = join(repoRoot, 'dist/accel/nvml/index.js');

const available = buildNativeMock('libnvidia-ml.so.1');
if (!available) console.warn(`skipping NVML e2e: ${LIB} could not be built`);

/** The mock's control ABI, plus XID injection and an init reference of the test's own. */
function control() {
  const base = mockControl(LIB, 'nvml');
  return {
    ...base,
    pushXid: base.lib.func('int brixlet_nvml_mock_push_xid(int device, unsigned long long xid)') as (device: number, xid: number) => number,
    // An extra init reference keeps the mock's state (overrides included) across the backend's own init.
    init: base.lib.func('int nvmlInit_v2(void)') as () => number,
    shutdown: base.lib.func('int nvmlShutdown(void)') as () => number,
  };
}

/** A first nvmlInit reloads the scenario and clears overrides: control changes go after open(). */
/** What the backend must read for a scenario device, group by group. */
function expected(d: NvmlDeviceSpec): Partial<Record<ProbeGroup, DeviceSample>> {
  const total = d.memoryTotal!;
  return {
    memory: { memoryTotalBytes: total, memoryUsedBytes: d.memoryUsed!, memoryReservedBytes: d.memoryReserved!, memoryFreeBytes: total - d.memoryUsed! - d.memoryReserved! },
    utilization: { gpuUtilPercent: d.utilGpu!, memoryUtilPercent: d.utilMemory!, encoderUtilPercent: d.utilEncoder!, decoderUtilPercent: d.utilDecoder! },
    thermal: { gpuTempC: d.tempGpu!, memoryTempC: d.tempMemory!, slowdownTempC: d.tempSlowdown!, shutdownTempC: d.tempShutdown! },
    power: { powerW: d.powerUsageMw! / 1000, powerLimitW: d.powerLimitMw! / 1000, energyMj: d.energyMj! },
    clocks: { graphicsClockMhz: d.clockGraphics!, smClockMhz: d.clockSm!, memClockMhz: d.clockMem!, maxSmClockMhz: d.maxClockSm!, pstate: d.pstate!, clockEventReasons: d.clockEventReasons! },
    pcie: { pcieGen: d.pcieGen!, pcieGenMax: d.pcieGenMax!, pcieWidth: d.pcieWidth!, pcieWidthMax: d.pcieWidthMax!, pcieTxKBps: d.pcieTxKBps!, pcieRxKBps: d.pcieRxKBps!, pcieReplayCount: d.pcieReplay! },
    ecc: {
      eccEnabled: d.eccEnabled!,
      eccSbeVolatile: d.eccSbeVolatile!,
      eccDbeVolatile: d.eccDbeVolatile!,
      eccSbeAggregate: d.eccSbeAggregate!,
      eccDbeAggregate: d.eccDbeAggregate!,
      eccSramUncorrectedVolatile: d.eccSramUncorrectedVolatile!,
      eccDramUncorrectedVolatile: d.eccDramUncorrectedVolatile!,
      eccDramCorrectedVolatile: d.eccDramCorrectedVolatile!,
    },
    retirement: {
      retiredPagesSbe: d.retiredSbe!,
      retiredPagesDbe: d.retiredDbe!,
      retiredPagesPending: d.retiredPending!,
      remappedRowsCorrectable: d.remappedCorrectable!,
      remappedRowsUncorrectable: d.remappedUncorrectable!,
      remapPending: d.remapPending!,
      remapFailure: d.remapFailure!,
    },
    nvlink: {
      nvlinks: d.nvlinkActive!.map((active, link) => ({
        link,
        active,
        crcFlitErrors: d.nvlinkCrcFlit![link]!,
        crcDataErrors: d.nvlinkCrcData![link]!,
        replayErrors: d.nvlinkReplay![link]!,
        recoveryErrors: d.nvlinkRecovery![link]!,
      })),
    },
    recovery: { recoveryAction: d.recoveryAction! },
    processes: { processes: d.processes!.map((p) => ({ pid: p.pid, usedMemoryBytes: p.usedMemory })) },
    'npu-health': {},
  };
}

describe.runIf(available)('NVML backend against the native mock', () => {
  let mock: ReturnType<typeof control>;
  let backend: NvmlBackend | undefined;
  const open = async (library = LIB) => {
    backend = new NvmlBackend({ library, log: silentLog, env: {}, eventWaitMs: 100 });
    return backend.open();
  };

  beforeAll(() => {
    process.env.BRIXLET_MOCK_SCENARIO = SCENARIO;
    mock = control();
  });
  beforeEach(() => {
    expect(mock.load(SCENARIO)).toBe(0);
    mock.reset();
  });
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
  });

  it('reads the identity, versions and every group of healthy-8x-h100 as the scenario says', async () => {
    const scenario = loadScenarioFile(SCENARIO);
    const specs = expandDevices(scenario.nvml!.defaults, scenario.nvml!.devices);
    expect(await open()).toEqual({ kind: 'nvml', vendor: 'nvidia', state: 'up', libraryPath: LIB, driverVersion: '550.54.15', libraryVersion: '12.550.54.15' });
    expect(backend!.devices()).toEqual(
      specs.map((d, index) => ({ vendor: 'nvidia', index, uuid: d.uuid, name: 'NVIDIA H100 80GB HBM3', pciBusId: d.pciBusId, serial: d.serial, arch: '9', minor: d.minor })),
    );
    for (const [index, spec] of specs.entries()) {
      for (const [group, values] of Object.entries(expected(spec)) as [ProbeGroup, DeviceSample][]) {
        expect(await backend!.read(index, group), `GPU ${index} ${group}`).toEqual({ values, errors: [], unsupported: [] });
      }
    }
  });

  it('omits a NOT_SUPPORTED field, lists the api, and never calls it again on that GPU', async () => {
    await open();
    mock.setReturn('nvmlDeviceGetPowerUsage', 2, 3);
    const first = await backend!.read(2, 'power');
    expect(first.values).toEqual({ powerLimitW: 700, energyMj: 9876543210 });
    expect(first.unsupported).toEqual(['nvmlDeviceGetPowerUsage']);
    expect(first.errors).toEqual([]);
    const calls = Number(mock.calls('nvmlDeviceGetPowerUsage'));
    for (let i = 0; i < 3; i++) expect((await backend!.read(2, 'power')).unsupported).toEqual(['nvmlDeviceGetPowerUsage']);
    expect(Number(mock.calls('nvmlDeviceGetPowerUsage'))).toBe(calls);
    expect((await backend!.read(3, 'power')).values.powerW).toBe(312.45);
  });

  it('answers a call that hangs as CALL_TIMEOUT, skips that GPU until it returns, and stops calling at two stuck calls', async () => {
    backend = new NvmlBackend({ library: LIB, log: silentLog, env: {}, eventWaitMs: 100, callTimeoutMs: 200 });
    await backend.open();
    // The e2e setup builds dist/: the sources under test run their reads in its compiled read thread.
    expect(backend.readMode).toBe('thread');
    expect(mock.setValue(1, 'hang', '{"nvmlDeviceGetPowerUsage": 600000}')).toBe(0);
    const stuck = { api: 'nvmlDeviceGetPowerUsage', code: 'CALL_TIMEOUT', value: -1, message: 'nvmlDeviceGetPowerUsage did not return within 200 ms' };
    expect((await backend.read(1, 'power')).errors).toEqual([stuck]);
    // The GPU is not called again while its call is stuck; the other GPUs are read as usual.
    const temperatureCalls = Number(mock.calls('nvmlDeviceGetTemperature'));
    expect(await backend.read(1, 'thermal')).toEqual({ values: {}, errors: [stuck], unsupported: [] });
    expect(Number(mock.calls('nvmlDeviceGetTemperature'))).toBe(temperatureCalls);
    expect((await backend.read(0, 'power')).values.powerW).toBe(312.45);
    // A second stuck call: no NVML call is made at all (each holds a libuv pool thread).
    expect(mock.setValue(2, 'hang', '{"nvmlDeviceGetPowerUsage": 600000}')).toBe(0);
    expect((await backend.read(2, 'power')).errors).toEqual([{ ...stuck }]);
    expect((await backend.read(0, 'power')).errors).toEqual([
      {
        api: 'nvml',
        code: 'CALL_TIMEOUT',
        value: -1,
        message: 'NVML calls suspended: nvmlDeviceGetPowerUsage on GPU 1, nvmlDeviceGetPowerUsage on GPU 2 did not return',
      },
    ]);
    // A reset ends the mock's hangs: once the calls return, every GPU is read again.
    mock.reset();
    await vi.waitFor(async () => expect((await backend!.read(1, 'power')).values.powerW).toBe(312.45), { timeout: 10_000 });
    expect((await backend.read(0, 'power')).errors).toEqual([]);
  });

  it('remembers a field value the GPU does not support (scenario key removed)', async () => {
    await open();
    expect(mock.setValue(1, 'tempMemory', 'null')).toBe(0);
    expect(mock.setValue(1, 'recoveryAction', 'null')).toBe(0);
    const thermal = await backend!.read(1, 'thermal');
    expect(thermal.values).toEqual({ gpuTempC: 41, slowdownTempC: 90, shutdownTempC: 94 });
    expect(thermal.unsupported).toEqual(['nvmlDeviceGetFieldValues(82)']);
    expect(await backend!.read(1, 'recovery')).toEqual({ values: {}, errors: [], unsupported: ['nvmlDeviceGetFieldValues(230)'] });
    expect((await backend!.read(0, 'thermal')).values.memoryTempC).toBe(39);
  });

  it('falls back to nvmlDeviceGetMemoryInfo when the v2 call is refused', async () => {
    await open();
    mock.setReturn('nvmlDeviceGetMemoryInfo_v2', -1, 25);
    const read = await backend!.read(0, 'memory');
    expect(read).toEqual({ values: { memoryTotalBytes: 85520809984, memoryFreeBytes: 80688971776, memoryUsedBytes: 4831838208 }, errors: [], unsupported: [] });
  });

  it('reads 64-bit counters above 2^32 without truncation', async () => {
    await open();
    mock.setValue(0, 'energyMj', '1099511627781');
    mock.setValue(0, 'eccDbeAggregate', '4294967301');
    mock.setValue(0, 'clockEventReasons', '136');
    expect((await backend!.read(0, 'power')).values.energyMj).toBe(1099511627781);
    expect((await backend!.read(0, 'ecc')).values.eccDbeAggregate).toBe(4294967301);
    expect((await backend!.read(0, 'clocks')).values.clockEventReasons).toBe(0x88);
  });

  it('counts NVLinks by probing link states when field 91 is not available', async () => {
    await open();
    mock.setReturn('nvmlDeviceGetFieldValues', 7, 3);
    mock.setValue(7, 'nvlinkActive', '[true,false,true]');
    mock.setValue(7, 'nvlinkCrcFlit', '[0,12,0]');
    const read = await backend!.read(7, 'nvlink');
    expect(read.values.nvlinks?.map((l) => [l.link, l.active, l.crcFlitErrors])).toEqual([
      [0, true, 0],
      [1, false, 12],
      [2, true, 0],
    ]);
    expect(read.unsupported).toEqual(['nvmlDeviceGetFieldValues(91)']);
    expect(read.errors).toEqual([]);
  });

  it('reports a GPU without NVLink as not supported, not as zero links', async () => {
    await open();
    for (const key of ['nvlinkActive', 'nvlinkCrcFlit', 'nvlinkCrcData', 'nvlinkReplay', 'nvlinkRecovery']) mock.setValue(6, key, 'null');
    const read = await backend!.read(6, 'nvlink');
    expect(read).toEqual({ values: {}, errors: [], unsupported: ['nvmlDeviceGetFieldValues(91)', 'nvmlDeviceGetNvLinkState'] });
    const states = Number(mock.calls('nvmlDeviceGetNvLinkState'));
    await backend!.read(6, 'nvlink');
    expect(Number(mock.calls('nvmlDeviceGetNvLinkState'))).toBe(states);
  });

  it('counts retired pages through the size probe', async () => {
    await open();
    mock.setValue(0, 'retiredDbe', '3');
    mock.setValue(0, 'retiredPending', 'true');
    const read = await backend!.read(0, 'retirement');
    expect(read.values).toMatchObject({ retiredPagesSbe: 0, retiredPagesDbe: 3, retiredPagesPending: true });
    expect(read.errors).toEqual([]);
  });

  it.each([
    [9, 'DRIVER_NOT_LOADED'],
    [12, 'LIBRARY_NOT_FOUND'],
    [18, 'LIB_RM_VERSION_MISMATCH'],
  ])('init returning %i (scenario nvml.init) is failed with the named error', async (code, name) => {
    const path = join(mkdtempSync(join(tmpdir(), 'brixlet-nvml-')), `init-${code}.json`);
    writeFileSync(path, JSON.stringify({ name: `init-${code}`, description: 'init fails', nvml: { init: code, devices: [{}] } }));
    expect(mock.load(path)).toBe(code);
    const status = await open();
    expect(status).toMatchObject({ state: 'failed', message: `nvmlInitWithFlags: ${name} (${code})`, error: { api: 'nvmlInitWithFlags', code: name, value: code }, libraryPath: LIB });
    expect(backend!.devices()).toEqual([]);
    expect(await backend!.read(0, 'memory')).toEqual({ values: {}, errors: [], unsupported: [] });
    await backend!.close();
    expect(Number(mock.calls('nvmlShutdown'))).toBe(0);
  });

  it('is absent when the configured library does not exist', async () => {
    expect(await open('/nonexistent/libnvidia-ml.so.1')).toMatchObject({ state: 'absent', message: expect.stringContaining('/nonexistent/libnvidia-ml.so.1') });
  });

  it('records GPU_IS_LOST as an error and stops calling that GPU for the rest of the read', async () => {
    await open();
    mock.setReturn('nvmlDeviceGetTemperature', 5, 15);
    const read = await backend!.read(5, 'thermal');
    expect(read).toEqual({ values: {}, errors: [{ api: 'nvmlDeviceGetTemperature', code: 'GPU_IS_LOST', value: 15 }], unsupported: [] });
    expect(Number(mock.calls('nvmlDeviceGetTemperatureThreshold'))).toBe(0);
    expect((await backend!.read(4, 'thermal')).errors).toEqual([]);
  });

  it('keeps a GPU whose handle is lost at start, reports it on every read and recovers when it is back', async () => {
    expect(mock.init()).toBe(0);
    mock.setReturn('nvmlDeviceGetHandleByIndex_v2', 3, 15);
    await open();
    mock.shutdown();
    expect(backend!.devices()).toHaveLength(8);
    expect(backend!.devices()[3]).toEqual({ vendor: 'nvidia', index: 3, uuid: '', name: '', pciBusId: '' });
    expect(await backend!.read(3, 'memory')).toEqual({ values: {}, errors: [{ api: 'nvmlDeviceGetHandleByIndex_v2', code: 'GPU_IS_LOST', value: 15 }], unsupported: [] });
    mock.setReturn('nvmlDeviceGetHandleByIndex_v2', 3, 0);
    expect((await backend!.read(3, 'memory')).values.memoryTotalBytes).toBe(85520809984);
    expect(backend!.devices()[3]).toMatchObject({ uuid: 'GPU-a82870e4-4f56-2317-3807-fad5699c7e11', pciBusId: '00000000:5D:00.0' });
  });

  it('rejects a read of a GPU index it does not have', async () => {
    await open();
    await expect(backend!.read(8, 'memory')).rejects.toMatchObject({ code: 'BRX_ERR_ACCEL_DEVICE_NOT_FOUND' });
  });

  it('delivers a pushed XID exactly once, from the events thread, even past a throwing listener', async () => {
    await open();
    const events: AccelEvent[] = [];
    backend!.onEvent(() => {
      throw new Error('listener bug');
    });
    backend!.onEvent((e) => events.push(e));
    await backend!.eventsReady();
    const before = Date.now();
    expect(mock.pushXid(4, 79)).toBe(0);
    await expect.poll(() => events.length, { timeout: 10_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(events).toEqual([{ kind: 'xid', index: 4, xid: 79, at: expect.any(Number) }]);
    expect((events[0] as { at: number }).at).toBeGreaterThanOrEqual(before);
  });

  it('reports an event wait failure once as event-error and stops waiting', async () => {
    await open();
    const events: AccelEvent[] = [];
    backend!.onEvent((e) => events.push(e));
    await backend!.eventsReady();
    mock.setReturn('nvmlEventSetWait_v2', -1, 999);
    await expect.poll(() => events.length, { timeout: 10_000 }).toBe(1);
    expect(events[0]).toEqual({ kind: 'event-error', error: { api: 'nvmlEventSetWait_v2', code: 'UNKNOWN', value: 999 }, at: expect.any(Number) });
    const waits = Number(mock.calls('nvmlEventSetWait_v2'));
    await new Promise((r) => setTimeout(r, 300));
    expect(Number(mock.calls('nvmlEventSetWait_v2'))).toBe(waits);
  });

  it('close stops the events thread and shuts NVML down', async () => {
    await open();
    backend!.onEvent(() => undefined);
    await backend!.eventsReady();
    // The events thread blocks in nvmlEventSetWait_v2: close returning at all proves it was woken.
    await backend!.close();
    expect(Number(mock.calls('nvmlShutdown'))).toBe(1);
    expect(await backend!.read(0, 'memory')).toEqual({ values: {}, errors: [], unsupported: [] });
    const waits = Number(mock.calls('nvmlEventSetWait_v2'));
    await new Promise((r) => setTimeout(r, 300));
    expect(Number(mock.calls('nvmlEventSetWait_v2'))).toBe(waits);
  });

  // What the agent runs: the compiled backend reads in its read thread (synchronous calls in a worker).
  it.skipIf(!existsSync(DIST))('the compiled backend reads in its NVML read thread; a hang there makes only that GPU time out until it returns', async () => {
    const { createNvmlBackend } = (await import(DIST)) as typeof NvmlIndex;
    const compiled = createNvmlBackend({ library: LIB, log: silentLog, env: {}, eventWaitMs: 100, callTimeoutMs: 200 }) as NvmlBackend;
    try {
      expect((await compiled.open()).state).toBe('up');
      expect(compiled.readMode).toBe('thread');
      const gpus = [0, 1, 2, 3, 4, 5, 6, 7];
      expect((await Promise.all(gpus.map((i) => compiled.read(i, 'power')))).map((r) => r.values.powerW)).toEqual(gpus.map(() => 312.45));
      expect(mock.setValue(1, 'hang', '{"nvmlDeviceGetPowerUsage": 600000}')).toBe(0);
      // One batch for all GPUs: GPU 1's call hangs in the thread, the rest are re-read by a fresh one.
      const reads = await Promise.all(gpus.map((i) => compiled.read(i, 'power')));
      expect(reads[1]).toEqual({
        values: {},
        errors: [{ api: 'nvmlDeviceGetPowerUsage', code: 'CALL_TIMEOUT', value: -1, message: 'nvmlDeviceGetPowerUsage did not return within 200 ms' }],
        unsupported: [],
      });
      for (const i of gpus.filter((g) => g !== 1)) expect(reads[i], `GPU ${i}`).toEqual({ values: { powerW: 312.45, powerLimitW: 700, energyMj: 9876543210 }, errors: [], unsupported: [] });
      expect(compiled.readMode).toBe('thread');
      // The call returns (a reset ends the mock's hang): its thread is let go and GPU 1 is read again.
      mock.reset();
      await vi.waitFor(async () => expect((await compiled.read(1, 'power')).values.powerW).toBe(312.45), { timeout: 10_000 });
      expect((await compiled.read(1, 'thermal')).errors).toEqual([]);
    } finally {
      await compiled.close();
    }
  });

  // The events thread ships its body as source text; this proves that works from compiled output too.
  it.skipIf(!existsSync(DIST))('the compiled backend in dist/ delivers XIDs from its events thread', async () => {
    const { createNvmlBackend } = (await import(DIST)) as typeof NvmlIndex;
    const compiled = createNvmlBackend({ library: LIB, log: silentLog, env: {}, eventWaitMs: 100 });
    try {
      expect((await compiled.open()).state).toBe('up');
      const events: AccelEvent[] = [];
      compiled.onEvent((e) => events.push(e));
      await (compiled as NvmlBackend).eventsReady();
      mock.pushXid(6, 48);
      await expect.poll(() => events, { timeout: 10_000 }).toEqual([{ kind: 'xid', index: 6, xid: 48, at: expect.any(Number) }]);
    } finally {
      await compiled.close();
    }
  });
});
