// Health and diagnose judge with one rule set (src/accel/conditions.ts), so on every shipped
// scenario, and on the sample after it (when XIDs have become history), they agree device by device:
//   unhealthy ⇔ diagnose fails the device
//   degraded  ⇔ no fail, and a rule-backed check warns (advisory warns never change health)
//   healthy   ⇔ no fail and no rule-backed warn
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONDITION_CHECKS } from '../../src/accel/conditions.js';
import { runDiagnose } from '../../src/accel/diagnose/run-diagnose.js';
import { PROBES } from '../../src/accel/probes/index.js';
import { Sampler } from '../../src/accel/sampler.js';
import { SCENARIO_DIR } from '../../src/accel/scenario.js';
import { openBackends } from '../../src/accel/select.js';
import type { AccelSnapshot } from '../../src/accel/types.js';
import { silentLog } from '../helpers/apps.js';

const XID_IGNORE = [13, 31, 43, 45, 68, 109];
const scenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

/** Per device: health state, and what diagnose says about it. */
function verdicts(snapshot: AccelSnapshot) {
  const report = runDiagnose({ level: 1, snapshot, expectedCount: 0, xidIgnore: XID_IGNORE });
  return snapshot.devices.map((d) => {
    const mine = report.results.filter((r) => r.vendor === d.identity.vendor && r.device === d.identity.index);
    const fails = mine.filter((r) => r.status === 'fail').map((r) => r.check);
    const warns = mine.filter((r) => r.status === 'warn' && CONDITION_CHECKS.has(r.check)).map((r) => r.check);
    return { device: `${d.identity.vendor}:${d.identity.index}`, health: d.health.state, reasons: d.health.reasons, fails, warns };
  });
}

function expectAgreement(snapshot: AccelSnapshot): void {
  for (const v of verdicts(snapshot)) {
    const why = JSON.stringify(v);
    if (v.health === 'unhealthy') expect(v.fails.length, why).toBeGreaterThan(0);
    else expect(v.fails, why).toEqual([]);
    if (v.health === 'degraded') expect(v.warns.length, why).toBeGreaterThan(0);
    if (v.health === 'healthy') expect(v.warns, why).toEqual([]);
  }
}

describe('health and diagnose agree on every scenario', () => {
  it.each(scenarios)('%s', async (name) => {
    const backends = await openBackends(`sim:${name}`, { nvmlLibrary: '', dcmiLibrary: '', log: silentLog });
    const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'test-node', log: silentLog, xidIgnore: XID_IGNORE });
    try {
      // Queued XIDs are delivered on the next turn: the first sample sees them, the second has them as history.
      await new Promise((r) => setImmediate(r));
      expectAgreement(await sampler.sampleNow());
      expectAgreement(await sampler.sampleNow());
    } finally {
      await sampler.dispose();
    }
  });

  it('an idle GPU at a lower PCIe generation is neither degraded nor warned about', async () => {
    const backends = await openBackends('sim:healthy-8x-h100', { nvmlLibrary: '', dcmiLibrary: '', log: silentLog });
    const sim = backends[0] as unknown as { setValue(index: number, key: string, value: unknown): void };
    sim.setValue(0, 'pcieGen', 3);
    sim.setValue(0, 'utilGpu', 0);
    sim.setValue(1, 'pcieGen', 3);
    sim.setValue(1, 'utilGpu', 90);
    const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'test-node', log: silentLog, xidIgnore: XID_IGNORE });
    try {
      const snapshot = await sampler.sampleNow();
      const [idle, busy] = verdicts(snapshot);
      expect(idle).toMatchObject({ health: 'healthy', fails: [], warns: [] });
      expect(busy).toMatchObject({ health: 'degraded', fails: [], warns: ['pcie-gen'] });
      expectAgreement(snapshot);
    } finally {
      await sampler.dispose();
    }
  });
});
