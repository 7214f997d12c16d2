// Pure helpers that turn the PromQL shipped in chart/dashboards/*.json and chart/rules/*.yaml into
// queries a test Prometheus can answer: Grafana's variables substituted, alert thresholds removed
// (a healthy node crosses none, so the full alert expression returns nothing), and every expression
// listed with where it came from.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './repo.js';

export const dashboardsDir = join(repoRoot, 'chart/dashboards');
export const rulesFile = join(repoRoot, 'chart/rules/brixlet-alerts.yaml');

/** What Grafana would put in for its built-ins and an "All" selection (allValue .*). */
export const GRAFANA_DEFAULTS: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '15s',
  __range: '5m',
  __range_s: '300',
  datasource: 'prometheus',
};

/**
 * Replaces Grafana variables ($name, ${name}, ${name:format}, [[name]]) with `vars` (then
 * GRAFANA_DEFAULTS, then ".*" — an "All" selection) so the text is plain PromQL.
 */
export function substituteGrafana(expr: string, vars: Readonly<Record<string, string>> = {}): string {
  const value = (name: string): string => vars[name] ?? GRAFANA_DEFAULTS[name] ?? '.*';
  return expr
    .replace(/\$\{(\w+)(?::\w+)?\}/g, (_, n: string) => value(n))
    .replace(/\[\[(\w+)\]\]/g, (_, n: string) => value(n))
    .replace(/\$(\w+)/g, (_, n: string) => value(n));
}

/** Stands for masked text: neither space nor word character, so no pattern below matches across it. */
const BLANK = '\0';

/** `expr` with the text of string literals, label matchers {…} and range/subquery brackets […] blanked. */
function mask(expr: string): string {
  const out = expr.split('');
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < out.length; i++) {
    const c = expr[i]!;
    if (quote !== undefined) {
      if (c === '\\') {
        out[i] = BLANK;
        if (i + 1 < out.length) out[++i] = BLANK;
        continue;
      }
      if (c === quote) quote = undefined;
      out[i] = BLANK;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      out[i] = BLANK;
    } else if (c === '{' || c === '[') {
      depth++;
      out[i] = BLANK;
    } else if (c === '}' || c === ']') {
      depth--;
      out[i] = BLANK;
    } else if (depth > 0) out[i] = BLANK;
  }
  return out.join('');
}

const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+|Inf|NaN)`;
const OPERATOR = String.raw`==|!=|>=|<=|>|<`;
/** A comparison operator (optionally with `bool`) and the number after it. */
const THRESHOLD = new RegExp(String.raw`\s*(?:${OPERATOR})\s*(?:bool\s+)?${NUMBER}(?![\w.])`, 'g');

/**
 * The alert expression without its thresholds: every `<op> <number>` (op one of == != >= <= > <,
 * `bool` allowed) outside label matchers, strings and brackets is removed, so
 * `max by (node) (x) > 3 and on (node) y == 0` becomes `max by (node) (x) and on (node) y`. The
 * result is what the alert compares, evaluated on any data, healthy or not.
 */
export function withoutThresholds(expr: string): string {
  const masked = mask(expr);
  const cuts: [number, number][] = [];
  for (const m of masked.matchAll(THRESHOLD)) cuts.push([m.index, m.index + m[0].length]);
  let out = expr;
  for (const [from, to] of cuts.reverse()) out = out.slice(0, from) + out.slice(to);
  return out.trim();
}

export interface ShippedExpr {
  /** Where it is: dashboard file › panel title (#id) › refId, or rules › alert name. */
  readonly where: string;
  readonly expr: string;
}

interface Panel {
  id?: number;
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}

export interface Dashboard {
  uid?: string;
  title?: string;
  tags?: string[];
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; query?: unknown; definition?: string }[] };
}

/** Every panel of a dashboard, rows' collapsed panels included. */
export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (ps: readonly Panel[] | undefined): void => {
    for (const p of ps ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

export function readDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard }));
}

/** Every panel target expression of the shipped dashboards, rows' collapsed panels included (variables: variableExprs). */
export function dashboardExprs(): ShippedExpr[] {
  const out: ShippedExpr[] = [];
  for (const { file, dashboard } of readDashboards()) {
    for (const p of allPanels(dashboard)) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ where: `${file} › ${p.title ?? '?'} (#${p.id ?? '?'}) › ${t.refId ?? '?'}`, expr: t.expr });
    }
  }
  return out;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function readAlertRules(): AlertRule[] {
  const doc = parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
}

/** Every alert expression of chart/rules/brixlet-alerts.yaml, thresholds removed (see withoutThresholds). */
export function alertExprs(): ShippedExpr[] {
  return readAlertRules().map((r) => ({ where: `rules › ${r.alert}`, expr: withoutThresholds(r.expr) }));
}

/** Variable query expressions (label_values(metric, label) → metric) of the shipped dashboards. */
export function variableExprs(): ShippedExpr[] {
  const out: ShippedExpr[] = [];
  for (const { file, dashboard } of readDashboards()) {
    for (const v of dashboard.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? '');
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q.trim());
      if (m !== null) out.push({ where: `${file} › variable ${v.name}`, expr: m[1]! });
    }
  }
  return out;
}
