// Every fault preset through the production NVML/DCMI backends (koffi) over the native mocks, the
// Sampler, PROBES and runDiagnose: the same health and diagnose outcome as through the sim backend.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DcmiBackend } from '../../../../src/accel/dcmi/backend.js';
import { FAULT_PRESETS } from '../../../../src/accel/fault/presets.js';
import { NvmlBackend } from '../../../../src/accel/nvml/backend.js';
import type { AcceleratorBackend, Vendor } from '../../../../src/accel/types.js';
import { DEVICE_PRESETS, LIBRARY_PRESETS } from '../../../accel/fault/preset-expectations.js';
import { runPreset } from '../../../accel/fault/preset-harness.js';
import { silentLog } from '../../../helpers/apps.js';
import { repoRoot } from '../../../helpers/repo.js';
import { buildNativeMocks } from '../../accel-mock.js';

const LIBS = { nvidia: join(repoRoot, 'native/build/libnvidia-ml.so.1'), ascend: join(repoRoot, 'native/build/libdcmi.so') };
const SCENARIOS = { nvidia: 'healthy-8x-h100', ascend: 'healthy-8x-ascend910b' };
// Skipped only without a toolchain (said why); a failing build fails here.
const available = buildNativeMocks('libnvidia-ml.so.1', 'libdcmi.so') && existsSync(LIBS.nvidia) && existsSync(LIBS.ascend);
if (!available) console.warn('skipping fault presets over the native mocks: native/build could not be built');

const saved = process.env.BRIXLET_MOCK_SCENARIO;
afterAll(() => {
  if (saved === undefined) delete process.env.BRIXLET_MOCK_SCENARIO;
  else process.env.BRIXLET_MOCK_SCENARIO = saved;
});

/** A production backend over the mock; the scenario is read at init, so it is set before open(). */
function native(vendor: Vendor): AcceleratorBackend {
  process.env.BRIXLET_MOCK_SCENARIO = join(repoRoot, 'mocks/scenarios', `${SCENARIOS[vendor]}.json`);
  return vendor === 'nvidia' ? new NvmlBackend({ library: LIBS.nvidia, log: silentLog, eventWaitMs: 50 }) : new DcmiBackend({ library: LIBS.ascend, log: silentLog });
}

describe.skipIf(!available)('fault presets through the native mocks', () => {
  for (const [name, want] of Object.entries(DEVICE_PRESETS)) {
    it(`${name} on device 3 makes it ${want.state}; device 2 stays healthy`, async () => {
      const vendor = FAULT_PRESETS.get(name)!.vendor;
      const o = await runPreset([native(vendor)], name, { target: { device: 3 } });
      const health = o.device(vendor, 3)!.health;
      expect(health.state).toBe(want.state);
      want.reasons.forEach((r, i) => expect(health.reasons[i]).toContain(r));
      expect(o.findings(vendor, 3)).toEqual(want.findings);
      expect(o.device(vendor, 2)!.health).toEqual({ state: 'healthy', reasons: [] });
      expect(o.snapshot.devices.filter((d) => d.health.state !== 'healthy').map((d) => d.identity.index)).toEqual([3]);
    });
  }

  for (const [name, want] of Object.entries(LIBRARY_PRESETS)) {
    it(`${name} fails the ${want.vendor} backend`, async () => {
      const o = await runPreset([native(want.vendor)], name, {});
      expect(o.snapshot.backends[0]).toMatchObject({ state: 'failed', message: want.message });
      expect(o.snapshot.devices).toEqual([]);
      expect(o.results.find((r) => r.check === 'driver' && r.vendor === want.vendor)).toMatchObject({ status: 'fail', action: 'reinstall-driver' });
    });
  }
});
