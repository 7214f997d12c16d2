// The native DCMI mock (native/build/libdcmi.so) through koffi: card topology, struct layouts,
// unsigned fault codes, DCMI return codes and the control ABI.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import koffi from 'koffi';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cString, mockLibrary, scenarioDir, sentinel, shippedScenario, writeScenario } from './mock-lib.js';

const lib = mockLibrary('libdcmi.so');
const ASCEND = `${scenarioDir}/healthy-8x-ascend910b.json`;

const OK = 0, INVALID_PARAMETER = -8001, INNER = -8005, INVALID_DEVICE = -8007, NOT_EXIST = -8008, NOT_SUPPORT = -8255;

describe.skipIf(lib.missing !== '')(`native DCMI mock${lib.missing}`, () => {
  const l = koffi.load(lib.path);
  const f = {
    init: l.func('int dcmi_init()'),
    driverVersion: l.func('int dcmi_get_driver_version(void *buf, uint32_t len)'),
    cardList: l.func('int dcmi_get_card_list(void *num, void *list, int len)'),
    numInCard: l.func('int dcmi_get_device_num_in_card(int card, void *num)'),
    idInCard: l.func('int dcmi_get_device_id_in_card(int card, void *max, void *mcu, void *cpu)'),
    logicId: l.func('int dcmi_get_device_logic_id(void *logic, int card, int device)'),
    phyId: l.func('int dcmi_get_device_phyid_from_logicid(uint32_t logic, void *phy)'),
    chipInfo: l.func('int dcmi_get_device_chip_info(int card, int device, void *info)'),
    pcie: l.func('int dcmi_get_device_pcie_info_v2(int card, int device, void *info)'),
    die: l.func('int dcmi_get_device_die_v2(int card, int device, int type, void *die)'),
    health: l.func('int dcmi_get_device_health(int card, int device, void *health)'),
    errorCodes: l.func('int dcmi_get_device_errorcode_v2(int card, int device, void *count, void *list, uint32_t len)'),
    errorString: l.func('int dcmi_get_device_errorcode_string(int card, int device, uint32_t code, void *buf, int size)'),
    temp: l.func('int dcmi_get_device_temperature(int card, int device, void *temp)'),
    power: l.func('int dcmi_get_device_power_info(int card, int device, void *power)'),
    voltage: l.func('int dcmi_get_device_voltage(int card, int device, void *voltage)'),
    freq: l.func('int dcmi_get_device_frequency(int card, int device, int type, void *mhz)'),
    hbm: l.func('int dcmi_get_device_hbm_info(int card, int device, void *info)'),
    util: l.func('int dcmi_get_device_utilization_rate(int card, int device, int type, void *rate)'),
    ecc: l.func('int dcmi_get_device_ecc_info(int card, int device, int type, void *info)'),
    network: l.func('int dcmi_get_device_network_health(int card, int device, void *result)'),
    load: l.func('int brixlet_dcmi_mock_load(const char *path)'),
    setReturn: l.func('int brixlet_dcmi_mock_set_return(const char *fn, int device, int code)'),
    setValue: l.func('int brixlet_dcmi_mock_set_value(int device, const char *key, const char *json)'),
    reset: l.func('void brixlet_dcmi_mock_reset()'),
    calls: l.func('uint64_t brixlet_dcmi_mock_call_count(const char *fn)'),
  };
  const i32 = (call: (out: Buffer) => number): [number, number] => {
    const b = sentinel(4);
    return [call(b), b.readInt32LE(0)];
  };
  const u32 = (call: (out: Buffer) => number): [number, number] => {
    const b = sentinel(4);
    return [call(b), b.readUInt32LE(0)];
  };

  beforeAll(() => {
    // Before the first dcmi_init every call is the documented "not initialised" inner error.
    expect(i32((b) => f.temp(0, 0, b))[0]).toBe(INNER);
  });
  beforeEach(() => {
    expect(f.load(ASCEND)).toBe(OK);
    expect(f.init()).toBe(OK);
  });

  describe('initialisation', () => {
    it('returns -8008 without a dcmi section, dcmi.init when set, -8005 with a stderr line for a bad file', () => {
      expect(f.load(`${scenarioDir}/healthy-8x-h100.json`)).toBe(NOT_EXIST);
      expect(f.init()).toBe(NOT_EXIST);
      expect(f.load(writeScenario('dcmi-init', { name: 'x', description: 'd', dcmi: { init: INNER, devices: [] } }))).toBe(INNER);
      expect(f.init()).toBe(INNER);
      expect(i32((b) => f.temp(0, 0, b))[0]).toBe(INNER);
      const bad = writeScenario('dcmi-bad', { name: 'x', description: 'd', dcmi: { devices: [{ errorCodes: [-1] }] } });
      const script = `const k=require('koffi');const l=k.load(${JSON.stringify(lib.path)});console.log(l.func('int dcmi_init()')())`;
      const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, BRIXLET_MOCK_SCENARIO: bad }, encoding: 'utf8' });
      expect(r.stdout.trim()).toBe(String(INNER));
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^brixlet dcmi mock: invalid scenario .*dcmi-bad\.json: dcmi\.devices\[0\]: errorCodes/)]);
    });

    it('loads every shipped scenario the TypeScript schema accepts (same keys, same ranges)', () => {
      for (const n of readdirSync(scenarioDir).filter((x) => x.endsWith('.json'))) {
        const s = shippedScenario(n.replace(/\.json$/, '')) as { dcmi?: { init?: number } };
        expect({ n, rc: f.load(`${scenarioDir}/${n}`) }).toEqual({ n, rc: s.dcmi === undefined ? NOT_EXIST : (s.dcmi.init ?? OK) });
      }
    });

    it('simulates zero NPUs when $BRIXLET_MOCK_SCENARIO is unset', () => {
      const saved = process.env.BRIXLET_MOCK_SCENARIO;
      delete process.env.BRIXLET_MOCK_SCENARIO;
      try {
        expect(f.load(null)).toBe(OK);
        const num = sentinel(4);
        expect(f.cardList(num, Buffer.alloc(64 * 4), 64)).toBe(OK);
        expect(num.readInt32LE(0)).toBe(0);
      } finally {
        if (saved !== undefined) process.env.BRIXLET_MOCK_SCENARIO = saved;
      }
    });
  });

  describe('topology and identity', () => {
    it('lists cards in order, one chip each, with logic and physical ids', () => {
      const num = Buffer.alloc(4), list = sentinel(64 * 4);
      expect(f.cardList(num, list, 64)).toBe(OK);
      expect(num.readInt32LE(0)).toBe(8);
      expect(Array.from({ length: 8 }, (_, i) => list.readInt32LE(i * 4))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(f.cardList(num, Buffer.alloc(16), 4)).toBe(INVALID_PARAMETER);
      expect(i32((b) => f.numInCard(3, b))).toEqual([OK, 1]);
      const max = Buffer.alloc(4), mcu = Buffer.alloc(4), cpu = Buffer.alloc(4);
      expect(f.idInCard(3, max, mcu, cpu)).toBe(OK);
      expect([max.readInt32LE(0), mcu.readInt32LE(0), cpu.readInt32LE(0)]).toEqual([1, -1, -1]);
      expect(i32((b) => f.logicId(b, 5, 0))).toEqual([OK, 5]);
      expect(u32((b) => f.phyId(5, b))).toEqual([OK, 5]);
      expect(i32((b) => f.numInCard(42, b))[0]).toBe(INVALID_DEVICE);
      expect(i32((b) => f.temp(0, 1, b))[0]).toBe(INVALID_DEVICE);
      expect(u32((b) => f.phyId(99, b))[0]).toBe(INVALID_DEVICE);
    });

    it('fills dcmi_chip_info (100 B: three 32-byte strings, aicore count @96)', () => {
      const b = sentinel(104);
      expect(f.chipInfo(0, 0, b)).toBe(OK);
      expect([cString(b, 0, 32), cString(b, 32, 32), cString(b, 64, 32), b.readUInt32LE(96)]).toEqual(['Ascend', '910B3', 'V1', 20]);
      expect(b.subarray(100)).toEqual(sentinel(4));
    });

    it('fills dcmi_pcie_info_all (64 B) and the five VDIE words, NDIE differing', () => {
      const p = sentinel(68);
      expect(f.pcie(0, 0, p)).toBe(OK);
      expect([p.readUInt32LE(0), p.readInt32LE(16), p.readUInt32LE(20), p.readUInt32LE(24), p.readUInt32LE(28)]).toEqual([0x19e5, 0, 193, 0, 0]);
      expect(p.subarray(64)).toEqual(sentinel(4));
      const vdie = sentinel(24), ndie = sentinel(24);
      expect(f.die(0, 0, 1, vdie)).toBe(OK);
      expect(Array.from({ length: 5 }, (_, i) => vdie.readUInt32LE(i * 4))).toEqual([439041101, 66051, 67438087, 134810123, 202182159]);
      expect(vdie.subarray(20)).toEqual(sentinel(4));
      expect(f.die(0, 0, 0, ndie)).toBe(OK);
      expect(ndie.subarray(0, 20)).not.toEqual(vdie.subarray(0, 20));
      expect(f.die(0, 0, 2, ndie)).toBe(INVALID_PARAMETER);
    });
  });

  describe('health and faults', () => {
    it('reports health 0-3 and 0xFFFFFFFF as unsigned', () => {
      expect(u32((b) => f.health(1, 0, b))).toEqual([OK, 0]);
      expect(f.setValue(1, 'health', '4294967295')).toBe(0);
      expect(u32((b) => f.health(1, 0, b))).toEqual([OK, 0xffffffff]);
    });

    it('returns unsigned fault codes above INT_MAX, always sets error_count, copies at most list_len', () => {
      const count = sentinel(4), list = sentinel(128 * 4);
      expect(f.errorCodes(2, 0, count, list, 128)).toBe(OK);
      expect(count.readInt32LE(0)).toBe(0);
      expect(f.setValue(2, 'errorCodes', `[${0x80e24e00}, ${0x80fa4e00}, 1]`)).toBe(0);
      expect(f.errorCodes(2, 0, count, list, 128)).toBe(OK);
      expect(count.readInt32LE(0)).toBe(3);
      expect([0, 4, 8].map((o) => list.readUInt32LE(o))).toEqual([0x80e24e00, 0x80fa4e00, 1]);
      const short = sentinel(12);
      expect(f.errorCodes(2, 0, count, short, 2)).toBe(OK);
      expect(count.readInt32LE(0)).toBe(2);
      expect(short.subarray(8)).toEqual(sentinel(4));
      const text = sentinel(256);
      expect(f.errorString(2, 0, 0x80e24e00, text, 256)).toBe(OK);
      expect(cString(text)).toContain('0x80E24E00');
    });

    it('fills dcmi_hbm_info (32 B) and dcmi_ecc_info (28 B, HBM only)', () => {
      const h = sentinel(36);
      expect(f.hbm(0, 0, h)).toBe(OK);
      expect([h.readBigUInt64LE(0), h.readUInt32LE(8), h.readBigUInt64LE(16), h.readInt32LE(24), h.readUInt32LE(28)]).toEqual([65536n, 1600, 3276n, 43, 12]);
      expect(h.subarray(32)).toEqual(sentinel(4));
      expect(f.setValue(0, 'eccHbmDouble', '3')).toBe(0);
      const e = sentinel(32);
      expect(f.ecc(0, 0, 2, e)).toBe(OK);
      expect(Array.from({ length: 7 }, (_, i) => e.readUInt32LE(i * 4))).toEqual([1, 0, 3, 0, 3, 0, 0]);
      expect(e.subarray(28)).toEqual(sentinel(4));
      expect(f.ecc(0, 0, 0, e)).toBe(NOT_SUPPORT);
    });

    it('reads temperature, power in 0.1 W, frequencies, utilisations and network health', () => {
      expect(i32((b) => f.temp(4, 0, b))).toEqual([OK, 45]);
      expect(f.setValue(4, 'temperature', '-5')).toBe(0);
      expect(i32((b) => f.temp(4, 0, b))).toEqual([OK, -5]);
      expect(i32((b) => f.power(4, 0, b))).toEqual([OK, 1105]);
      expect([7, 9, 6].map((t) => u32((b) => f.freq(4, 0, t, b)))).toEqual([[OK, 1800], [OK, 1800], [OK, 1600]]);
      expect(u32((b) => f.freq(4, 0, 1, b))[0]).toBe(NOT_SUPPORT);
      expect([2, 3, 6, 12, 13].map((t) => u32((b) => f.util(4, 0, t, b))[1])).toEqual([35, 3, 9, 11, 35]);
      expect(i32((b) => f.network(4, 0, b))).toEqual([OK, 0]);
    });

    it('returns NOT_SUPPORT for keys a chip lacks, INVALID_PARAMETER for NULL', () => {
      expect(f.setValue(6, 'powerDeciW', 'null')).toBe(0);
      const p = sentinel(4);
      expect(f.power(6, 0, p)).toBe(NOT_SUPPORT);
      expect(p).toEqual(sentinel(4));
      expect(f.power(5, 0, null)).toBe(INVALID_PARAMETER);
    });
  });

  describe('control ABI', () => {
    it('applies per-chip and global overrides, counts calls, and reset restores the scenario', () => {
      expect(f.setReturn('dcmi_get_device_health', 3, INNER)).toBe(0);
      const h = sentinel(4);
      expect(f.health(3, 0, h)).toBe(INNER);
      expect(h).toEqual(sentinel(4));
      expect(u32((b) => f.health(2, 0, b))).toEqual([OK, 0]);
      expect(f.setReturn('dcmi_get_driver_version', -1, NOT_SUPPORT)).toBe(0);
      expect(f.driverVersion(Buffer.alloc(64), 64)).toBe(NOT_SUPPORT);
      expect(Number(f.calls('dcmi_get_device_health'))).toBe(2);
      expect(f.setValue(0, 'nope', '1')).toBe(-1);
      expect(f.setValue(0, 'dieId', '[1,2,3]')).toBe(-1); // exactly five words
      f.reset();
      expect(Number(f.calls(null))).toBe(0);
      expect(u32((b) => f.health(3, 0, b))).toEqual([OK, 0]);
      const v = sentinel(64);
      expect(f.driverVersion(v, 64)).toBe(OK);
      expect(cString(v)).toBe('24.1.rc2');
    });

    it('takes per-device overrides and merged defaults from the scenario', () => {
      const s = shippedScenario('healthy-8x-ascend910b') as { dcmi: { defaults: Record<string, unknown>; devices: Record<string, unknown>[] } };
      s.dcmi.defaults = { ...s.dcmi.defaults, returns: { dcmi_get_device_voltage: NOT_SUPPORT } };
      s.dcmi.devices[1] = { ...s.dcmi.devices[1], health: 2, errorCodes: [0x80e24e00], returns: { dcmi_get_device_health: INNER } };
      expect(f.load(writeScenario('npu-returns', s))).toBe(OK);
      expect(u32((b) => f.health(1, 0, b))[0]).toBe(INNER);
      expect(u32((b) => f.health(0, 0, b))).toEqual([OK, 0]);
      expect(u32((b) => f.voltage(0, 0, b))[0]).toBe(NOT_SUPPORT);
      const count = Buffer.alloc(4), list = Buffer.alloc(16);
      expect(f.errorCodes(1, 0, count, list, 4)).toBe(OK);
      expect(list.readUInt32LE(0)).toBe(0x80e24e00);
    });
  });
});
