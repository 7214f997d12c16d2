import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expandDevices, loadScenarioFile, type NvmlDeviceSpec, resolveScenario, SCENARIO_DIR, validateScenario } from '../../src/accel/scenario.js';

describe('scenarios', () => {
  it('every shipped scenario validates and is named after its file', () => {
    const files = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(loadScenarioFile(`${SCENARIO_DIR}${f}`).name).toBe(f.replace(/\.json$/, ''));
  });

  it('resolves names to shipped files and leaves paths alone', () => {
    expect(resolveScenario('healthy-8x-h100')).toBe(`${SCENARIO_DIR}healthy-8x-h100.json`);
    expect(resolveScenario('./x.json')).toBe('./x.json');
    expect(() => resolveScenario('no-such-scenario')).toThrow(expect.objectContaining({ code: 'BRX_ERR_ACCEL_SCENARIO' }));
  });

  it('rejects unknown keys and out-of-range values, listing them', () => {
    const bad = { name: 'x', description: 'd', nvml: { devices: [{ tempGpu: -1, colour: 'red' }] } };
    expect(() => validateScenario(bad, 'inline')).toThrow(expect.objectContaining({ code: 'BRX_ERR_ACCEL_SCENARIO', message: expect.stringContaining('/nvml/devices/0') }));
    expect(() => loadScenarioFile('/nonexistent.json')).toThrow(/no such file/);
  });

  it('merges defaults under each device, return overrides included', () => {
    const defaults: NvmlDeviceSpec = { tempGpu: 40, returns: { nvmlDeviceGetPowerUsage: 3 } };
    const devices = expandDevices<NvmlDeviceSpec>(defaults, [{ uuid: 'a' }, { tempGpu: 90, returns: { nvmlDeviceGetUUID: 15 } }]);
    expect(devices[0]).toEqual({ tempGpu: 40, uuid: 'a', returns: { nvmlDeviceGetPowerUsage: 3 } });
    expect(devices[1]).toEqual({ tempGpu: 90, returns: { nvmlDeviceGetPowerUsage: 3, nvmlDeviceGetUUID: 15 } });
  });
});
