import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandDevices, loadScenarioFile, SCENARIO_MAX_BYTES, type NvmlDeviceSpec, resolveScenario, SCENARIO_DIR, validateScenario } from '../../src/accel/scenario.js';

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

describe('loadScenarioFile on an arbitrary --accel sim:PATH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-scenario-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rejects = (path: string, reason: RegExp) => expect(() => loadScenarioFile(path)).toThrow(expect.objectContaining({ code: 'BRX_ERR_ACCEL_SCENARIO', message: expect.stringMatching(reason) }));

  it('rejects devices, directories and FIFOs without reading them', () => {
    rejects('/dev/zero', /not a regular file/);
    rejects(dir, /not a regular file/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Opened non-blocking: with no writer, a blocking open would hang here.
    rejects(fifo, /not a regular file/);
  });

  it('rejects a file over the size cap', () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"name":"x","description":"${'a'.repeat(SCENARIO_MAX_BYTES)}"}`);
    rejects(big, new RegExp(`larger than ${SCENARIO_MAX_BYTES} bytes`));
  });

  it('never echoes file content in the error', () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'hunter2-SECRET=password\n');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"name": "hunter2-SECRET", "description": "hunter2-SECRET", "nvml": {"devices": [{"uuid": 7, "name": "hunter2-SECRET"}]}}');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"name": "hunter2-SECRET" "description"}');
    for (const path of [secret, bad, broken]) {
      let caught: unknown;
      try {
        loadScenarioFile(path);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'BRX_ERR_ACCEL_SCENARIO' });
      const err = caught as Error & { details: unknown[]; params: unknown; cause?: unknown };
      const everything = `${err.message} ${JSON.stringify(err.details)} ${JSON.stringify(err.params)} ${String(err.cause)}`;
      expect(everything).not.toContain('hunter2');
    }
  });
});
