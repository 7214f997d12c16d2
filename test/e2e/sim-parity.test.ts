// The sim backend must answer what the production backends answer through koffi against the native
// mocks, scenario by scenario: identities, every group's values, failed calls and NOT_SUPPORTED.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import { DcmiBackend } from '../../src/accel/dcmi/backend.js';
import { NvmlBackend } from '../../src/accel/nvml/backend.js';
import { loadScenarioFile, SCENARIO_DIR } from '../../src/accel/scenario.js';
import { createSimBackends } from '../../src/accel/sim/index.js';
import { type AcceleratorBackend, PROBE_GROUPS } from '../../src/accel/types.js';
import { silentLog } from '../helpers/apps.js';
import { repoRoot } from '../helpers/repo.js';
import { buildNativeMocks } from './accel-mock.js';

const LIBS = { nvml: join(repoRoot, 'native/build/libnvidia-ml.so.1'), dcmi: join(repoRoot, 'native/build/libdcmi.so') };
// Skipped only without a toolchain (said why); a failing build fails here.
const available = buildNativeMocks('libnvidia-ml.so.1', 'libdcmi.so');
if (!available) console.warn('skipping sim parity: the native mocks could not be built');

const scenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => loadScenarioFile(join(SCENARIO_DIR, f)));

async function view(b: AcceleratorBackend) {
  const status = b.status();
  const devices = [];
  for (const identity of b.devices()) {
    const groups: Record<string, unknown> = {};
    for (const g of PROBE_GROUPS) groups[g] = await b.read(identity.index, g);
    devices.push({ identity, groups });
  }
  return { state: status.state, message: status.message, devices };
}

describe.skipIf(!available)('sim backend parity with the native mocks', () => {
  for (const vendor of ['nvml', 'dcmi'] as const) {
    const load = available ? (koffi.load(LIBS[vendor]).func(`int brixlet_${vendor}_mock_load(const char *path)`) as (p: string) => number) : undefined;
    for (const scenario of scenarios.filter((s) => s[vendor] !== undefined)) {
      it(`${vendor}: ${scenario.name}`, async () => {
        load?.(join(SCENARIO_DIR, `${scenario.name}.json`));
        const native = vendor === 'nvml' ? new NvmlBackend({ library: LIBS.nvml, log: silentLog }) : new DcmiBackend({ library: LIBS.dcmi, log: silentLog });
        const sim = createSimBackends(scenario, { log: silentLog }).find((b) => b.vendor === (vendor === 'nvml' ? 'nvidia' : 'ascend'))!;
        await native.open();
        await sim.open();
        try {
          const [n, s] = [await view(native), await view(sim)];
          expect(s).toEqual(n);
        } finally {
          await native.close();
          await sim.close();
        }
      });
    }
  }
});
