import { describe, expect, it } from 'vitest';
import { NpuDeviceSpec, NvmlDeviceSpec } from '../../../src/accel/scenario.js';
import { DCMI_CALLS, NVML_CALLS, SimLibrary } from '../../../src/accel/sim/library.js';
import { PROBE_GROUPS } from '../../../src/accel/types.js';

const readKeys = (table: typeof NVML_CALLS | typeof DCMI_CALLS) => new Set(PROBE_GROUPS.flatMap((g) => table[g].flatMap((c) => [...c.keys, ...(c.members ?? [])] as string[])));

describe('sim call tables', () => {
  it('read every NVML scenario key except identity ones (read at open), returns and hang (the backend applies those)', () => {
    const identity = ['name', 'uuid', 'serial', 'pciBusId', 'pciDeviceId', 'pciSubSystemId', 'arch', 'minor', 'returns', 'hang'];
    const missing = Object.keys(NvmlDeviceSpec.properties).filter((k) => !identity.includes(k) && !readKeys(NVML_CALLS).has(k));
    expect(missing).toEqual([]);
  });

  it('read every DCMI scenario key that has a DeviceSample field', () => {
    const identity = ['cardId', 'deviceId', 'logicId', 'phyId', 'chipType', 'chipName', 'chipVer', 'aicoreCount', 'dieId', 'pciDomain', 'pciBus', 'pciDevice', 'pciFunc', 'returns', 'hang'];
    // No DeviceSample field for these (yet): the native mock serves them, the sample leaves them out.
    const noField = ['aicoreMaxFreq', 'hbmFreq', 'hbmBandwidthUtil', 'utilAicpu', 'utilHbm', 'utilVectorcore', 'utilNpu'];
    const missing = Object.keys(NpuDeviceSpec.properties).filter((k) => ![...identity, ...noField].includes(k) && !readKeys(DCMI_CALLS).has(k));
    expect(missing).toEqual([]);
  });

  it('names only real vendor functions', () => {
    for (const g of PROBE_GROUPS) {
      for (const c of NVML_CALLS[g]) expect(c.api).toMatch(/^nvml[A-Z]\w+$/);
      for (const c of DCMI_CALLS[g]) expect(c.api).toMatch(/^dcmi_\w+$/);
    }
  });
});

describe('SimLibrary', () => {
  it('merges defaults under devices, device returns over section returns, and resets to the scenario', () => {
    const lib = new SimLibrary('nvidia', {
      returns: { nvmlDeviceGetPowerUsage: 999 },
      defaults: { tempGpu: 40, returns: { nvmlDeviceGetTemperature: 15 } },
      devices: [{}, { tempGpu: 70, returns: { nvmlDeviceGetPowerUsage: 3 } }],
    });
    expect(lib.spec(0)?.tempGpu).toBe(40);
    expect(lib.spec(1)?.tempGpu).toBe(70);
    expect(lib.returnFor('nvmlDeviceGetPowerUsage', 0)).toBe(999);
    expect(lib.returnFor('nvmlDeviceGetPowerUsage', 1)).toBe(3);
    expect(lib.returnFor('nvmlDeviceGetTemperature', 1)).toBe(15);
    lib.setValue(0, 'tempGpu', 99);
    lib.setReturn('nvmlDeviceGetPowerUsage', -1, 0);
    expect(lib.returnFor('nvmlDeviceGetPowerUsage', 0)).toBeUndefined();
    lib.reset();
    expect(lib.spec(0)?.tempGpu).toBe(40);
    expect(lib.returnFor('nvmlDeviceGetPowerUsage', 0)).toBe(999);
  });

  it('treats an init override like the init key', () => {
    expect(new SimLibrary('nvidia', { init: 18, devices: [] }).initCode).toBe(18);
    expect(new SimLibrary('ascend', { returns: { dcmi_init: -8005 }, devices: [] }).initCode).toBe(-8005);
    expect(new SimLibrary('ascend', { devices: [{ logicId: 3 }, {}] }).deviceIndexes()).toEqual([3, 1]);
  });
});
