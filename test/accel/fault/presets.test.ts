import { describe, expect, it } from 'vitest';
import { FAULT_PRESETS, presetRule } from '../../../src/accel/fault/presets.js';
import { loadScenarioFile, resolveScenario } from '../../../src/accel/scenario.js';
import { createSimBackends } from '../../../src/accel/sim/index.js';
import { silentLog } from '../../helpers/apps.js';
import { DEVICE_PRESETS, LIBRARY_PRESETS } from './preset-expectations.js';
import { runPreset } from './preset-harness.js';

const SCENARIO = { nvidia: 'healthy-8x-h100', ascend: 'healthy-8x-ascend910b' } as const;
const sim = (vendor: 'nvidia' | 'ascend') => createSimBackends(loadScenarioFile(resolveScenario(SCENARIO[vendor])), { log: silentLog });

describe('fault presets through the sim backend, Sampler, PROBES and runDiagnose', () => {
  it('every preset has an expectation here', () => {
    expect([...FAULT_PRESETS.keys()].sort()).toEqual([...Object.keys(DEVICE_PRESETS), ...Object.keys(LIBRARY_PRESETS)].sort());
  });

  for (const [name, want] of Object.entries(DEVICE_PRESETS)) {
    it(`${name} on device 3 makes it ${want.state} and leaves device 2 healthy`, async () => {
      const vendor = FAULT_PRESETS.get(name)!.vendor;
      const o = await runPreset(sim(vendor), name, { target: { device: 3 } });
      const health = o.device(vendor, 3)!.health;
      expect(health.state).toBe(want.state);
      want.reasons.forEach((r, i) => expect(health.reasons[i]).toContain(r));
      expect(o.findings(vendor, 3)).toEqual(want.findings);
      expect(o.device(vendor, 2)!.health).toEqual({ state: 'healthy', reasons: [] });
      expect(o.findings(vendor, 2)).toEqual([]);
      expect(o.snapshot.devices.filter((d) => d.health.state !== 'healthy').map((d) => d.identity.index)).toEqual([3]);
    });
  }

  for (const [name, want] of Object.entries(LIBRARY_PRESETS)) {
    it(`${name} fails the ${want.vendor} backend like a failed init`, async () => {
      const o = await runPreset(sim(want.vendor), name, {});
      expect(o.snapshot.backends[0]).toMatchObject({ state: 'failed', message: want.message });
      expect(o.snapshot.devices).toEqual([]);
      expect(o.results.find((r) => r.check === 'driver' && r.vendor === want.vendor)).toMatchObject({ status: 'fail', action: 'reinstall-driver' });
    });
  }

  it('nvml-init-failure takes 12 and 18 as params.code and refuses other codes', async () => {
    for (const [code, name] of [
      [12, 'LIBRARY_NOT_FOUND'],
      [18, 'LIB_RM_VERSION_MISMATCH'],
    ] as const) {
      const o = await runPreset(sim('nvidia'), 'nvml-init-failure', { params: { code } });
      expect(o.snapshot.backends[0]?.message).toBe(`nvmlInitWithFlags: ${name} (${code})`);
    }
    expect(() => presetRule('nvml-init-failure', { params: { code: 3 } })).toThrow(/params.code 3 is not one of 9, 12, 18/);
  });

  it('nvlink-down takes the links to take down', async () => {
    const o = await runPreset(sim('nvidia'), 'nvlink-down', { target: { device: 1 }, params: { links: [2, 3] } });
    const links = o.device('nvidia', 1)!.sample.nvlinks!;
    expect(links.filter((l) => !l.active).map((l) => l.link)).toEqual([2, 3]);
    expect(links).toHaveLength(18);
    expect(links[2]).toMatchObject({ link: 2, active: false, crcFlitErrors: 0 });
  });

  it('a device preset says which device it needs; a library preset refuses one; vendors must agree', () => {
    expect(() => presetRule('gpu-lost', {})).toThrow(/target.device .* or target.uuid/);
    expect(() => presetRule('nvml-init-failure', { target: { device: 1 } })).toThrow(/whole library/);
    expect(() => presetRule('npu-fault', { target: { device: 1, vendor: 'nvidia' } })).toThrow(/ascend fault/);
    expect(() => presetRule('no-such', {})).toThrow(expect.objectContaining({ code: 'BRX_ERR_FAULT_NOT_FOUND' }));
    expect(() => presetRule('gpu-lots', {})).toThrow(expect.objectContaining({ code: 'BRX_ERR_FAULT_NOT_FOUND', message: 'no fault preset gpu-lots (did you mean gpu-lost?)' }));
  });

  it('names a rule after the preset and target, so applying it again replaces it', () => {
    expect(presetRule('gpu-lost', { target: { device: 3 } }).id).toBe('gpu-lost.3');
    expect(presetRule('gpu-lost', { target: { device: '*' } }).id).toBe('gpu-lost.all');
    expect(presetRule('gpu-lost', { target: { uuid: 'GPU-1 2' } }).id).toBe('gpu-lost.GPU-1_2');
    expect(presetRule('nvml-init-failure').id).toBe('nvml-init-failure.all');
  });

  it('a uuid target hits that device only', async () => {
    const backends = sim('nvidia');
    await backends[0]!.open();
    const uuid = backends[0]!.devices()[5]!.uuid;
    const o = await runPreset(backends, 'gpu-lost', { target: { uuid } });
    expect(o.snapshot.devices.filter((d) => d.health.state === 'unhealthy').map((d) => d.identity.index)).toEqual([5]);
  });
});
