// chart/rules/brixlet-alerts.yaml and the chart's monitoring templates: promtool accepts the rules and
// their unit tests (each alert fires on the failure it names, a healthy cluster raises none), every
// alert carries a severity and annotations naming the fix, the threshold-removal and Grafana-variable
// transforms the live Prometheus test relies on, and the PrometheusRule and dashboard ConfigMaps the
// chart renders (spec.groups = the rule file, one ConfigMap per dashboard with the sidecar label).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dashboardExprs, dashboardsDir, readAlertRules, readDashboards, rulesFile, substituteGrafana, withoutThresholds } from '../helpers/prometheus-expr.js';
import { havePromtool, PROMTOOL, promtoolSkipNote } from '../helpers/promtool.js';
import { repoRoot } from '../helpers/repo.js';
import { helmTemplate, pinnedHelm } from '../helpers/helm.js';

const promtest = join(repoRoot, 'test/chart/brixlet-alerts.promtest.yaml');
const alerts = readAlertRules();

describe.skipIf(!havePromtool)(`promtool${promtoolSkipNote}`, () => {
  it('check rules accepts the rule file', () => {
    const r = spawnSync(PROMTOOL, ['check', 'rules', rulesFile], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('test rules passes the unit tests', () => {
    const r = spawnSync(PROMTOOL, ['test', 'rules', promtest], { encoding: 'utf8', cwd: join(repoRoot, 'test/chart') });
    expect([r.status, r.stdout + r.stderr]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });
});

it('the unit tests make every alert fire once and check a healthy cluster raises none', () => {
  const doc = parse(readFileSync(promtest, 'utf8')) as { tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const fired = new Set(doc.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
  expect([...fired].sort()).toEqual(alerts.map((a) => a.alert).sort());
  const healthy = doc.tests.find((t) => t.name === 'a healthy cluster raises no alert');
  expect(healthy?.alert_rule_test.map((a) => [a.alertname, a.exp_alerts.length]).sort()).toEqual(alerts.map((a) => [a.alert, 0]).sort());
});

it('ships the alerts the issue asks for, each with a severity and a summary, description and runbook', () => {
  const names = alerts.map((a) => a.alert);
  for (const n of ['BrixletGpuUnhealthy', 'BrixletXidStorm', 'BrixletKvPoolDroppingWrites', 'BrixletNoHealthyEngine', 'BrixletOptimizerInfeasible']) expect(names).toContain(n);
  expect(new Set(names).size).toBe(names.length);
  for (const a of alerts) {
    expect(a.alert).toMatch(/^Brixlet[A-Z]\w+$/);
    expect(['critical', 'warning'], a.alert).toContain(a.labels?.severity);
    for (const k of ['summary', 'description', 'runbook']) expect(a.annotations?.[k]?.length ?? 0, `${a.alert} ${k}`).toBeGreaterThan(20);
  }
});

describe('withoutThresholds', () => {
  it.each([
    ['max by (node) (x) == 1', 'max by (node) (x)'],
    ['sum by (node) (rate(y{reason!="disconnect"}[5m])) > 0.1', 'sum by (node) (rate(y{reason!="disconnect"}[5m]))'],
    ['a / b > 0.05', 'a / b'],
    ['a >= bool 3', 'a'],
    ['x > 1e3 and on (node) y < -2', 'x and on (node) y'],
    ['(x > 5) or z != 0', '(x) or z'],
    ['x{a=~"1|>2", b="< 3"} <= 4', 'x{a=~"1|>2", b="< 3"}'],
    ['increase(x[10m]) > 5', 'increase(x[10m])'],
    ['histogram_quantile(0.99, sum by (le) (rate(h[5m])))', 'histogram_quantile(0.99, sum by (le) (rate(h[5m])))'],
    ['a > b', 'a > b'],
    ['x > Inf', 'x'],
  ])('%s → %s', (expr, out) => {
    expect(withoutThresholds(expr)).toBe(out);
  });

  it('leaves every shipped alert with no comparison against a number', () => {
    for (const a of alerts) expect(withoutThresholds(a.expr), a.alert).not.toMatch(/(==|!=|>=|<=|>|<)\s*(bool\s+)?[-\d.]+\s*$/);
  });
});

describe('substituteGrafana', () => {
  it('puts in the built-ins, given values and ".*" for an All selection', () => {
    expect(substituteGrafana('rate(x{node=~"$node"}[$__rate_interval])')).toBe('rate(x{node=~".*"}[1m])');
    expect(substituteGrafana('x{model=~"${model}", a=~"[[a]]", b=~"${b:regex}"}', { model: 'llama' })).toBe('x{model=~"llama", a=~".*", b=~".*"}');
    expect(substituteGrafana('increase(x[$__range])')).toBe('increase(x[5m])');
  });

  it('leaves no $ in any shipped dashboard query', () => {
    for (const e of dashboardExprs()) expect(substituteGrafana(e.expr), e.where).not.toContain('$');
  });
});

// The chart's templates/monitoring/{dashboards,prometheusrule}.yaml with the pinned helm.
const { helm, helmMissing } = await pinnedHelm();
// helm writes its cache and config under HOME: a scratch one keeps the test off the user's.
const helmHome = mkdtempSync(join(tmpdir(), 'brixlet-helm-home-'));
afterAll(() => rmSync(helmHome, { recursive: true, force: true }));

interface Rendered {
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: { groups: unknown };
}

async function render(set: readonly string[]): Promise<Rendered[]> {
  const args = ['mon', join(repoRoot, 'chart'), '--namespace', 'obs', '--api-versions', 'monitoring.coreos.com/v1', '--set', 'monitoring.serviceMonitor.enabled=true', ...set.flatMap((s) => ['--set', s])];
  return (await helmTemplate<Rendered>(helm!, args, { ...process.env, HOME: helmHome })).filter((o) => o.kind === 'PrometheusRule' || (o.kind === 'ConfigMap' && o.metadata.name.includes('-dashboard-')));
}

describe.skipIf(helm === undefined)(`chart monitoring templates${helm === undefined ? ` (SKIPPED: ${helmMissing})` : ''}`, () => {
  it('render nothing while their toggles are off', async () => {
    expect(await render([])).toEqual([]);
  });

  it('render one dashboard ConfigMap per chart/dashboards/*.json with the sidecar label', async () => {
    const objs = await render(['monitoring.dashboards.enabled=true', 'monitoring.dashboards.annotations.grafana_folder=brixlet']);
    const files = readDashboards().map((d) => d.file);
    expect(objs.map((o) => Object.keys(o.data ?? {})[0]).sort()).toEqual(files);
    for (const o of objs) {
      const file = Object.keys(o.data!)[0]!;
      expect(o.metadata).toMatchObject({ name: `mon-brixlet-dashboard-${file.replace(/\.json$/, '')}`, namespace: 'obs', annotations: { grafana_folder: 'brixlet' } });
      expect(o.metadata.labels).toMatchObject({ grafana_dashboard: '1', 'app.kubernetes.io/component': 'monitoring', 'app.kubernetes.io/instance': 'mon' });
      expect(JSON.parse(o.data![file]!)).toEqual(JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')));
    }
    const custom = await render(['monitoring.dashboards.enabled=true', 'monitoring.dashboards.label=dash', 'monitoring.dashboards.labelValue=yes', 'monitoring.dashboards.namespace=grafana']);
    expect(custom.map((o) => [o.metadata.namespace, o.metadata.labels.dash])).toEqual(files.map(() => ['grafana', 'yes']));
  });

  it('render the PrometheusRule whose groups are the rule file', async () => {
    const [rule, ...rest] = await render(['monitoring.prometheusRule.enabled=true', 'monitoring.prometheusRule.additionalLabels.release=kube-prometheus-stack', 'monitoring.prometheusRule.namespace=monitoring']);
    expect(rest).toEqual([]);
    expect(rule?.metadata).toMatchObject({ name: 'mon-brixlet-alerts', namespace: 'monitoring', labels: { release: 'kube-prometheus-stack', 'app.kubernetes.io/component': 'monitoring' } });
    expect(rule?.spec?.groups).toEqual((parse(readFileSync(rulesFile, 'utf8')) as { groups: unknown }).groups);
  });
});
