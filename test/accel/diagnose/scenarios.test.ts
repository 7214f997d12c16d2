// Every shipped scenario through the sim backend + sampler + runDiagnose, compared with
// mocks/expected/<scenario>.diagnose.json (the summary and every result that did not pass).
// BRIXLET_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runDiagnose } from '../../../src/accel/diagnose/run-diagnose.js';
import { PROBES } from '../../../src/accel/probes/index.js';
import { Sampler } from '../../../src/accel/sampler.js';
import { SCENARIO_DIR } from '../../../src/accel/scenario.js';
import { openBackends } from '../../../src/accel/select.js';
import { silentLog } from '../../helpers/apps.js';

const EXPECTED_DIR = new URL('../../../mocks/expected/', import.meta.url);
const EXPECTED_COUNT = 8;
const XID_IGNORE = [13, 31, 43, 45, 68, 109];
const update = process.env.BRIXLET_UPDATE_GOLDEN === '1';
const scenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

// Static imports: a module that fails to load fails this file, never a warning and a pass.
export async function diagnoseScenario(name: string) {
  const backends = await openBackends(`sim:${name}`, { nvmlLibrary: '', dcmiLibrary: '', log: silentLog });
  const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'test-node', log: silentLog, xidIgnore: XID_IGNORE });
  try {
    await new Promise((r) => setImmediate(r));
    const snapshot = await sampler.sampleNow();
    const report = runDiagnose({ level: 1, snapshot, expectedCount: EXPECTED_COUNT, xidIgnore: XID_IGNORE });
    return {
      golden: {
        scenario: name,
        level: report.level,
        expectedCount: EXPECTED_COUNT,
        summary: report.summary,
        problems: report.results.filter((r) => r.status !== 'pass'),
      },
    };
  } finally {
    await sampler.dispose();
  }
}

describe('scenario diagnose goldens', () => {
  it('every scenario has a golden file', () => {
    if (update) return;
    const missing = scenarios.filter((s) => !existsSync(new URL(`${s}.diagnose.json`, EXPECTED_DIR)));
    expect(missing).toEqual([]);
  });

  it.each(scenarios)('%s', async (name) => {
    const out = await diagnoseScenario(name);
    const file = new URL(`${name}.diagnose.json`, EXPECTED_DIR);
    const text = `${JSON.stringify(out.golden, null, 2)}\n`;
    if (update) {
      writeFileSync(file, text);
      return;
    }
    expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });
});
