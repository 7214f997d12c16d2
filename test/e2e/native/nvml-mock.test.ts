// The native NVML mock (native/build/libnvidia-ml.so.1) through koffi: the ABI the production
// bindings rely on (struct sizes and offsets, strings, 64-bit values, size protocols, return codes),
// and the control ABI. XID events: nvml-events.test.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cString, mockLibrary, scenarioDir, sentinel, shippedScenario, writeScenario } from './mock-lib.js';
import {
  ARGUMENT_VERSION_MISMATCH, DRIVER_NOT_LOADED, GPU_IS_LOST, INSUFFICIENT_SIZE, INVALID_ARGUMENT, NOT_SUPPORTED, SUCCESS, UNINITIALIZED, UNKNOWN, openNvmlMock,
} from './nvml-lib.js';

const lib = mockLibrary('libnvidia-ml.so.1');
const H100 = `${scenarioDir}/healthy-8x-h100.json`;


describe.skipIf(lib.missing !== '')(`native NVML mock${lib.missing}`, () => {
  const { f, u32, handle, shutdownAll, calls } = openNvmlMock(lib.path);

  beforeEach(() => {
    shutdownAll();
    expect(f.load(H100)).toBe(SUCCESS);
    expect(f.init()).toBe(SUCCESS);
  });
  afterAll(() => shutdownAll());

  describe('initialisation', () => {
    it('answers UNINITIALIZED before init and after the last shutdown, and counts init references', () => {
      expect(f.initFlags(1)).toBe(SUCCESS); // second reference
      expect(f.shutdown()).toBe(SUCCESS);
      expect(u32((b) => f.count(b))).toEqual([SUCCESS, 8]);
      expect(f.shutdown()).toBe(SUCCESS);
      expect(u32((b) => f.count(b))[0]).toBe(UNINITIALIZED);
      expect(f.byIndex(0, Buffer.alloc(8))).toBe(UNINITIALIZED);
      expect(f.shutdown()).toBe(UNINITIALIZED);
    });

    it('reads $BRIXLET_MOCK_SCENARIO at init (no variable = a node with zero GPUs)', () => {
      shutdownAll();
      const saved = process.env.BRIXLET_MOCK_SCENARIO;
      try {
        delete process.env.BRIXLET_MOCK_SCENARIO;
        expect(f.load(null)).toBe(SUCCESS);
        expect(f.init()).toBe(SUCCESS);
        expect(u32((b) => f.count(b))).toEqual([SUCCESS, 0]);
        f.shutdown();
        process.env.BRIXLET_MOCK_SCENARIO = H100;
        expect(f.init()).toBe(SUCCESS); // re-read after the shutdown
        expect(u32((b) => f.count(b))).toEqual([SUCCESS, 8]);
      } finally {
        if (saved === undefined) delete process.env.BRIXLET_MOCK_SCENARIO;
        else process.env.BRIXLET_MOCK_SCENARIO = saved;
      }
    });

    it('fails init with 999 and one stderr line naming the problem for an invalid file', () => {
      const bad = writeScenario('bad-key', { name: 'x', description: 'd', nvml: { devices: [{ tempGpu: 'hot' }] } });
      const script = `const k=require('koffi');const l=k.load(${JSON.stringify(lib.path)});` +
        `const init=l.func('int nvmlInit_v2()');const c=l.func('int nvmlDeviceGetCount_v2(void *c)');` +
        `console.log(init(), c(Buffer.alloc(4)))`;
      const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, BRIXLET_MOCK_SCENARIO: bad }, encoding: 'utf8' });
      expect(r.stdout.trim()).toBe(`${UNKNOWN} ${UNINITIALIZED}`);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^brixlet nvml mock: invalid scenario .*bad-key\.json: nvml\.devices\[0\]: tempGpu: expected an integer/)]);
      const missing = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, BRIXLET_MOCK_SCENARIO: '/nonexistent/x.json' }, encoding: 'utf8' });
      expect(missing.stdout.trim()).toBe(`${UNKNOWN} ${UNINITIALIZED}`);
      expect(missing.stderr).toContain('/nonexistent/x.json: No such file or directory');
    });

    it('rejects malformed JSON strictly: trailing commas, comments, leading zeros', () => {
      shutdownAll();
      for (const text of ['{"name":"x","description":"d","nvml":{"devices":[],}}', '{"nvml":{"devices":[]}} // c', '{"nvml":{"init":00,"devices":[]}}', '{"nvml":{"devices":[]}', '']) {
        expect(f.load(writeScenario('malformed', text))).toBe(UNKNOWN);
      }
      expect(f.init()).toBe(UNKNOWN);
    });

    it('returns DRIVER_NOT_LOADED without an nvml section and nvml.init when it is set', () => {
      shutdownAll();
      expect(f.load(`${scenarioDir}/healthy-8x-ascend910b.json`)).toBe(DRIVER_NOT_LOADED);
      expect(f.init()).toBe(DRIVER_NOT_LOADED);
      const failing = { ...shippedScenario('healthy-8x-h100'), nvml: { init: 18, devices: [{}] } };
      expect(f.load(writeScenario('init-18', failing))).toBe(18);
      expect(f.init()).toBe(18);
      expect(u32((b) => f.count(b))[0]).toBe(UNINITIALIZED);
    });

    it('loads every shipped scenario the TypeScript schema accepts (same keys, same ranges)', () => {
      const names = readdirSync(scenarioDir).filter((n) => n.endsWith('.json'));
      for (const n of names) {
        const s = shippedScenario(n.replace(/\.json$/, '')) as { nvml?: { init?: number } };
        expect({ n, rc: f.load(`${scenarioDir}/${n}`) }).toEqual({ n, rc: s.nvml === undefined ? DRIVER_NOT_LOADED : (s.nvml.init ?? SUCCESS) });
      }
    });

    it('names return codes in nvmlErrorString', () => {
      expect(f.errorString(NOT_SUPPORTED)).toBe('Not Supported');
      expect(f.errorString(GPU_IS_LOST)).toBe('GPU is lost');
      expect(f.errorString(UNKNOWN)).toBe('Unknown Error');
    });
  });

  describe('device reads', () => {
    it('gives stable handles, indices and UUID lookup', () => {
      expect(handle(3)).toBe(handle(3));
      expect(u32((b) => f.index(handle(5), b))).toEqual([SUCCESS, 5]);
      const uuid = sentinel(96);
      expect(f.uuid(handle(2), uuid, 96)).toBe(SUCCESS);
      const byUuid = Buffer.alloc(8);
      expect(f.byUuid(cString(uuid), byUuid)).toBe(SUCCESS);
      expect(byUuid.readBigUInt64LE(0)).toBe(handle(2));
      expect(f.byUuid('GPU-nope', byUuid)).toBe(6);
      expect(f.byIndex(8, Buffer.alloc(8))).toBe(INVALID_ARGUMENT);
      expect(f.index(0xdeadbeefn, Buffer.alloc(4))).toBe(INVALID_ARGUMENT);
    });

    it('writes NUL-terminated strings and INSUFFICIENT_SIZE when the buffer is short', () => {
      const b = sentinel(96);
      expect(f.name(handle(0), b, 96)).toBe(SUCCESS);
      expect(cString(b)).toBe('NVIDIA H100 80GB HBM3');
      expect(f.name(handle(0), sentinel(21), 21)).toBe(INSUFFICIENT_SIZE); // 21 chars need 22 bytes
      const v = sentinel(80);
      expect(f.driverVersion(v, 80)).toBe(SUCCESS);
      expect(cString(v)).toBe('550.54.15');
    });

    it('fills nvmlPciInfo_t (68 bytes: legacy id @0, domain/bus/device @16.., busId @36)', () => {
      const b = sentinel(72);
      expect(f.pci(handle(0), b)).toBe(SUCCESS);
      const scenario = shippedScenario('healthy-8x-h100') as { nvml: { devices: { pciBusId: string }[] } };
      const busId = scenario.nvml.devices[0]!.pciBusId;
      expect(cString(b, 36, 32)).toBe(busId);
      expect(cString(b, 0, 16)).toBe(busId.slice(4).toLowerCase());
      expect(b.readUInt32LE(16)).toBe(Number.parseInt(busId.slice(0, 8), 16));
      expect(b.readUInt32LE(20)).toBe(Number.parseInt(busId.slice(9, 11), 16));
      expect(b.readUInt32LE(28)).toBe(590352606);
      expect(b.subarray(68)).toEqual(sentinel(4)); // nothing past the struct
    });

    it('fills nvmlMemory_t (24 B) and checks the nvmlMemory_v2_t version (40 B)', () => {
      const v1 = sentinel(32);
      expect(f.mem(handle(0), v1)).toBe(SUCCESS);
      const total = 85520809984n, used = 4294967296n, reserved = 536870912n;
      expect([v1.readBigUInt64LE(0), v1.readBigUInt64LE(8), v1.readBigUInt64LE(16)]).toEqual([total, total - used - reserved, used + reserved]);
      expect(v1.subarray(24)).toEqual(sentinel(8));
      const v2 = sentinel(48);
      v2.writeUInt32LE(0x01000028, 0);
      expect(f.memV2(handle(0), v2)).toBe(ARGUMENT_VERSION_MISMATCH);
      v2.writeUInt32LE(0x02000028, 0);
      expect(f.memV2(handle(0), v2)).toBe(SUCCESS);
      expect([8, 16, 24, 32].map((o) => v2.readBigUInt64LE(o))).toEqual([total, reserved, total - used - reserved, used]);
      expect(v2.subarray(40)).toEqual(sentinel(8));
    });

    it('keeps 64-bit counters exact above 2^32 and 2^53', () => {
      const e = Buffer.alloc(8);
      expect(f.energy(handle(0), e)).toBe(SUCCESS);
      expect(e.readBigUInt64LE(0)).toBe(9876543210n);
      expect(f.setValue(0, 'energyMj', '18446744073709551615')).toBe(0);
      expect(f.energy(handle(0), e)).toBe(SUCCESS);
      expect(e.readBigUInt64LE(0)).toBe(2n ** 64n - 1n);
      expect(f.setValue(1, 'nvlinkCrcFlit', `[0, ${2n ** 53n + 1n}]`)).toBe(0);
      expect(f.linkErrors(handle(1), 1, 2, e)).toBe(SUCCESS);
      expect(e.readBigUInt64LE(0)).toBe(2n ** 53n + 1n);
      expect(f.setValue(0, 'clockEventReasons', '128')).toBe(0);
      expect(f.reasons(handle(0), e)).toBe(SUCCESS);
      expect(e.readBigUInt64LE(0)).toBe(0x80n);
    });

    it('returns NOT_SUPPORTED for a key the device lacks, INVALID_ARGUMENT for bad enums and NULL', () => {
      expect(f.setValue(4, 'powerUsageMw', 'null')).toBe(0);
      const p = sentinel(4);
      expect(f.power(handle(4), p)).toBe(NOT_SUPPORTED);
      expect(p).toEqual(sentinel(4));
      expect(u32((b) => f.power(handle(3), b))).toEqual([SUCCESS, 312450]);
      expect(u32((b) => f.threshold(handle(0), 1, b))).toEqual([SUCCESS, 90]);
      expect(u32((b) => f.threshold(handle(0), 0, b))).toEqual([SUCCESS, 94]);
      expect(f.temp(handle(0), 1, Buffer.alloc(4))).toBe(INVALID_ARGUMENT);
      expect(f.clock(handle(0), 9, Buffer.alloc(4))).toBe(INVALID_ARGUMENT);
      expect(f.power(handle(0), null)).toBe(INVALID_ARGUMENT);
    });

    it('reads ECC counters per location (DRAM and SRAM keys, 0 elsewhere)', () => {
      expect(f.setValue(2, 'eccDramUncorrectedVolatile', '7')).toBe(0);
      expect(f.setValue(2, 'eccSramUncorrectedVolatile', '5000000000')).toBe(0);
      const n = Buffer.alloc(8);
      expect(f.memErrors(handle(2), 1, 0, 2, n)).toBe(SUCCESS);
      expect(n.readBigUInt64LE(0)).toBe(7n);
      expect(f.memErrors(handle(2), 1, 0, 7, n)).toBe(SUCCESS);
      expect(n.readBigUInt64LE(0)).toBe(5000000000n);
      n.fill(0xff);
      expect(f.memErrors(handle(2), 1, 1, 1, n)).toBe(SUCCESS);
      expect(n.readBigUInt64LE(0)).toBe(0n);
      expect(f.memErrors(handle(2), 1, 0, 8, n)).toBe(INVALID_ARGUMENT);
    });
  });

  describe('size protocols and arrays', () => {
    it('retired pages: INSUFFICIENT_SIZE with the needed count, then deterministic addresses', () => {
      expect(f.setValue(1, 'retiredDbe', '3')).toBe(0);
      const count = Buffer.alloc(4);
      expect(f.retired(handle(1), 1, count, null)).toBe(INSUFFICIENT_SIZE);
      expect(count.readUInt32LE(0)).toBe(3);
      const addrs = Buffer.alloc(8 * 3);
      expect(f.retired(handle(1), 1, count, addrs)).toBe(SUCCESS);
      const first = [0, 8, 16].map((o) => addrs.readBigUInt64LE(o));
      expect(new Set(first).size).toBe(3);
      expect(first.every((a) => a > 0n)).toBe(true);
      expect(f.retired(handle(1), 1, count, addrs)).toBe(SUCCESS);
      expect([0, 8, 16].map((o) => addrs.readBigUInt64LE(o))).toEqual(first);
      count.writeUInt32LE(10, 0); // larger than needed: set to the real count
      expect(f.retired(handle(1), 0, count, Buffer.alloc(80))).toBe(SUCCESS);
      expect(count.readUInt32LE(0)).toBe(0);
    });

    it('remapped rows: four out-params from four keys', () => {
      f.setValue(6, 'remappedUncorrectable', '2');
      f.setValue(6, 'remapFailure', 'true');
      const out = [0, 1, 2, 3].map(() => sentinel(4));
      expect(f.remapped(handle(6), out[0], out[1], out[2], out[3])).toBe(SUCCESS);
      expect(out.map((b) => b.readUInt32LE(0))).toEqual([0, 2, 0, 1]);
    });

    it('compute processes v3: 32-byte entries, INSUFFICIENT_SIZE with the count when too small', () => {
      expect(f.setValue(0, 'processes', '[{"pid": 4242, "usedMemory": 5368709120}, {"pid": 7, "usedMemory": 1}]')).toBe(0);
      const count = Buffer.alloc(4);
      expect(f.procs(handle(0), count, null)).toBe(INSUFFICIENT_SIZE);
      expect(count.readUInt32LE(0)).toBe(2);
      const infos = sentinel(32 * 2 + 8);
      expect(f.procs(handle(0), count, infos)).toBe(SUCCESS);
      expect([infos.readUInt32LE(0), infos.readBigUInt64LE(8), infos.readUInt32LE(16), infos.readUInt32LE(20), infos.readBigUInt64LE(24)]).toEqual([4242, 5368709120n, 0xffffffff, 0xffffffff, 0n]);
      expect([infos.readUInt32LE(32), infos.readBigUInt64LE(40)]).toEqual([7, 1n]);
      expect(infos.subarray(64)).toEqual(sentinel(8));
    });

    it('field values: 40-byte entries, per-entry NOT_SUPPORTED, recovery action as UINT', () => {
      expect(f.setValue(3, 'recoveryAction', '2')).toBe(0);
      const ids = [230, 82, 91, 94, 143, 4242];
      const b = Buffer.alloc(40 * ids.length);
      ids.forEach((id, i) => b.writeUInt32LE(id, i * 40));
      expect(f.fields(handle(3), ids.length, b)).toBe(SUCCESS);
      const entry = (i: number) => ({ id: b.readUInt32LE(i * 40), type: b.readUInt32LE(i * 40 + 24), rc: b.readInt32LE(i * 40 + 28), ui: b.readUInt32LE(i * 40 + 32) });
      expect(entry(0)).toEqual({ id: 230, type: 1, rc: SUCCESS, ui: 2 });
      expect(entry(1)).toMatchObject({ rc: SUCCESS, ui: 39 });
      expect(entry(2)).toMatchObject({ rc: SUCCESS, ui: 18 });
      expect(entry(3)).toMatchObject({ rc: SUCCESS, type: 3 });
      expect(entry(4)).toMatchObject({ rc: SUCCESS, ui: 0 });
      expect(entry(5)).toMatchObject({ id: 4242, rc: NOT_SUPPORTED });
      expect(Number(b.readBigInt64LE(8))).toBeGreaterThan(Date.now() * 1000 - 60e6); // timestamp in µs
    });

    it('NVLink: INVALID_ARGUMENT past the link count, NOT_SUPPORTED without NVLink keys', () => {
      expect(f.setValue(0, 'nvlinkActive', '[true, false, true]')).toBe(0);
      expect(u32((b) => f.linkState(handle(0), 1, b))).toEqual([SUCCESS, 0]);
      expect(u32((b) => f.linkState(handle(0), 2, b))).toEqual([SUCCESS, 1]);
      expect(f.linkState(handle(0), 3, Buffer.alloc(4))).toBe(INVALID_ARGUMENT);
      expect(f.setValue(0, 'nvlinkActive', 'null')).toBe(0);
      expect(f.linkState(handle(0), 0, Buffer.alloc(4))).toBe(NOT_SUPPORTED);
    });
  });

  describe('return overrides', () => {
    it('per device and global, device first, out-params untouched, 0 clears', () => {
      expect(f.setReturn('nvmlDeviceGetTemperature', 2, GPU_IS_LOST)).toBe(0);
      const t = sentinel(4);
      expect(f.temp(handle(2), 0, t)).toBe(GPU_IS_LOST);
      expect(t).toEqual(sentinel(4));
      expect(u32((b) => f.temp(handle(1), 0, b))).toEqual([SUCCESS, 41]);
      expect(f.setReturn('nvmlDeviceGetTemperature', -1, NOT_SUPPORTED)).toBe(0);
      expect(f.temp(handle(1), 0, t)).toBe(NOT_SUPPORTED);
      expect(f.temp(handle(2), 0, t)).toBe(GPU_IS_LOST);
      expect(f.setReturn('nvmlDeviceGetTemperature', -1, 0)).toBe(0);
      expect(f.setReturn('nvmlDeviceGetTemperature', 2, 0)).toBe(0);
      expect(f.temp(handle(2), 0, t)).toBe(SUCCESS);
      expect(f.setReturn('nvmlDeviceGetTemperature', 8, 3)).toBe(-1);
    });

    it('from the scenario: defaults and device returns merge, global returns apply to every call', () => {
      shutdownAll();
      const s = {
        name: 'x', description: 'd',
        nvml: {
          returns: { nvmlSystemGetDriverVersion: 13 },
          defaults: { tempGpu: 40, powerUsageMw: 1000, returns: { nvmlDeviceGetPowerUsage: 3 } },
          devices: [{}, { returns: { nvmlDeviceGetHandleByIndex_v2: GPU_IS_LOST } }],
        },
      };
      expect(f.load(writeScenario('returns', s))).toBe(SUCCESS);
      expect(f.init()).toBe(SUCCESS);
      expect(f.driverVersion(Buffer.alloc(80), 80)).toBe(13);
      expect(f.byIndex(1, Buffer.alloc(8))).toBe(GPU_IS_LOST);
      expect(f.power(handle(0), Buffer.alloc(4))).toBe(NOT_SUPPORTED);
      expect(u32((b) => f.temp(handle(0), 0, b))).toEqual([SUCCESS, 40]);
    });
  });

  describe('control ABI', () => {
    it('counts calls per function and in total; reset clears counts, values and overrides', () => {
      const before = calls(null);
      for (let i = 0; i < 3; i++) f.power(handle(0), Buffer.alloc(4));
      expect(calls('nvmlDeviceGetPowerUsage')).toBe(3);
      expect(calls(null)).toBe(before + 6); // three handle lookups and three reads
      f.setValue(0, 'tempGpu', '95');
      f.setReturn('nvmlDeviceGetPowerUsage', -1, 15);
      f.reset();
      expect(calls('nvmlDeviceGetPowerUsage')).toBe(0);
      expect(u32((b) => f.temp(handle(0), 0, b))).toEqual([SUCCESS, 41]);
      expect(u32((b) => f.power(handle(0), b))).toEqual([SUCCESS, 312450]);
    });

    it('rejects unknown keys, bad JSON and wrong types in set_value', () => {
      expect(f.setValue(0, 'colour', '"red"')).toBe(-1);
      expect(f.setValue(0, 'tempGpu', '9x')).toBe(-1);
      expect(f.setValue(0, 'tempGpu', '"95"')).toBe(-1);
      expect(f.setValue(0, 'utilGpu', '101')).toBe(-1);
      expect(f.setValue(0, 'nvlinkActive', '[1]')).toBe(-1);
      expect(f.setValue(99, 'tempGpu', '1')).toBe(-1);
      expect(f.setValue(-1, 'tempGpu', '77')).toBe(0);
      expect(u32((b) => f.temp(handle(7), 0, b))).toEqual([SUCCESS, 77]);
    });

    it('stays consistent while worker threads read and the main thread writes', async () => {
      const reads = Array.from({ length: 200 }, (_, i) =>
        new Promise<number>((resolve, reject) => {
          const b = Buffer.alloc(4);
          f.temp.async(handle(i % 8), 0, b, (err: unknown, rc: number) => (err ? reject(err) : resolve(rc === SUCCESS ? b.readUInt32LE(0) : -rc)));
        }),
      );
      for (let i = 0; i < 200; i++) f.setValue(-1, 'tempGpu', String(50 + (i % 2)));
      const values = await Promise.all(reads);
      expect(values.every((v) => v === 41 || v === 50 || v === 51)).toBe(true);
    });
  });
});
