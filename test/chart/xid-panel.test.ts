// The accelerators dashboard's "XID errors (increase)" panel, evaluated by promtool on series shaped
// like the agent's: a {xid} series only appears with its first XIDs, so the panel must count a series
// that is new in the interval at its whole value (increase() alone would show 0), and an older series
// by its increase.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { allPanels, readDashboards, substituteGrafana } from '../helpers/prometheus-expr.js';
import { havePromtool, PROMTOOL, promtoolSkipNote } from '../helpers/promtool.js';

const METRIC = 'brixlet_accelerator_xid_errors_total';

function xidPanelExpr(): string {
  const board = readDashboards().find((d) => d.file === 'accelerators.json');
  const exprs = allPanels(board!.dashboard)
    .flatMap((p) => p.targets ?? [])
    .map((t) => t.expr ?? '')
    .filter((e) => e.includes(METRIC));
  expect(exprs).toHaveLength(1);
  return exprs[0]!;
}

describe.skipIf(!havePromtool)(`accelerators.json XID panel${promtoolSkipNote}`, () => {
  it('counts the first XIDs of a new {xid} series, then only increases', () => {
    // 4m: Grafana's $__rate_interval for a 1m scrape interval (4 × scrape interval).
    const expr = substituteGrafana(xidPanelExpr(), { __rate_interval: '4m' });
    const gpu5 = '{node="gpu-2",index="5",xid="48"}';
    const gpu3 = '{node="gpu-2",index="3",xid="13"}';
    const doc = {
      rule_files: [],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // 6 XID 48 on GPU 5 between the scrapes at 4m and 5m: the series starts at 6.
            { series: `${METRIC}{node="gpu-2",index="5",uuid="GPU-5",vendor="nvidia",xid="48"}`, values: '_ _ _ _ _ 6 6 6 6 6 6 6 6' },
            // One XID 13 on GPU 3 long before: no new XID in any interval below.
            { series: `${METRIC}{node="gpu-2",index="3",uuid="GPU-3",vendor="nvidia",xid="13"}`, values: '1x12' },
          ],
          promql_expr_test: [
            { expr, eval_time: '4m', exp_samples: [{ labels: gpu3, value: 0 }] },
            { expr, eval_time: '5m', exp_samples: [{ labels: gpu5, value: 6 }, { labels: gpu3, value: 0 }] },
            { expr, eval_time: '8m', exp_samples: [{ labels: gpu5, value: 6 }, { labels: gpu3, value: 0 }] },
            // The interval no longer holds the series' start: its increase, 0, not its value again.
            { expr, eval_time: '12m', exp_samples: [{ labels: gpu5, value: 0 }, { labels: gpu3, value: 0 }] },
          ],
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-xid-panel-'));
    try {
      const file = join(dir, 'xid-panel.promtest.yaml');
      writeFileSync(file, stringify(doc));
      const r = spawnSync(PROMTOOL, ['test', 'rules', file], { encoding: 'utf8' });
      expect([r.status, r.stdout + r.stderr]).toEqual([0, expect.stringContaining('SUCCESS')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
