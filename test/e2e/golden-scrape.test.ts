// Every scenario through the real FFI path: koffi → the native mock libraries → backends → sampler →
// the metric families, diffed against mocks/expected/<scenario>.prom (volatile values normalised) and
// linted by promtool. BRIXLET_UPDATE_GOLDEN=1 rewrites the golden files; without it a missing golden
// fails (a new scenario's golden is written on purpose and reviewed, never by accident).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createDcmiBackend } from '../../src/accel/dcmi/index.js';
import { renderAccelMetrics } from '../../src/accel/metrics/render-metrics.js';
import { createNvmlBackend, type NvmlBackend } from '../../src/accel/nvml/index.js';
import { PROBES } from '../../src/accel/probes/index.js';
import { Sampler } from '../../src/accel/sampler.js';
import { loadScenarioFile, SCENARIO_DIR, type Scenario } from '../../src/accel/scenario.js';
import type { AccelSnapshot, AcceleratorBackend } from '../../src/accel/types.js';
import { createLogger } from '../../src/common/logger.js';
import { havePromtool, intolerable, promtoolLint } from '../helpers/promtool.js';
import { repoRoot } from '../helpers/repo.js';

const NVML = `${repoRoot}native/build/libnvidia-ml.so.1`;
const DCMI = `${repoRoot}native/build/libdcmi.so`;
const EXPECTED = `${repoRoot}mocks/expected/`;
const built = existsSync(NVML) && existsSync(DCMI);
const log = createLogger({ level: 'silent', format: 'json' });
const scenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''))
  .sort();

/** Probe timings change run to run; everything else is fixed by the scenario. */
export function normaliseScrape(text: string): string {
  return text.replace(/^(brixlet_accelerator_probe_duration_seconds\{[^}]*\}) \S+$/gm, '$1 <duration>');
}

let open: AcceleratorBackend[] = [];
afterEach(async () => {
  for (const b of open) await b.close();
  open = [];
});

async function scrape(name: string, scenario: Scenario): Promise<{ text: string; snapshot: AccelSnapshot }> {
  process.env.BRIXLET_MOCK_SCENARIO = `${SCENARIO_DIR}${name}.json`;
  // nvml-lib-absent: neither section, run as a node whose driver library is not installed.
  const backends: AcceleratorBackend[] = [];
  if (scenario.nvml !== undefined || scenario.dcmi === undefined) {
    backends.push(createNvmlBackend({ library: scenario.nvml !== undefined ? NVML : `${repoRoot}native/build/absent.so`, log, env: process.env, eventWaitMs: 100 }));
  }
  if (scenario.dcmi !== undefined) backends.push(createDcmiBackend({ library: DCMI, log, env: process.env }));
  for (const b of backends) await b.open();
  open = backends;
  const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'golden-node', log, xidIgnore: [13, 31, 43, 45, 68, 109], now: () => 1_800_000_000_000 });
  // Queued XIDs arrive through the event worker: wait for all of them before the sample that counts.
  for (const b of backends) if (b.kind === 'nvml' && b.status().state === 'up') await (b as NvmlBackend).eventsReady();
  const xids = scenario.nvml?.xids?.length ?? 0;
  let snapshot = await sampler.sampleNow();
  // Up to 10 s: only a hang fails it.
  for (let i = 0; i < 500 && countXids(snapshot) < xids; i++) {
    await new Promise((r) => setTimeout(r, 20));
    snapshot = await sampler.sampleNow();
  }
  expect(countXids(snapshot), `${name}: XIDs delivered`).toBe(xids);
  const text = renderAccelMetrics(snapshot, { probes: PROBES, dcgm: true, npu: true, hostname: 'golden-node' });
  await sampler.dispose();
  open = [];
  return { text, snapshot };
}

function countXids(s: AccelSnapshot): number {
  return s.devices.reduce((n, d) => n + Object.values(d.xidCounts).reduce((a, b) => a + b, 0), 0);
}

describe.skipIf(!built)(`golden scrapes through the native mocks${built ? '' : ' (SKIPPED: run make -C native)'}`, () => {
  it.each(scenarios)('%s', async (name) => {
    const scenario = loadScenarioFile(`${SCENARIO_DIR}${name}.json`);
    const { text, snapshot } = await scrape(name, scenario);
    const golden = `${EXPECTED}${name}.prom`;
    const normalised = normaliseScrape(text);
    if (process.env.BRIXLET_UPDATE_GOLDEN === '1') writeFileSync(golden, normalised);
    else if (!existsSync(golden)) {
      expect.fail(`${golden} is missing: run BRIXLET_UPDATE_GOLDEN=1 npx vitest run test/e2e/golden-scrape.test.ts, then review and commit it`);
    }
    expect(normalised).toBe(readFileSync(golden, 'utf8'));

    const devices = (scenario.nvml?.init ?? 0) === 0 ? (scenario.nvml?.devices.length ?? 0) + (scenario.dcmi?.devices.length ?? 0) : scenario.dcmi?.devices.length ?? 0;
    expect(snapshot.devices).toHaveLength(devices);
    if (havePromtool) {
      const lint = promtoolLint(text);
      expect(lint.status, `${name}: promtool exit`).not.toBe(1);
      expect(intolerable(lint.findings), `${name}: promtool findings`).toEqual([]);
    }
  });
});
