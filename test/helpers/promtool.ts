// promtool (Debian package `prometheus`) lints a scrape: exit 0 clean, 3 lint findings (one
// "<metric> <problem>" line each on stderr), 1 unparsable text. dcgm-exporter's names break three of
// its rules by design (counters without _total, "COUNTER" in a name, the camelCase modelName label);
// they must keep that spelling for existing dashboards. Anything else, and any finding on a brixlet_*
// name, is a real problem. BRIXLET_PROMTOOL points at another binary (or at none, to see the skip).
import { spawnSync } from 'node:child_process';

export const PROMTOOL = process.env.BRIXLET_PROMTOOL ?? 'promtool';
const version = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
export const havePromtool = version.error === undefined && version.status === 0;
export const promtoolSkipNote = havePromtool ? '' : ' (SKIPPED: promtool not on PATH; apt-get install prometheus)';

export const COMPAT_NAME = /^(DCGM_|npu_|machine_npu_nums$)/;
export const TOLERATED = [
  'counter metrics should have "_total" suffix',
  "label names should be written in 'snake_case' not 'camelCase'",
  "metric name should not include type 'counter'",
];

export interface Finding {
  readonly name: string;
  readonly problem: string;
}

export function promtoolLint(text: string): { status: number | null; findings: Finding[] } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const findings = r.stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const sp = l.indexOf(' ');
      return { name: l.slice(0, sp), problem: l.slice(sp + 1) };
    });
  return { status: r.status, findings };
}

/** Findings other than the tolerated ones on compatible names. */
export function intolerable(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => !(COMPAT_NAME.test(f.name) && TOLERATED.includes(f.problem)));
}
