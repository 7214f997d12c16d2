import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DCGM_SKIPPED } from '../../../src/accel/metrics/dcgm-skipped.js';
import { RUNTIME_DEVICE_METRICS } from '../../../src/accel/metrics/runtime-metrics.js';
import { PROBES } from '../../../src/accel/probes/index.js';
import { repoRoot } from '../../helpers/repo.js';

const testdata = process.env.BRIXLET_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata');
const csvPath = join(testdata, 'metrics', 'dcgm-exporter-default-counters.csv');
const haveCsv = existsSync(csvPath);

/** Uncommented lines of dcgm-exporter's counters file: `FIELD, type, help`. */
function defaultCounters(): { name: string; type: string }[] {
  return readFileSync(csvPath, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [name = '', type = ''] = l.split(',').map((f) => f.trim());
      return { name, type };
    });
}

const declared = new Map<string, string>(
  [...PROBES.flatMap((p) => p.metrics), ...RUNTIME_DEVICE_METRICS].filter((m) => m.family === 'dcgm').map((m) => [m.name, m.type]),
);

describe('dcgm-exporter default counter set', () => {
  it.skipIf(!haveCsv)(`exports every field NVML can give, with the same type, and lists the rest${haveCsv ? '' : ` (SKIPPED: ${csvPath} not found; set BRIXLET_TESTDATA)`}`, () => {
    const counters = defaultCounters();
    expect(counters.length).toBeGreaterThan(20);
    for (const { name, type } of counters) {
      const skipped = DCGM_SKIPPED[name];
      const ours = declared.get(name);
      if (skipped !== undefined) {
        expect(ours, `${name} is both exported and on the skip list`).toBeUndefined();
        continue;
      }
      expect(ours, `${name} is neither exported nor on the skip list`).toBeDefined();
      expect(ours, `${name} type`).toBe(type);
    }
  });

  it.skipIf(!haveCsv)('skips only fields the default set actually has, each with a reason', () => {
    const names = new Set(defaultCounters().map((c) => c.name));
    for (const [name, reason] of Object.entries(DCGM_SKIPPED)) {
      expect(names.has(name), `${name} is not in the default set`).toBe(true);
      expect(reason.length).toBeGreaterThan(20);
    }
  });

  it('exports the names the issue calls out, with their dcgm-exporter types', () => {
    expect(Object.fromEntries([...declared].filter(([n]) => ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'DCGM_FI_DEV_XID_ERRORS', 'DCGM_EXP_XID_ERRORS_COUNT', 'DCGM_FI_DEV_FB_USED'].includes(n)))).toEqual({
      DCGM_FI_DEV_FB_USED: 'gauge',
      DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: 'counter',
      DCGM_FI_DEV_XID_ERRORS: 'gauge',
      DCGM_EXP_XID_ERRORS_COUNT: 'gauge',
    });
  });
});
